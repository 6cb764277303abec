package core

import (
	"context"
	"slices"
	"strconv"

	"github.com/strongbox/strongbox/internal/core/identity"
	"github.com/strongbox/strongbox/internal/core/mount"
	"github.com/strongbox/strongbox/internal/core/policy"
	"github.com/strongbox/strongbox/internal/logical"
)

// identityStoragePrefix is where the identity room keeps entities and
// groups, inside the barrier (replicated like the rest of sys/).
const identityStoragePrefix = systemPrefix + "identity/"

// identityHost is the core as the identity room's Host. Its methods run
// inside requests, under stateLock held for reading.
type identityHost struct{ c *Core }

var _ identity.Host = identityHost{}

// AuthMount implements identity.Host from the current router.
func (h identityHost) AuthMount(accessor string) (identity.MountInfo, bool) {
	rtr := h.c.mounts.Router()
	if rtr == nil || accessor == "" {
		return identity.MountInfo{}, false
	}
	for _, rt := range rtr.All() {
		if rt.IsAuth && rt.Entry.Accessor == accessor {
			return identity.MountInfo{Path: rt.Entry.Path, Type: rt.Entry.Type, Local: rt.Entry.Local}, true
		}
	}
	return identity.MountInfo{}, false
}

// newIdentityStore opens the identity room of an activation.
func (c *Core) newIdentityStore(ctx context.Context) (*identity.Store, error) {
	return identity.New(ctx, identityHost{c}, mount.NewView(c.barrier, identityStoragePrefix), identity.Options{
		Logger: c.logger.With("component", "identity"), Now: c.conf.Now,
	})
}

// IdentityBackend implements mount.Host: the identity/ mount.
func (h mountHost) IdentityBackend() logical.Backend { return h.c.identity.Backend() }

// loginIdentity ties a login to its entity when the auth method named an
// alias: the entity is found or created, its external groups follow the
// method's group aliases. It returns the entity's ID and identity
// policies; a disabled entity is refused (403).
func (c *Core) loginIdentity(ctx context.Context, rt *mount.Route, a *logical.Auth) (string, []string, error) {
	if a.Alias == nil || c.identity == nil {
		return "", nil, nil
	}
	e, err := c.identity.LoginEntity(ctx, rt.Entry.Accessor, a.Alias, a.GroupAliases)
	if err != nil {
		return "", nil, err
	}
	r := c.identity.Resolve(e.ID)
	if r == nil {
		return e.ID, nil, nil
	}
	return e.ID, slices.Clone(r.Policies), nil
}

// resolveIdentity is the entity a token is tied to, with its groups and
// identity policies; nil for a token without one (or whose entity was
// deleted).
func (c *Core) resolveIdentity(entityID string) *identity.Resolved {
	if entityID == "" || c.identity == nil {
		return nil
	}
	return c.identity.Resolve(entityID)
}

// entityForAlias is the token store's EntityForAlias hook: the entity of
// an entity_alias on the token mount, found or created as at a login.
func (c *Core) entityForAlias(ctx context.Context, mountAccessor, alias string) (string, error) {
	if c.identity == nil {
		return "", logical.BadRequest("'entity_alias' is not supported: no identity store")
	}
	e, err := c.identity.LoginEntity(ctx, mountAccessor, &logical.Alias{Name: alias}, nil)
	if err != nil {
		return "", err
	}
	return e.ID, nil
}

// identityPolicies is the token store's IdentityPolicies hook.
func (c *Core) identityPolicies(entityID string) []string {
	if r := c.resolveIdentity(entityID); r != nil {
		return slices.Clone(r.Policies)
	}
	return nil
}

// aclFor is the ACL of a token with its entity: the token's policies and
// the identity policies, with templated paths rendered for the entity.
// An ACL without templates is shared by every caller with the same
// policies; a templated one is cached per entity and identity generation,
// so an entity or group change shows on the next request.
func (c *Core) aclFor(ctx context.Context, names []string, r *identity.Resolved) (*policy.ACL, error) {
	if r != nil {
		names = policy.Union(names, r.Policies)
	}
	a, err := c.acl(ctx, names)
	if err != nil || r == nil || !a.Templated() {
		return a, err
	}
	key := aclKey(names) + "\x01" + r.Entity.ID + "\x01" + strconv.FormatUint(c.identity.Generation(), 10)
	return c.cachedACL(key, func() (*policy.ACL, error) {
		return c.policies.TemplatedACL(ctx, r.TemplateData(), names...)
	})
}

// EntityInfo implements mount.Host: an engine's SystemView.EntityInfo.
func (h mountHost) EntityInfo(_ context.Context, entityID string) (*logical.Entity, error) {
	if h.c.identity == nil {
		return nil, nil
	}
	return h.c.identity.EntityInfo(entityID), nil
}

// GroupsForEntity implements mount.Host: an engine's
// SystemView.GroupsForEntity (direct and inherited groups).
func (h mountHost) GroupsForEntity(_ context.Context, entityID string) ([]*logical.Group, error) {
	if h.c.identity == nil {
		return nil, nil
	}
	return h.c.identity.GroupsForEntity(entityID), nil
}
