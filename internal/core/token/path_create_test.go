package token

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestCreate(t *testing.T) {
	type caller int
	const (
		root       caller = iota // the root token
		plain                    // policies [a b default], no sudo
		plainSudo                // same policies, sudo on the path
		noDefault                // policies [a], no sudo
		limited                  // num_uses 5
		expiring                 // policies [a default], ttl 1h
		expRoot                  // root policy, ttl 1h
		unknownTok               // a token the store never issued
	)
	cases := []struct {
		name   string
		who    caller
		path   string
		data   map[string]any
		status int
		errMsg string
		check  func(t *testing.T, a *logical.Auth, e *Entry, warnings []string)
	}{
		{name: "root inherits root, never expires", who: root, check: func(t *testing.T, a *logical.Auth, e *Entry, _ []string) {
			wantSlice(t, "policies", a.Policies, []string{"root"})
			want(t, "lease", a.LeaseDuration, time.Duration(0))
			want(t, "renewable", a.Renewable, false)
			want(t, "orphan", a.Orphan, false)
			want(t, "path", e.Path, "auth/token/create")
			want(t, "display_name", e.DisplayName, "token")
			want(t, "type", a.TokenType, "service")
		}},
		{name: "root with policies gets default and default ttl", who: root, data: map[string]any{"policies": []any{"Web", "stage"}}, check: func(t *testing.T, a *logical.Auth, e *Entry, _ []string) {
			wantSlice(t, "policies", a.Policies, []string{"default", "stage", "web"})
			wantSlice(t, "token_policies", a.TokenPolicies, []string{"default", "stage", "web"})
			want(t, "lease", a.LeaseDuration, 768*time.Hour)
			want(t, "renewable", a.Renewable, true)
			want(t, "entity_id", a.EntityID, "")
		}},
		{name: "ttl, meta, display name", who: root, data: map[string]any{"policies": "a", "ttl": "1h", "meta": map[string]any{"user": "armon"}, "display_name": "My App!"}, check: func(t *testing.T, a *logical.Auth, e *Entry, _ []string) {
			want(t, "lease", a.LeaseDuration, time.Hour)
			want(t, "metadata", a.Metadata["user"], "armon")
			want(t, "display_name", e.DisplayName, "token-My-App")
		}},
		{name: "metadata alias and k=v", who: root, data: map[string]any{"policies": "a", "metadata": "k=v"}, check: func(t *testing.T, a *logical.Auth, _ *Entry, _ []string) {
			want(t, "metadata", a.Metadata["k"], "v")
		}},
		{name: "ttl in plain seconds", who: root, data: map[string]any{"policies": "a", "ttl": 90}, check: func(t *testing.T, a *logical.Auth, _ *Entry, _ []string) {
			want(t, "lease", a.LeaseDuration, 90*time.Second)
		}},
		{name: "ttl capped at system max", who: root, data: map[string]any{"policies": "a", "ttl": "1000h"}, check: func(t *testing.T, a *logical.Auth, _ *Entry, w []string) {
			want(t, "lease", a.LeaseDuration, 768*time.Hour)
			wantWarning(t, w, "exceeded the effective max_ttl")
		}},
		{name: "explicit max caps ttl", who: root, data: map[string]any{"policies": "a", "ttl": "5h", "explicit_max_ttl": "2h"}, check: func(t *testing.T, a *logical.Auth, e *Entry, w []string) {
			want(t, "lease", a.LeaseDuration, 2*time.Hour)
			want(t, "explicit_max_ttl", e.ExplicitMaxTTL, 2*time.Hour)
			wantWarning(t, w, "TTL value is capped")
		}},
		{name: "periodic by sudo", who: plainSudo, data: map[string]any{"policies": "a", "period": "30m"}, check: func(t *testing.T, a *logical.Auth, e *Entry, _ []string) {
			want(t, "lease", a.LeaseDuration, 30*time.Minute)
			want(t, "period", e.Period, 30*time.Minute)
		}},
		{name: "root with explicit max expires", who: root, data: map[string]any{"explicit_max_ttl": "3h"}, check: func(t *testing.T, a *logical.Auth, _ *Entry, _ []string) {
			want(t, "lease", a.LeaseDuration, 3*time.Hour)
		}},
		{name: "not renewable", who: root, data: map[string]any{"policies": "a", "renewable": false}, check: func(t *testing.T, a *logical.Auth, _ *Entry, _ []string) {
			want(t, "renewable", a.Renewable, false)
		}},
		{name: "num_uses", who: root, data: map[string]any{"policies": "a", "num_uses": 2}, check: func(t *testing.T, a *logical.Auth, e *Entry, _ []string) {
			want(t, "num_uses", a.NumUses, 2)
			want(t, "entry num_uses", e.NumUses, 2)
		}},
		{name: "custom id by root", who: root, data: map[string]any{"id": "my-token"}, check: func(t *testing.T, a *logical.Auth, _ *Entry, _ []string) {
			want(t, "client_token", a.ClientToken, "my-token")
		}},
		{name: "no_parent by sudo", who: plainSudo, data: map[string]any{"no_parent": true}, check: func(t *testing.T, a *logical.Auth, e *Entry, _ []string) {
			want(t, "orphan", a.Orphan, true)
			want(t, "parent", e.Parent, "")
		}},
		{name: "create-orphan without sudo, as in Vault", who: plain, path: "create-orphan", check: func(t *testing.T, a *logical.Auth, e *Entry, _ []string) {
			want(t, "orphan", a.Orphan, true)
			want(t, "path", e.Path, "auth/token/create-orphan")
		}},
		{name: "inherits parent's policies", who: plain, check: func(t *testing.T, a *logical.Auth, _ *Entry, _ []string) {
			wantSlice(t, "policies", a.Policies, []string{"a", "b", "default"})
		}},
		{name: "subset keeps parent's default", who: plain, data: map[string]any{"policies": "a"}, check: func(t *testing.T, a *logical.Auth, _ *Entry, _ []string) {
			wantSlice(t, "policies", a.Policies, []string{"a", "default"})
		}},
		{name: "subset without default", who: plain, data: map[string]any{"policies": "a", "no_default_policy": true}, check: func(t *testing.T, a *logical.Auth, _ *Entry, _ []string) {
			wantSlice(t, "policies", a.Policies, []string{"a"})
		}},
		{name: "parent without default gives none", who: noDefault, data: map[string]any{"policies": "a"}, check: func(t *testing.T, a *logical.Auth, _ *Entry, _ []string) {
			wantSlice(t, "policies", a.Policies, []string{"a"})
		}},
		{name: "sudo may go beyond parent", who: plainSudo, data: map[string]any{"policies": "z"}, check: func(t *testing.T, a *logical.Auth, _ *Entry, _ []string) {
			wantSlice(t, "policies", a.Policies, []string{"default", "z"})
		}},
		{name: "child capped by parent's remaining ttl", who: expiring, data: map[string]any{"ttl": "2h"}, check: func(t *testing.T, a *logical.Auth, _ *Entry, w []string) {
			want(t, "lease", a.LeaseDuration, time.Hour)
			wantWarning(t, w, "parent token's remaining TTL")
		}},
		{name: "orphan not capped by parent", who: expiring, path: "create-orphan", data: map[string]any{"ttl": "2h"}, check: func(t *testing.T, a *logical.Auth, _ *Entry, _ []string) {
			want(t, "lease", a.LeaseDuration, 2*time.Hour)
		}},

		{name: "bad ttl", who: root, data: map[string]any{"ttl": "soon"}, status: 400},
		{name: "negative ttl", who: root, data: map[string]any{"ttl": -5}, status: 400, errMsg: "ttl must be positive"},
		{name: "bad num_uses", who: root, data: map[string]any{"num_uses": "x"}, status: 400},
		{name: "negative num_uses", who: root, data: map[string]any{"num_uses": -1}, status: 400, errMsg: "number of uses cannot be negative"},
		{name: "batch root", who: root, data: map[string]any{"type": "batch"}, status: 400, errMsg: "batch tokens cannot be root tokens"},
		{name: "unknown type", who: root, data: map[string]any{"type": "gold"}, status: 400, errMsg: "invalid 'token_type' value"},
		{name: "not a subset", who: plain, data: map[string]any{"policies": "c"}, status: 400, errMsg: "child policies must be subset of parent"},
		{name: "root from non-root sudo", who: plainSudo, data: map[string]any{"policies": "root"}, status: 400, errMsg: "root tokens may not be created without parent token being root"},
		{name: "period without sudo", who: plain, data: map[string]any{"period": "1h"}, status: 400, errMsg: "root or sudo privileges required to create periodic token"},
		{name: "no_parent without sudo", who: plain, data: map[string]any{"no_parent": true}, status: 400, errMsg: "root or sudo privileges required to create orphan token"},
		{name: "id without sudo", who: plain, data: map[string]any{"id": "mine"}, status: 400, errMsg: "root or sudo privileges required to specify token id"},
		{name: "id with a dot", who: root, data: map[string]any{"id": "a.b"}, status: 400, errMsg: "custom token ID cannot have a '.' in the value"},
		{name: "id with hvs prefix", who: root, data: map[string]any{"id": "hvs.abc"}, status: 400, errMsg: "custom token ID cannot have the 'hvs.' prefix"},
		{name: "limited-use parent", who: limited, status: 400, errMsg: "restricted use token cannot generate child tokens"},
		{name: "unknown parent", who: unknownTok, status: 400, errMsg: "parent token lookup failed: no parent found"},
		{name: "expiring root makes forever root", who: expRoot, status: 400, errMsg: "expiring root tokens cannot create non-expiring root tokens"},
		{name: "entity_alias", who: root, data: map[string]any{"entity_alias": "x"}, status: 400, errMsg: "'entity_alias' is only allowed in combination with token role"},
		{name: "role", who: root, path: "create/nomad", status: 400, errMsg: "unknown role nomad"},
		{name: "read is not create", who: root, path: "create", status: 405},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			tok, sudo := h.rootTok, true
			switch c.who {
			case plain, plainSudo:
				tok, _ = h.rootCreate(map[string]any{"policies": "a,b"})
				sudo = c.who == plainSudo
			case noDefault:
				tok, _ = h.rootCreate(map[string]any{"policies": "a", "no_default_policy": true})
				sudo = false
			case limited:
				tok, _ = h.rootCreate(map[string]any{"policies": "a", "num_uses": 5})
			case expiring:
				tok, _ = h.rootCreate(map[string]any{"policies": "a", "ttl": "1h"})
			case expRoot:
				tok, _ = h.rootCreate(map[string]any{"ttl": "1h"})
			case unknownTok:
				tok = "hvs.nothere"
			}
			path, op := c.path, logical.UpdateOperation
			if path == "" {
				path = "create"
			}
			if c.status == 405 {
				op = logical.ReadOperation
			}
			before := len(h.dump())
			resp, err := h.call(op, path, tok, sudo, c.data)
			if c.status != 0 {
				if statusOf(err) != c.status || (c.errMsg != "" && messageOf(err) != c.errMsg) {
					t.Fatalf("got %d %q, want %d %q", statusOf(err), messageOf(err), c.status, c.errMsg)
				}
				if after := len(h.dump()); after != before {
					t.Fatalf("a refused create changed storage: %d → %d keys", before, after)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			e := h.lookup(resp.Auth.ClientToken)
			if e == nil {
				t.Fatal("created token not found")
			}
			want(t, "accessor", resp.Auth.Accessor, e.Accessor)
			c.check(t, resp.Auth, e, resp.Warnings)
		})
	}
}

func TestCreateDuplicateCustomID(t *testing.T) {
	h := newHarness(t)
	h.rootCreate(map[string]any{"id": "dup"})
	_, err := h.call(logical.UpdateOperation, "create", h.rootTok, true, map[string]any{"id": "dup"})
	if statusOf(err) != 400 || messageOf(err) != "cannot create a token with a duplicate ID" {
		t.Fatalf("duplicate id: %v", err)
	}
}

func want[T comparable](t *testing.T, what string, got, wanted T) {
	t.Helper()
	if got != wanted {
		t.Fatalf("%s = %v, want %v", what, got, wanted)
	}
}

func wantWarning(t *testing.T, warnings []string, sub string) {
	t.Helper()
	if !slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, sub) }) {
		t.Fatalf("no warning containing %q in %q", sub, warnings)
	}
}

func wantSlice(t *testing.T, what string, got, wanted []string) {
	t.Helper()
	if !slices.Equal(got, wanted) {
		t.Fatalf("%s = %q, want %q", what, got, wanted)
	}
}
