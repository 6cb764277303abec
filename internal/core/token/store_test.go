package token

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestSaltCreatedOnceAndReused(t *testing.T) {
	h := newHarness(t)
	se, err := h.storage.Get(h.ctx, "salt")
	if err != nil || se == nil || len(se.Value) != saltLength {
		t.Fatalf("salt = %v, %v; want %d bytes", se, err, saltLength)
	}
	// A second store on the same storage (a restart) keeps the salt and so
	// still knows the tokens.
	s2, err := New(h.ctx, h.storage, Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	se2, _ := h.storage.Get(h.ctx, "salt")
	if !bytes.Equal(se.Value, se2.Value) {
		t.Fatal("salt changed on restart")
	}
	e, err := s2.Lookup(h.ctx, h.rootTok)
	if err != nil || e == nil || !e.IsRoot() || e.Accessor != h.root.Accessor {
		t.Fatalf("restarted Lookup = %+v, %v", e, err)
	}
	// A corrupt salt is refused rather than silently replaced.
	st := logical.NewInmemStorage()
	_ = st.Put(h.ctx, &logical.StorageEntry{Key: "salt", Value: []byte("short")})
	if _, err := New(h.ctx, st, Options{}); err == nil {
		t.Fatal("New accepted a 5-byte salt")
	}
}

func TestTokenAndAccessorFormat(t *testing.T) {
	h := newHarness(t)
	tokRe := regexp.MustCompile(`^hvs\.[0-9A-Za-z]{33}$`)
	accRe := regexp.MustCompile(`^[0-9A-Za-z]{24}$`)
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		tok, auth := h.rootCreate(nil)
		if !tokRe.MatchString(tok) || !accRe.MatchString(auth.Accessor) {
			t.Fatalf("token %q / accessor %q malformed", tok, auth.Accessor)
		}
		if seen[tok] || seen[auth.Accessor] {
			t.Fatal("duplicate token or accessor")
		}
		seen[tok], seen[auth.Accessor] = true, true
	}
	if !tokRe.MatchString(h.rootTok) {
		t.Fatalf("root token %q malformed", h.rootTok)
	}
}

func TestStorageDumpHoldsNoTokenOrAccessor(t *testing.T) {
	h := newHarness(t)
	secrets := []string{h.rootTok, h.root.Accessor}
	parent, pa := h.rootCreate(map[string]any{"policies": "a", "meta": map[string]any{"user": "armon"}})
	child, ca := h.create(parent, false, map[string]any{"policies": "a"})
	custom, cu := h.rootCreate(map[string]any{"id": "my-custom-token-value"})
	orphan, oa := h.rootCreate(map[string]any{"no_parent": true, "num_uses": 3})
	secrets = append(secrets, parent, pa.Accessor, child, ca.Accessor, custom, cu.Accessor, orphan, oa.Accessor)
	// Renewal and use rewrite entries; they must stay clean too.
	if _, err := h.call(logical.UpdateOperation, "renew-self", parent, false, nil); err != nil {
		t.Fatal(err)
	}
	if e := h.lookup(orphan); e == nil {
		t.Fatal("orphan not found")
	} else if _, err := h.store.UseToken(h.ctx, e); err != nil {
		t.Fatal(err)
	}

	hexRe := `[0-9a-f]{64}`
	layout := regexp.MustCompile(`^(salt|id/` + hexRe + `|accessor/` + hexRe + `|parent/` + hexRe + `/` + hexRe + `)$`)
	dump := h.dump()
	if len(dump) == 0 {
		t.Fatal("empty dump")
	}
	for k, v := range dump {
		if !layout.MatchString(k) {
			t.Errorf("unexpected storage key %q", k)
		}
		for _, sec := range secrets {
			if strings.Contains(k, sec) || bytes.Contains(v, []byte(sec)) {
				t.Errorf("storage %q holds a token or accessor in the clear", k)
			}
		}
	}
	// What storage does hold (the hash) is no token.
	for k := range dump {
		if strings.HasPrefix(k, "id/") {
			if e := h.lookup(strings.TrimPrefix(k, "id/")); e != nil {
				t.Fatalf("the stored hash %s works as a token", k)
			}
		}
	}
	if got := len(h.keysUnder("id/")); got != 5 {
		t.Fatalf("%d entries stored, want 5", got)
	}
}

