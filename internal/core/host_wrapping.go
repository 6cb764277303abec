package core

import (
	"context"
	"time"

	"github.com/strongbox/strongbox/internal/audit"
	"github.com/strongbox/strongbox/internal/core/mount"
	"github.com/strongbox/strongbox/internal/core/token"
	"github.com/strongbox/strongbox/internal/core/wrapping"
	"github.com/strongbox/strongbox/internal/logical"
)

// wrappingHost is the core as the wrapping room's Host: the token store of
// the activation and the cubbyhole mount. Its methods run inside requests,
// under stateLock held for reading.
type wrappingHost struct{ c *Core }

var _ wrapping.Host = wrappingHost{}

// CreateToken implements wrapping.Host with the token store's CreateWrapping.
func (h wrappingHost) CreateToken(ctx context.Context, ttl time.Duration, path string) (string, *wrapping.Token, error) {
	raw, e, err := h.c.tokens.CreateWrapping(ctx, ttl, path)
	if err != nil {
		return "", nil, err
	}
	return raw, wrappingToken(e), nil
}

// LookupToken implements wrapping.Host.
func (h wrappingHost) LookupToken(ctx context.Context, raw string) (*wrapping.Token, error) {
	e, err := h.c.tokens.Lookup(ctx, raw)
	if err != nil || e == nil {
		return nil, err
	}
	return wrappingToken(e), nil
}

// SpendToken implements wrapping.Host: the token's use is taken under the
// store's lock, so of two requests unwrapping the same token one wins.
func (h wrappingHost) SpendToken(ctx context.Context, raw string) (func(context.Context), bool, error) {
	ts := h.c.tokens
	e, err := ts.Lookup(ctx, raw)
	if err != nil || e == nil {
		return nil, false, err
	}
	used, err := ts.UseToken(ctx, e)
	if err != nil || used == nil {
		return nil, false, err
	}
	return func(ctx context.Context) {
		if err := ts.RevokeTree(ctx, used); err != nil {
			// Already unusable (its use is spent); tidy finishes it.
			h.c.logger.Warn("revoking a spent wrapping token failed", "error", err)
		}
	}, true, nil
}

// Cubbyhole implements wrapping.Host.
func (h wrappingHost) Cubbyhole(tokenID string) logical.Storage {
	return h.c.mounts.CubbyholeStorage(tokenID)
}

// KeyStorage implements wrapping.Host: core/wrapping/ in the barrier.
func (h wrappingHost) KeyStorage() logical.Storage {
	return mount.NewView(h.c.barrier, "core/wrapping/")
}

// APIAddr implements wrapping.Host.
func (h wrappingHost) APIAddr() string { return h.c.conf.APIAddr }

func wrappingToken(e *token.Entry) *wrapping.Token {
	return &wrapping.Token{ID: e.ID, Accessor: e.Accessor, CreationTime: e.CreationTime, Wrapping: e.IsWrapping()}
}

// wrapResponse wraps a backend's answer when the request or the backend
// asks for it, and records the wrapping for the audit entry.
func (c *Core) wrapResponse(ctx context.Context, req *logical.Request, resp *logical.Response, mountType string, in *audit.LogInput) (*logical.Response, error) {
	resp, err := c.wrapping.Wrap(ctx, req, resp, mountType)
	if err != nil || resp == nil || resp.WrapInfo == nil {
		return resp, err
	}
	w := resp.WrapInfo
	in.WrapInfo = &audit.WrapInfo{
		Token: w.Token, Accessor: w.Accessor, TTL: w.TTL, CreationTime: w.CreationTime,
		CreationPath: w.CreationPath, WrappedAccessor: w.WrappedAccessor,
	}
	return resp, nil
}

// ResponseWrapData implements mount.Host: an engine's
// SystemView.ResponseWrapData.
func (h mountHost) ResponseWrapData(ctx context.Context, data map[string]any, ttl time.Duration, jwt bool) (*logical.ResponseWrapInfo, error) {
	return h.c.wrapping.WrapData(ctx, newUUID(), data, ttl, jwt)
}

// wrapTTLOf is the wrapping a request asks for (zero: none), which the
// ACL's min/max_wrapping_ttl are checked against.
func wrapTTLOf(req *logical.Request) time.Duration {
	if req.WrapInfo == nil {
		return 0
	}
	return req.WrapInfo.TTL
}
