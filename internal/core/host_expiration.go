package core

import (
	"context"
	"fmt"
	"time"

	"github.com/strongbox/strongbox/internal/core/expiration"
	"github.com/strongbox/strongbox/internal/core/mount"
	"github.com/strongbox/strongbox/internal/core/token"
	"github.com/strongbox/strongbox/internal/logical"
)

// expirationView is where the expiration manager keeps its leases.
const expirationView = systemPrefix + "expire/"

// expirationHost is the core as the expiration manager's Host. The manager
// runs between postUnseal and teardown, which stops it before the router
// and the token store of the activation go away, so the calls below take
// no state lock (teardown holds it while it waits for the manager).
type expirationHost struct{ c *Core }

var _ expiration.Host = expirationHost{}

// RouteLease implements expiration.Host.
func (h expirationHost) RouteLease(ctx context.Context, op logical.Operation, path string, secret *logical.Secret) (*logical.Response, logical.MountConfig, error) {
	r := h.c.mounts.Router()
	if r == nil {
		return nil, logical.MountConfig{}, expiration.ErrNotRunning
	}
	rt, rel := r.Match(path)
	if rt == nil {
		return nil, logical.MountConfig{}, expiration.ErrNoMount
	}
	cfg := rt.Entry.LogicalConfig(h.c.conf.DefaultLeaseTTL, h.c.conf.MaxLeaseTTL)
	req := &logical.Request{
		Operation:     op,
		Path:          rel,
		MountPoint:    rt.Mount,
		MountType:     rt.Entry.Type,
		MountAccessor: rt.Entry.Accessor,
		MountConfig:   cfg,
		Secret:        secret,
	}
	if rt.Storage != nil {
		req.Storage = rt.Storage
	}
	resp, err := rt.Backend.HandleRequest(ctx, req)
	return resp, cfg, err
}

// RevokeToken implements expiration.Host.
func (h expirationHost) RevokeToken(ctx context.Context, id string) error {
	if h.c.tokens == nil {
		return expiration.ErrNotRunning
	}
	return h.c.tokens.RevokeTreeByID(ctx, id)
}

// TokenExists implements expiration.Host.
func (h expirationHost) TokenExists(ctx context.Context, id string) (bool, error) {
	if h.c.tokens == nil {
		return false, expiration.ErrNotRunning
	}
	return h.c.tokens.Exists(ctx, id)
}

// startExpiration restores the leases due soon and starts revoking them;
// postUnseal calls it once the mounts are loaded.
func (c *Core) startExpiration(ctx context.Context) error {
	return c.expiration.Start(ctx, mount.NewView(c.barrier, expirationView))
}

// tokenRevoked is the token store's revoke hook: the token's cubbyhole
// goes, and its leases (its own, and the secrets it created).
func (c *Core) tokenRevoked(ctx context.Context, e *token.Entry) error {
	if err := c.destroyCubbyhole(ctx, e); err != nil {
		return err
	}
	return c.expiration.TokenRevoked(ctx, e.ID, e.Path)
}

// tokenExpiry is the token store's expiry hook: the token's lease follows
// its ExpireTime.
func (c *Core) tokenExpiry(ctx context.Context, e *token.Entry) error {
	return c.expiration.RegisterToken(ctx, e.Path, e.ID, e.Renewable, e.CreationTime, e.ExpireTime)
}

// persistToken stores a new token (ops, relative to the token store's
// view) and its lease in one barrier transaction: one durable write per
// login or token create instead of two.
func (c *Core) persistToken(ctx context.Context, view *mount.View, e *token.Entry, ops []*logical.TxnOp) error {
	out, err := view.PhysicalOps(ops)
	if err != nil {
		return err
	}
	leaseOps, done, err := c.expiration.NewTokenLease(e.Path, e.ID, e.Renewable, e.CreationTime, e.ExpireTime)
	if err != nil {
		return fmt.Errorf("token lease: %w", err)
	}
	if len(leaseOps) > 0 {
		lops, err := mount.NewView(c.barrier, expirationView).PhysicalOps(leaseOps)
		if err != nil {
			return err
		}
		out = append(out, lops...)
	}
	if err := c.barrier.Transaction(ctx, out); err != nil {
		return err
	}
	if done != nil {
		done()
	}
	return nil
}

// registerLease makes a lease of a secret an engine returned, before the
// response is audited and reaches the client. KV and the cubbyhole show a
// lease_duration but never make leases, as in Vault.
func (c *Core) registerLease(ctx context.Context, rt *mount.Route, req *logical.Request, te *token.Entry, resp *logical.Response) error {
	s := resp.Secret
	if s == nil || s.LeaseID != "" || rt.IsCubby {
		return nil
	}
	switch rt.Entry.Type {
	case "kv", "generic", "system":
		return nil
	}
	creator := ""
	if te != nil {
		creator = te.ID
		if te.Type == token.TypeBatch {
			// A batch token is not stored: its leases hang under its
			// parent (none for an orphan), and never outlive the token,
			// as in Vault.
			creator = te.Parent
			if left := te.RemainingTTL(time.Now()); left > 0 && (s.MaxTTL <= 0 || left < s.MaxTTL) {
				s.MaxTTL = left
			}
		}
	}
	err := c.expiration.Register(ctx, req.Path, rt.Entry.Accessor, creator, s, req.MountConfig)
	if err != nil {
		// The client never sees a secret nobody would revoke: undo it in
		// the engine (best effort) and fail the request.
		if _, _, rerr := (expirationHost{c}).RouteLease(ctx, logical.RevokeOperation, req.Path, s); rerr != nil {
			c.logger.Error("revoking a secret whose lease could not be stored failed", "path", req.Path, "error", rerr)
		}
		resp.Secret, resp.Data = nil, nil
		return fmt.Errorf("register lease: %w", err)
	}
	return nil
}
