package token

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// A login token's renewal asks OnRenew first: a refusal leaves the token as
// it was, and the terms returned (the role's current TTLs) are applied.
func TestRenewAsksOnRenew(t *testing.T) {
	var refuse error
	var terms *RenewTerms
	var asked []string
	h := newHarnessWith(t, Options{OnRenew: func(_ context.Context, e *Entry, inc time.Duration) (*RenewTerms, error) {
		asked = append(asked, e.Path)
		return terms, refuse
	}})
	tok, e, err := h.store.Create(h.ctx, CreateRequest{
		Policies: []string{"dev"}, Path: "auth/userpass/login/alice", TTL: time.Hour,
		Renewable: true, BoundCIDRs: []string{"10.0.0.0/8"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.BoundCIDRs, []string{"10.0.0.0/8"}) {
		t.Fatalf("bound cidrs = %v", e.BoundCIDRs)
	}

	refuse = logical.BadRequest("user no longer exists; not renewing")
	h.clock.Advance(10 * time.Minute)
	if _, _, err := h.store.Renew(h.ctx, e, 0); err == nil || err.Error() != "user no longer exists; not renewing" {
		t.Fatalf("renew = %v, want the method's refusal", err)
	}
	got, _ := h.store.Lookup(h.ctx, tok)
	if !got.ExpireTime.Equal(e.ExpireTime) || !got.LastRenewalTime.IsZero() {
		t.Fatalf("a refused renewal changed the token: expire %v (was %v)", got.ExpireTime, e.ExpireTime)
	}

	refuse, terms = nil, &RenewTerms{TTL: 20 * time.Minute, MaxTTL: 30 * time.Minute}
	ne, _, err := h.store.Renew(h.ctx, e, 0)
	if err != nil {
		t.Fatal(err)
	}
	if left := ne.ExpireTime.Sub(h.clock.Now()); left != 20*time.Minute {
		t.Fatalf("TTL after renewal = %v, want the method's 20m", left)
	}
	// The method's max TTL (30m from creation) caps an increment.
	ne, warnings, err := h.store.Renew(h.ctx, e, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if left := ne.ExpireTime.Sub(h.clock.Now()); left != 20*time.Minute || len(warnings) == 0 {
		t.Fatalf("TTL = %v (warnings %v), want capped at 20m left of the 30m max", left, warnings)
	}
	if !slices.Equal(ne.BoundCIDRs, []string{"10.0.0.0/8"}) {
		t.Fatalf("renewal lost the bound CIDRs: %v", ne.BoundCIDRs)
	}
	if len(asked) != 3 || asked[0] != "auth/userpass/login/alice" {
		t.Fatalf("OnRenew calls = %v", asked)
	}

	// A token the store refuses anyway is not put to the method.
	_, nr, err := h.store.Create(h.ctx, CreateRequest{Policies: []string{"dev"}, Path: "auth/token/create", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.store.Renew(h.ctx, nr, 0); err == nil || err.Error() != "lease is not renewable" {
		t.Fatalf("renew of a non-renewable token = %v", err)
	}
	if len(asked) != 3 {
		t.Fatalf("OnRenew asked about a non-renewable token: %v", asked)
	}
}

func TestLookupShowsBoundCIDRs(t *testing.T) {
	h := newHarness(t)
	tok, _, err := h.store.Create(h.ctx, CreateRequest{Policies: []string{"dev"}, Path: "auth/userpass/login/bob", BoundCIDRs: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	h.store.InvalidateCache()
	resp, err := h.backend.HandleRequest(h.ctx, &logical.Request{Operation: logical.UpdateOperation, Path: "lookup", Data: map[string]any{"token": tok}, ClientToken: h.rootTok})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Data["bound_cidrs"]; !slices.Equal(got.([]string), []string{"127.0.0.1"}) {
		t.Fatalf("bound_cidrs = %v", got)
	}
}
