package token

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/barrier"
	"github.com/strongbox/strongbox/internal/logical"
)

// newBatchHarness is a store able to seal batch tokens with a fixed key.
func newBatchHarness(t testing.TB) *harness {
	t.Helper()
	key, err := barrier.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	aad := []byte("token/batch")
	return newHarnessWith(t, Options{
		SealBatch: func(pt []byte) ([]byte, error) { return barrier.Encrypt(key, aad, pt) },
		OpenBatch: func(_ context.Context, blob []byte) ([]byte, error) {
			pt, err := barrier.Decrypt(key, aad, blob)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrBatchUnreadable, err)
			}
			return pt, nil
		},
	})
}

func TestBatchTokenCreateLookupNotStored(t *testing.T) {
	h := newBatchHarness(t)
	before := h.dump()
	tok, auth := h.rootCreate(map[string]any{
		"type": "batch", "policies": "dev", "ttl": "1h", "meta": map[string]any{"app": "web"}, "display_name": "ci",
	})
	if !strings.HasPrefix(tok, BatchPrefix) {
		t.Fatalf("batch token %q lacks the %s prefix", tok, BatchPrefix)
	}
	if auth.TokenType != TypeBatch || auth.Accessor != "" || auth.Renewable || auth.LeaseDuration != time.Hour || auth.Orphan {
		t.Fatalf("auth = %+v", auth)
	}
	if after := h.dump(); !maps.EqualFunc(before, after, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatalf("creating a batch token changed storage: %d keys, then %d", len(before), len(after))
	}
	e := h.lookup(tok)
	if e == nil {
		t.Fatal("batch token not valid")
	}
	if e.Type != TypeBatch || e.Parent != h.root.ID || e.DisplayName != "token-ci" || e.Meta["app"] != "web" ||
		strings.Join(e.Policies, ",") != "default,dev" || e.Path != "auth/token/create" {
		t.Fatalf("entry = %+v", e)
	}
	resp, err := h.call(logical.ReadOperation, "lookup-self", tok, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Data["type"] != "batch" || resp.Data["accessor"] != "" || resp.Data["renewable"] != false || resp.Data["id"] != tok {
		t.Fatalf("lookup-self = %v", resp.Data)
	}

	// Expired: invalid, and still nothing stored.
	h.clock.Advance(time.Hour)
	if h.lookup(tok) != nil {
		t.Fatal("batch token valid after its TTL")
	}
}

func TestBatchTokenRefusals(t *testing.T) {
	h := newBatchHarness(t)
	tok, _ := h.rootCreate(map[string]any{"type": "batch", "policies": "dev"})
	cases := []struct {
		path, client string
		data         map[string]any
		want         string
	}{
		{"create", tok, map[string]any{"policies": "dev"}, "batch tokens cannot create more tokens"},
		{"renew-self", tok, nil, "batch tokens cannot be renewed"},
		{"renew", h.rootTok, map[string]any{"token": tok}, "batch tokens cannot be renewed"},
		{"revoke", h.rootTok, map[string]any{"token": tok}, "batch tokens cannot be revoked"},
		{"revoke-self", tok, nil, "batch tokens cannot be revoked"},
		{"revoke-orphan", h.rootTok, map[string]any{"token": tok}, "batch tokens cannot be revoked"},
		{"create", h.rootTok, map[string]any{"type": "batch", "num_uses": 3}, `batch tokens cannot have "num_uses" set`},
		{"create", h.rootTok, map[string]any{"type": "batch", "period": "1h"}, `batch tokens cannot have "period" set`},
		{"create", h.rootTok, map[string]any{"type": "batch", "explicit_max_ttl": "1h"}, `batch tokens cannot have "explicit_max_ttl" set`},
		{"create", h.rootTok, map[string]any{"type": "batch", "policies": "root"}, "batch tokens cannot be root tokens"},
		{"create", h.rootTok, map[string]any{"type": "other"}, "invalid 'token_type' value"},
	}
	for _, c := range cases {
		before := h.dump()
		_, err := h.call(logical.UpdateOperation, c.path, c.client, c.client == h.rootTok, c.data)
		if statusOf(err) != 400 || messageOf(err) != c.want {
			t.Errorf("%s %v: %d %q, want 400 %q", c.path, c.data, statusOf(err), messageOf(err), c.want)
		}
		if len(h.dump()) != len(before) {
			t.Errorf("%s %v changed storage", c.path, c.data)
		}
	}
	if h.lookup(tok) == nil {
		t.Fatal("the batch token stopped working after refused revocations")
	}
}

func TestBatchTokenDiesWithParentAndIsUnforgeable(t *testing.T) {
	h := newBatchHarness(t)
	parentTok, _ := h.rootCreate(map[string]any{"policies": "dev"})
	child, auth := h.create(parentTok, false, map[string]any{"type": "batch"})
	orphan, _ := h.rootCreate(map[string]any{"type": "batch", "no_parent": true, "policies": "dev"})
	if auth.Orphan {
		t.Fatal("batch child of a service token reported as orphan")
	}
	if h.lookup(child) == nil || h.lookup(orphan) == nil {
		t.Fatal("batch tokens not valid")
	}
	if _, err := h.call(logical.UpdateOperation, "revoke", h.rootTok, true, map[string]any{"token": parentTok}); err != nil {
		t.Fatal(err)
	}
	if h.lookup(child) != nil {
		t.Fatal("batch child still valid after its parent was revoked")
	}
	if h.lookup(orphan) == nil {
		t.Fatal("orphan batch token stopped working")
	}

	blob, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(orphan, BatchPrefix))
	if err != nil {
		t.Fatal(err)
	}
	for i := range blob {
		bad := []byte(string(blob))
		bad[i] ^= 0x20
		if e := h.lookup(BatchPrefix + base64.RawURLEncoding.EncodeToString(bad)); e != nil {
			t.Fatalf("byte %d flipped: token still valid", i)
		}
	}
	for _, forged := range []string{BatchPrefix, BatchPrefix + "!!!", BatchPrefix + "AAAA", orphan + "x"} {
		if e := h.lookup(forged); e != nil {
			t.Fatalf("forged %q is valid", forged)
		}
	}
}

