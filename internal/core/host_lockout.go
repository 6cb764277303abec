package core

import (
	"context"

	"github.com/strongbox/strongbox/internal/core/lockout"
	"github.com/strongbox/strongbox/internal/core/mount"
	"github.com/strongbox/strongbox/internal/logical"
)

// lockoutView is where locked-out aliases are kept.
const lockoutView = systemPrefix + "user-lockout/"

// lockoutHost is the core as the lockout room's Host.
type lockoutHost struct{ c *Core }

var _ lockout.Host = lockoutHost{}

// Storage implements lockout.Host.
func (h lockoutHost) Storage() logical.Storage {
	return mount.NewView(h.c.barrier, lockoutView)
}

// AuthMount implements lockout.Host.
func (h lockoutHost) AuthMount(accessor string) (string, *lockout.Partial, bool) {
	e := h.c.mounts.AuthByAccessor(accessor)
	if e == nil {
		return "", nil, false
	}
	return e.Type, tunedLockout(e), true
}

// tunedLockout is the mount's tuned user_lockout_config as the room reads
// it.
func tunedLockout(e *mount.Entry) *lockout.Partial {
	t := e.Config.UserLockout
	if t == nil {
		return nil
	}
	p := &lockout.Partial{Threshold: t.Threshold, Duration: t.Duration, CounterReset: t.CounterReset}
	if t.Disable {
		disable := true
		p.Disable = &disable
	}
	return p
}

// beginLogin applies user lockout to a login request (core/lockout's
// Begin); nil when it does not apply.
func (c *Core) beginLogin(ctx context.Context, rt *mount.Route, r *logical.Request) (*lockout.Attempt, error) {
	if !rt.IsAuth {
		return nil, nil
	}
	return c.lockout.Begin(ctx, rt.Entry.Accessor, rt.Entry.Type, tunedLockout(rt.Entry), rt.Backend, r)
}
