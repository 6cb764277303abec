package mount

import (
	"context"
	"time"

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
	// IdentityBackend returns the identity/ mount's backend: the identity
	// store of the current activation (set up before Load runs).
	IdentityBackend() logical.Backend
	// HasAccessUnder reports whether the policies (with those of the
	// identity entity, "" for none) grant any capability
	// at or below path (a mount path such as "secret/"). Only called on
	// an unsealed, active core, from a request handler.
	HasAccessUnder(ctx context.Context, policies []string, entityID, path string) (bool, error)
	// ResponseWrapData is what an engine's SystemView.ResponseWrapData
	// calls: wrap data in a new wrapping token as sys/wrapping/wrap does.
	// Called from engine handlers, during a request (state lock held).
	ResponseWrapData(ctx context.Context, data map[string]any, ttl time.Duration, jwt bool) (*logical.ResponseWrapInfo, error)
	// EntityInfo and GroupsForEntity are an engine's SystemView identity
	// lookups. Called from engine handlers, during a request.
	EntityInfo(ctx context.Context, entityID string) (*logical.Entity, error)
	GroupsForEntity(ctx context.Context, entityID string) ([]*logical.Group, error)
	// RevokeLeases revokes every lease issued under mount ("db/",
	// "auth/userpass/") through its engine, before the mount is disabled
	// or moved: an error keeps the mount where it is (the leases could
	// never be revoked after).
	RevokeLeases(ctx context.Context, mount string) error
}
