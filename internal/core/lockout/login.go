package lockout

import (
	"context"
	"errors"

	"github.com/strongbox/strongbox/internal/logical"
)

// Attempt is a login under user lockout: the alias it names and the
// mount's settings. A nil Attempt is a login lockout does not apply to.
type Attempt struct {
	m               *Manager
	accessor, alias string
	settings        Settings
}

// Begin asks the auth method which alias a login request names (its
// alias-lookahead) and refuses the login (ErrLocked) when that alias is
// locked out. It returns nil, nil when lockout does not apply: a method
// without lockout, lockout turned off, or a request that names no alias
// (not a login path, or one its login will refuse anyway).
func (m *Manager) Begin(ctx context.Context, accessor, typ string, tuned *Partial, b logical.Backend, req *logical.Request) (*Attempt, error) {
	if !Applies(typ) {
		return nil, nil
	}
	s := m.SettingsFor(typ, tuned)
	if s.Disabled {
		return nil, nil
	}
	look := *req
	look.Operation = logical.AliasLookaheadOperation
	resp, err := b.HandleRequest(ctx, &look)
	if err != nil || resp == nil || resp.Auth == nil || resp.Auth.Alias == nil || resp.Auth.Alias.Name == "" {
		return nil, nil
	}
	a := &Attempt{m: m, accessor: accessor, alias: resp.Auth.Alias.Name, settings: s}
	if err := m.Check(ctx, a.accessor, a.alias, s); err != nil {
		return nil, err
	}
	return a, nil
}

// End counts the login's outcome: a failure (invalid credentials) toward
// the lockout, a success resetting the count.
func (a *Attempt) End(ctx context.Context, resp *logical.Response, err error) {
	if a == nil {
		return
	}
	switch {
	case errors.Is(err, logical.ErrInvalidCredentials):
		if ferr := a.m.Failed(ctx, a.accessor, a.alias, a.settings); ferr != nil {
			a.m.conf.Logger.Error("recording a failed login for user lockout", "mount_accessor", a.accessor, "error", ferr)
		}
	case err == nil && resp != nil && resp.Auth != nil:
		a.m.Succeeded(a.accessor, a.alias)
	}
}
