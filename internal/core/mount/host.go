package mount

import (
	"context"

	"github.com/strongbox/strongbox/internal/logical"
)

// Host is what the mount room needs from the core. The core calls the
// room's Load, Teardown and request handlers with its state lock held, and
// Host's methods must not take that lock.
type Host interface {
	// SystemBackend builds the sys/ mount's backend. Called once per
	// activation, from Load, when the system mount is instantiated.
	SystemBackend() logical.Backend
	// TokenBackend returns the auth/token/ mount's backend: the token
	// store of the current activation (set up before Load runs).
	TokenBackend() logical.Backend
	// HasAccessUnder reports whether the policies grant any capability
	// at or below path (a mount path such as "secret/"). Only called on
	// an unsealed, active core, from a request handler.
	HasAccessUnder(ctx context.Context, policies []string, path string) (bool, error)
	// RevokeLeases revokes every lease issued under mount ("db/",
	// "auth/userpass/") through its engine, before the mount is disabled
	// or moved: an error keeps the mount where it is (the leases could
	// never be revoked after).
	RevokeLeases(ctx context.Context, mount string) error
}
