package core

import (
	"context"

	"github.com/strongbox/strongbox/internal/core/keyops"
	"github.com/strongbox/strongbox/internal/core/token"
)

// KeyOps is the node's key operations: rekey, recovery-key rekey and
// generate-root, which sys/rekey* and sys/generate-root call.
func (c *Core) KeyOps() *keyops.Ops { return c.keyops }

// keyopsHost is what package keyops sees of the core.
type keyopsHost struct{ c *Core }

// RLockState implements keyops.Host.
func (h keyopsHost) RLockState() { h.c.stateLock.RLock() }

// RUnlockState implements keyops.Host.
func (h keyopsHost) RUnlockState() { h.c.stateLock.RUnlock() }

// Active implements keyops.Host: the active term's token store, or
// ErrSealed, or ErrStandby (a standby, or setup not done). The caller
// holds stateLock.
func (h keyopsHost) Active() (*token.Store, error) {
	switch {
	case h.c.sealed:
		return nil, ErrSealed
	case h.c.standby || h.c.tokens == nil:
		return nil, ErrStandby
	}
	return h.c.tokens, nil
}

// Unseal implements keyops.Host with core's unseal (unsealVerified).
func (h keyopsHost) Unseal(ctx context.Context, rootKey []byte, check func(context.Context) error) error {
	return h.c.unsealVerified(ctx, rootKey, check)
}
