package core

import (
	"context"
	"errors"

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

// loginAttempt is a login under user lockout: the alias it names and the
// mount's settings.
type loginAttempt struct {
	accessor, alias string
	settings        lockout.Settings
}

// beginLogin asks the auth method which alias a login request names (its
// alias-lookahead) and refuses the login when that alias is locked out.
// It returns nil, nil when lockout does not apply: not a login of a
// method with lockout, lockout turned off, or no alias named.
func (c *Core) beginLogin(ctx context.Context, rt *mount.Route, r *logical.Request) (*loginAttempt, error) {
	if !rt.IsAuth || !lockout.Applies(rt.Entry.Type) {
		return nil, nil
	}
	s := c.lockout.SettingsFor(rt.Entry.Type, tunedLockout(rt.Entry))
	if s.Disabled {
		return nil, nil
	}
	look := *r
	look.Operation = logical.AliasLookaheadOperation
	resp, err := rt.Backend.HandleRequest(ctx, &look)
	if err != nil {
		// No lookahead on this path (not a login), or a request the login
		// itself will refuse with its own message.
		return nil, nil
	}
	if resp == nil || resp.Auth == nil || resp.Auth.Alias == nil || resp.Auth.Alias.Name == "" {
		return nil, nil
	}
	a := &loginAttempt{accessor: rt.Entry.Accessor, alias: resp.Auth.Alias.Name, settings: s}
	if err := c.lockout.Check(ctx, a.accessor, a.alias, s); err != nil {
		return nil, err
	}
	return a, nil
}

// endLogin counts the login's outcome: a failure (invalid credentials)
// toward the lockout, a success resetting the count.
func (c *Core) endLogin(ctx context.Context, a *loginAttempt, resp *logical.Response, err error) {
	if a == nil {
		return
	}
	switch {
	case errors.Is(err, logical.ErrInvalidCredentials):
		if ferr := c.lockout.Failed(ctx, a.accessor, a.alias, a.settings); ferr != nil {
			c.logger.Error("recording a failed login for user lockout", "mount_accessor", a.accessor, "error", ferr)
		}
	case err == nil && resp != nil && resp.Auth != nil:
		c.lockout.Succeeded(a.accessor, a.alias)
	}
}
