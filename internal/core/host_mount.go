package core

import (
	"context"

	"github.com/strongbox/strongbox/internal/core/mount"
	"github.com/strongbox/strongbox/internal/logical"
)

// mountHost is the core as the mount room's Host.
type mountHost struct{ c *Core }

var _ mount.Host = mountHost{}

// SystemBackend builds the sys/ mount from every room's paths.
func (h mountHost) SystemBackend() logical.Backend { return h.c.systemBackend() }

// TokenBackend is the token store of the activation being set up.
func (h mountHost) TokenBackend() logical.Backend { return h.c.tokens.Backend() }

// HasAccessUnder compiles (or finds cached) the ACL of the policies and
// the entity's and asks it.
func (h mountHost) HasAccessUnder(ctx context.Context, policies []string, entityID, path string) (bool, error) {
	acl, err := h.c.aclFor(ctx, policies, h.c.resolveIdentity(entityID))
	if err != nil {
		return false, err
	}
	return acl.HasAccessUnder(path), nil
}

// RevokeLeases revokes the leases under a mount before it is disabled.
func (h mountHost) RevokeLeases(ctx context.Context, mount string) error {
	_, err := h.c.expiration.RevokePrefix(ctx, mount, false)
	return err
}
