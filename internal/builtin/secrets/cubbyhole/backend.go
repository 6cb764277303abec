// Package cubbyhole is the per-token private secrets engine mounted at
// cubbyhole/. The core hands each request a storage view private to the
// caller's token and deletes it when the token is revoked, so the engine is a
// plain key/value store over whatever view it receives. It issues no leases
// and has no periodic work (the core's periodic runner skips it: its storage
// is per token).
package cubbyhole

import (
	"context"

	"github.com/strongbox/strongbox/internal/logical"
)

// Factory builds the engine.
func Factory(_ context.Context, _ *logical.BackendConfig) (logical.Backend, error) {
	return &logical.FrameworkBackend{Paths: []*logical.Path{pathSecret()}}, nil
}
