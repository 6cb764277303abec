package token

import (
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// TestAuthRenewOperation: the token backend renews a token sent as a
// RenewOperation with req.Auth (what the lease manager will send), by token
// or by accessor, through the same rules as the renew paths; a secret sent
// to it has no type to go to.
func TestAuthRenewOperation(t *testing.T) {
	cases := []struct {
		name     string
		auth     func(tok, acc string) *logical.Auth
		secret   *logical.Secret
		status   int
		errMsg   string
		lease    time.Duration
		echoesID bool
	}{
		{name: "by token with increment", auth: func(tok, _ string) *logical.Auth {
			return &logical.Auth{ClientToken: tok, Increment: 2 * time.Hour}
		}, lease: 2 * time.Hour, echoesID: true},
		{name: "by token, own ttl", auth: func(tok, _ string) *logical.Auth { return &logical.Auth{ClientToken: tok} }, lease: time.Hour, echoesID: true},
		{name: "by accessor", auth: func(_, acc string) *logical.Auth {
			return &logical.Auth{Accessor: acc, Increment: 10 * time.Minute}
		}, lease: 10 * time.Minute},
		{name: "unknown token", auth: func(string, string) *logical.Auth { return &logical.Auth{ClientToken: "s.nope"} }, status: 400, errMsg: "token not found"},
		{name: "unknown accessor", auth: func(string, string) *logical.Auth { return &logical.Auth{Accessor: "nope"} }, status: 400, errMsg: "invalid accessor"},
		{name: "neither", auth: func(string, string) *logical.Auth { return &logical.Auth{} }, status: 400, errMsg: "missing token ID"},
		{name: "negative increment", auth: func(tok, _ string) *logical.Auth {
			return &logical.Auth{ClientToken: tok, Increment: -time.Second}
		}, status: 400, errMsg: "increment must be positive"},
		{name: "a secret has no type here", secret: &logical.Secret{InternalData: map[string]any{logical.SecretTypeKey: "kv"}}, status: 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			tok, auth := h.rootCreate(map[string]any{"policies": "a", "ttl": "1h"})
			h.clock.Advance(30 * time.Minute)
			req := &logical.Request{Operation: logical.RenewOperation, MountPoint: "auth/token/", Secret: c.secret}
			if c.auth != nil {
				req.Auth = c.auth(tok, auth.Accessor)
			}
			resp, err := h.backend.HandleRequest(h.ctx, req)
			if c.status != 0 {
				if statusOf(err) != c.status || (c.errMsg != "" && messageOf(err) != c.errMsg) {
					t.Fatalf("got %d %q, want %d %q", statusOf(err), messageOf(err), c.status, c.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want(t, "lease", resp.Auth.LeaseDuration, c.lease)
			if got := resp.Auth.ClientToken != ""; got != c.echoesID {
				t.Fatalf("token echoed: %v, want %v", got, c.echoesID)
			}
			if e := h.lookup(tok); e == nil || !e.ExpireTime.Equal(h.clock.Now().Add(c.lease)) {
				t.Fatalf("stored expiry not moved: %+v", e)
			}
		})
	}
}
