package token

import (
	"slices"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// TestCreateWrapping: the core's wrapping tokens carry only the
// response-wrapping policy (which users cannot ask for), one use, no
// renewal, no parent, and expire after their TTL (rounded up to a second).
func TestCreateWrapping(t *testing.T) {
	h := newHarness(t)
	tok, e, err := h.store.CreateWrapping(h.ctx, 1500*time.Millisecond, "secret/foo")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.Policies, []string{ResponseWrappingPolicy}) || !e.IsWrapping() || e.NumUses != 1 ||
		e.Renewable || !e.Orphan || e.Parent != "" || e.Path != "secret/foo" || e.TTL != 2*time.Second {
		t.Fatalf("wrapping token entry %+v", e)
	}
	if got := h.lookup(tok); got == nil || !got.IsWrapping() {
		t.Fatalf("lookup: %+v", got)
	}
	h.clock.Advance(2 * time.Second)
	if got := h.lookup(tok); got != nil {
		t.Fatalf("valid past its TTL: %+v", got)
	}
	if h.revokeCount(e.ID) != 1 {
		t.Fatalf("an expired wrapping token found by a lookup is revoked (and its cubbyhole with it): %d", h.revokeCount(e.ID))
	}

	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, _, err := h.store.CreateWrapping(h.ctx, ttl, "x"); statusOf(err) != 400 {
			t.Errorf("ttl %v: %v", ttl, err)
		}
	}
	// Users still cannot have the policy, alone or with others, through
	// the store or auth/token/create.
	for _, pols := range [][]string{{ResponseWrappingPolicy}, {"default", ResponseWrappingPolicy}} {
		if _, _, err := h.store.Create(h.ctx, CreateRequest{Policies: pols}); statusOf(err) != 400 {
			t.Errorf("Create %v: %v", pols, err)
		}
		_, err := h.call(logical.UpdateOperation, "create", h.rootTok, true, map[string]any{"policies": pols})
		if statusOf(err) != 400 {
			t.Errorf("auth/token/create %v: %v", pols, err)
		}
	}
}