func TestPolicySanitizing(t *testing.T) {
	cases := []struct {
		name      string
		in        []string
		noDefault bool
		want      []string
	}{
		{"sorted deduped lowercased", []string{"B", " a", "a", ""}, false, []string{"a", "b", "default"}},
		{"no default", []string{"b", "a"}, true, []string{"a", "b"}},
		{"default given once", []string{"default", "x"}, false, []string{"default", "x"}},
		{"root alone", []string{"x", "root", "y"}, false, []string{"root"}},
		{"nothing", nil, false, []string{"default"}},
	}
	h := newHarness(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, e, err := h.store.Create(h.ctx, CreateRequest{Policies: c.in, NoDefaultPolicy: c.noDefault, Path: "auth/userpass/login/bob", DisplayName: "userpass-bob", Renewable: true})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(e.Policies, c.want) {
				t.Fatalf("policies = %v, want %v", e.Policies, c.want)
			}
		})
	}
	if _, _, err := h.store.Create(h.ctx, CreateRequest{Policies: []string{"response-wrapping"}}); statusOf(err) != 400 {
		t.Fatalf("response-wrapping policy: %v", err)
	}
}

func TestLoginTokenUsesMountTTLs(t *testing.T) {
	h := newHarness(t)
	tok, e, err := h.store.Create(h.ctx, CreateRequest{
		Policies: []string{"dev"}, Path: "auth/userpass/login/bob", DisplayName: "userpass-bob",
		Meta: map[string]string{"username": "bob"}, Renewable: true,
		DefaultTTL: time.Hour, MaxTTL: 2 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.TTL != time.Hour || !e.Orphan || e.Parent != "" || e.Path != "auth/userpass/login/bob" {
		t.Fatalf("entry = %+v", e)
	}
	h.clock.Advance(50 * time.Minute)
	ne, warnings, err := h.store.Renew(h.ctx, h.lookup(tok), 3*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Capped by the mount max counted from creation: 2h - 50m.
	if got := ne.ExpireTime.Sub(h.clock.Now()); got != 70*time.Minute || len(warnings) != 1 {
		t.Fatalf("renewed for %v with %v", got, warnings)
	}
}

func TestLookupExpiresAndRevokesOnSight(t *testing.T) {
	h := newHarness(t)
	parent, _ := h.rootCreate(map[string]any{"ttl": "1h"})
	child, _ := h.create(parent, true, map[string]any{"ttl": "1h"})
	pe, ce := h.lookup(parent), h.lookup(child)
	h.clock.Advance(59*time.Minute + 59*time.Second)
	if h.lookup(parent) == nil {
		t.Fatal("token gone a second before expiry")
	}
	h.clock.Advance(time.Second)
	if h.lookup(parent) != nil {
		t.Fatal("expired token still valid")
	}
	if h.revokeCount(pe.ID) != 1 || h.revokeCount(ce.ID) != 1 {
		t.Fatal("expired token and its child not revoked")
	}
	if n := len(h.dump()); n != 3 { // salt, the root's entry and accessor
		t.Fatalf("%d keys left after expiry revocation: %v", n, h.dump())
	}
}

func TestRootTokenNeverExpires(t *testing.T) {
	h := newHarness(t)
	h.clock.Advance(100000 * time.Hour)
	e := h.lookup(h.rootTok)
	if e == nil || !e.ExpireTime.IsZero() || e.TTL != 0 || e.Renewable || !e.Orphan || e.Path != PathRoot || e.DisplayName != "root" {
		t.Fatalf("root entry = %+v", e)
	}
}

func TestUseToken(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.rootCreate(map[string]any{"num_uses": 3, "policies": "a"})
	want := []int{2, 1, RevocationPending}
	for i, w := range want {
		e := h.lookup(tok)
		if e == nil {
			t.Fatalf("use %d: token gone", i+1)
		}
		got, err := h.store.UseToken(h.ctx, e)
		if err != nil || got == nil || got.NumUses != w {
			t.Fatalf("use %d: %+v, %v; want NumUses %d", i+1, got, err, w)
		}
		if i == len(want)-1 {
			// The request that spent the last use still sees its token;
			// nobody else does; revocation follows the request.
			if h.revokeCount(got.ID) != 0 {
				t.Fatal("last use revoked before the request was served")
			}
			if in, err := h.store.Lookup(LastUse(h.ctx, got), tok); err != nil || in == nil {
				t.Fatalf("the last use's own request cannot see its token: %v", err)
			}
			if h.lookup(tok) != nil {
				t.Fatal("a used-up token is valid for another request")
			}
			h.store.RevokeUsedUp(h.ctx, got)
			if h.revokeCount(got.ID) != 1 {
				t.Fatal("RevokeUsedUp did not revoke")
			}
		}
	}
	if h.lookup(tok) != nil {
		t.Fatal("used-up token still valid")
	}
	if in, _ := h.store.Lookup(LastUse(h.ctx, &Entry{ID: h.store.keys.hashToken(tok)}), tok); in != nil {
		t.Fatal("a revoked token is visible through LastUse")
	}
	// A stale entry held by a caller cannot be used again.
	stale := &Entry{ID: h.store.keys.hashToken(tok), NumUses: 1}
	if got, err := h.store.UseToken(h.ctx, stale); got != nil || err != nil {
		t.Fatalf("UseToken of revoked = %+v, %v", got, err)
	}
	// Unlimited tokens pass through untouched.
	if got, err := h.store.UseToken(h.ctx, h.root); got != h.root || err != nil {
		t.Fatal("unlimited token changed")
	}
}

func TestUseTokenConcurrentUsesAreCounted(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.rootCreate(map[string]any{"num_uses": 5})
	e := h.lookup(tok)
	results := make(chan bool, 40)
	for i := 0; i < 40; i++ {
		go func() {
			got, err := h.store.UseToken(h.ctx, e)
			results <- err == nil && got != nil
		}()
	}
	ok := 0
	for i := 0; i < 40; i++ {
		if <-results {
			ok++
		}
	}
	if ok != 5 {
		t.Fatalf("%d requests were served by a 5-use token", ok)
	}
}

// tree builds root → a → {b, c}, b → d and returns the tokens.
func buildTree(h *harness) map[string]string {
	h.t.Helper()
	toks := map[string]string{}
	toks["a"], _ = h.rootCreate(map[string]any{"policies": "p"})
	toks["b"], _ = h.create(toks["a"], false, nil)
	toks["c"], _ = h.create(toks["a"], false, nil)
	toks["d"], _ = h.create(toks["b"], false, nil)
	return toks
}

func TestRevokeTreeKillsDescendants(t *testing.T) {
	h := newHarness(t)
	toks := buildTree(h)
	ids := map[string]string{}
	for k, tok := range toks {
		ids[k] = h.lookup(tok).ID
	}
	if err := h.store.RevokeTree(h.ctx, h.lookup(toks["a"])); err != nil {
		t.Fatal(err)
	}
	for k, tok := range toks {
		if h.lookup(tok) != nil {
			t.Errorf("%s survived its ancestor's revocation", k)
		}
		if h.revokeCount(ids[k]) != 1 {
			t.Errorf("OnRevoke for %s called %d times", k, h.revokeCount(ids[k]))
		}
	}
	if h.lookup(h.rootTok) == nil {
		t.Fatal("root revoked with its child")
	}
	if left := h.keysUnder("parent/"); len(left) != 0 {
		t.Fatalf("parent index left behind: %v", left)
	}
	if n := len(h.keysUnder("accessor/")); n != 1 {
		t.Fatalf("%d accessor index entries left, want the root's only", n)
	}
}

func TestRevokeOrphanKeepsChildren(t *testing.T) {
	h := newHarness(t)
	toks := buildTree(h)
	if err := h.store.RevokeOrphan(h.ctx, h.lookup(toks["a"])); err != nil {
		t.Fatal(err)
	}
	if h.lookup(toks["a"]) != nil {
		t.Fatal("a survived revoke-orphan")
	}
	for _, k := range []string{"b", "c"} {
		e := h.lookup(toks[k])
		if e == nil || !e.Orphan || e.Parent != "" {
			t.Fatalf("%s after revoke-orphan = %+v", k, e)
		}
	}
	d := h.lookup(toks["d"])
	if d == nil || d.Parent != h.lookup(toks["b"]).ID {
		t.Fatal("grandchild lost its parent")
	}
	// The orphans are trees of their own now.
	if err := h.store.RevokeTree(h.ctx, h.lookup(toks["b"])); err != nil {
		t.Fatal(err)
	}
	if h.lookup(toks["d"]) != nil || h.lookup(toks["c"]) == nil {
		t.Fatal("revoking orphan b: d should go, c stay")
	}
}

func TestRevokeHookFailureLeavesTokenInvalidUntilRetried(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.rootCreate(nil)
	e := h.lookup(tok)
	h.setHookErr(errHook)
	if err := h.store.RevokeTree(h.ctx, e); err == nil {
		t.Fatal("revocation with a failing hook reported success")
	}
	if h.lookup(tok) != nil {
		t.Fatal("token still valid after a failed revocation")
	}
	if len(h.keysUnder("id/"+e.ID)) != 1 {
		t.Fatal("entry deleted although its hook failed")
	}
	h.setHookErr(nil)
	if err := h.store.Tidy(h.ctx); err != nil {
		t.Fatal(err)
	}
	if len(h.keysUnder("id/"+e.ID)) != 0 || h.revokeCount(e.ID) != 1 {
		t.Fatal("tidy did not finish the revocation")
	}
}

func TestTidy(t *testing.T) {
	h := newHarness(t)
	keep, _ := h.rootCreate(map[string]any{"ttl": "10h", "policies": "p"})
	keepChild, _ := h.create(keep, false, nil)
	expired, _ := h.rootCreate(map[string]any{"ttl": "1h"})
	expiredID := h.lookup(expired).ID
	dangling, _ := h.rootCreate(nil)
	danglingChild, _ := h.create(dangling, false, nil)
	danglingChildID := h.lookup(danglingChild).ID
	// A crash between steps leaves: an entry with no parent, an index with
	// no entry, an accessor pointing nowhere.
	if err := h.storage.Delete(h.ctx, "id/"+h.lookup(dangling).ID); err != nil {
		t.Fatal(err)
	}
	junk := strings.Repeat("ab", 32)
	_ = h.storage.Put(h.ctx, &logical.StorageEntry{Key: "parent/" + junk + "/" + junk})
	_ = h.storage.Put(h.ctx, &logical.StorageEntry{Key: "accessor/" + junk, Value: []byte(junk)})
	h.clock.Advance(2 * time.Hour)

	if err := h.store.Tidy(h.ctx); err != nil {
		t.Fatal(err)
	}
	if h.revokeCount(expiredID) != 1 || h.revokeCount(danglingChildID) != 1 {
		t.Fatal("expired or dangling token not revoked by tidy")
	}
	if h.lookup(keep) == nil || h.lookup(keepChild) == nil || h.lookup(h.rootTok) == nil {
		t.Fatal("tidy removed valid tokens")
	}
	dump := h.dump()
	if _, ok := dump["parent/"+junk+"/"+junk]; ok {
		t.Fatal("dangling parent index kept")
	}
	if _, ok := dump["accessor/"+junk]; ok {
		t.Fatal("dangling accessor index kept")
	}
	// Left: salt, 3 entries, 3 accessors, keep→keepChild and root→keep.
	if len(dump) != 9 {
		t.Fatalf("after tidy %d keys: %v", len(dump), dump)
	}

	h.store.tidying.Store(true)
	if err := h.store.Tidy(h.ctx); err != ErrTidyInProgress {
		t.Fatalf("concurrent tidy = %v", err)
	}
	h.store.tidying.Store(false)
}