func TestBatchTokenRoles(t *testing.T) {
	h := newBatchHarness(t)
	write := func(name string, data map[string]any) {
		t.Helper()
		if _, err := h.call(logical.UpdateOperation, "roles/"+name, h.rootTok, true, data); err != nil {
			t.Fatalf("role %s: %v", name, err)
		}
	}
	write("b", map[string]any{"token_type": "batch", "allowed_policies": "dev", "token_explicit_max_ttl": "2h"})
	write("db", map[string]any{"token_type": "default-batch", "allowed_policies": "dev"})
	write("s", map[string]any{"token_type": "service", "allowed_policies": "dev"})
	cases := []struct {
		role, asked, want string
	}{
		{"b", "", TypeBatch}, {"b", "service", TypeBatch},
		{"db", "", TypeBatch}, {"db", "service", TypeService},
		{"s", "batch", TypeService},
	}
	for _, c := range cases {
		data := map[string]any{}
		if c.asked != "" {
			data["type"] = c.asked
		}
		resp, err := h.call(logical.UpdateOperation, "create/"+c.role, h.rootTok, true, data)
		if err != nil {
			t.Fatalf("create/%s type=%q: %v", c.role, c.asked, err)
		}
		if resp.Auth.TokenType != c.want {
			t.Errorf("create/%s type=%q: %s, want %s", c.role, c.asked, resp.Auth.TokenType, c.want)
		}
	}
	_, err := h.call(logical.UpdateOperation, "roles/bad", h.rootTok, true, map[string]any{"token_type": "batch", "token_period": "1h"})
	if statusOf(err) != 400 {
		t.Fatalf("batch role with a period: %v", err)
	}
}
