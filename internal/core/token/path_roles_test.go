package token

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func (h *harness) writeRole(name string, data map[string]any) {
	h.t.Helper()
	if _, err := h.call(logical.UpdateOperation, "roles/"+name, h.rootTok, true, data); err != nil {
		h.t.Fatalf("write role %s: %v", name, err)
	}
}

func TestRoleCRUD(t *testing.T) {
	h := newHarness(t)
	h.writeRole("web", map[string]any{
		"allowed_policies":       "B,a",
		"disallowed_policies":    []any{"x"},
		"allowed_policies_glob":  "app-*",
		"allowed_entity_aliases": "alice,bob",
		"orphan":                 true,
		"path_suffix":            "v1",
		"period":                 "1h",
		"explicit_max_ttl":       "10h",
		"token_bound_cidrs":      "10.0.0.0/8",
		"token_num_uses":         3,
		"token_ttl":              "5m", // not a token role field: ignored
	})
	resp, err := h.call(logical.ReadOperation, "roles/web", h.rootTok, true, nil)
	if err != nil || resp == nil {
		t.Fatalf("read: %v %v", resp, err)
	}
	d := resp.Data
	wantSlice(t, "allowed_policies", d["allowed_policies"].([]string), []string{"a", "b"})
	wantSlice(t, "disallowed_policies", d["disallowed_policies"].([]string), []string{"x"})
	wantSlice(t, "allowed_policies_glob", d["allowed_policies_glob"].([]string), []string{"app-*"})
	wantSlice(t, "disallowed_policies_glob", d["disallowed_policies_glob"].([]string), []string{})
	wantSlice(t, "allowed_entity_aliases", d["allowed_entity_aliases"].([]string), []string{"alice", "bob"})
	wantSlice(t, "token_bound_cidrs", d["token_bound_cidrs"].([]string), []string{"10.0.0.0/8"})
	want(t, "orphan", d["orphan"], any(true))
	want(t, "renewable", d["renewable"], any(true))
	want(t, "path_suffix", d["path_suffix"], any("v1"))
	want(t, "name", d["name"], any("web"))
	want(t, "token_period", d["token_period"], any(int64(3600)))
	want(t, "period", d["period"], any(int64(3600)))
	want(t, "token_explicit_max_ttl", d["token_explicit_max_ttl"], any(int64(36000)))
	want(t, "explicit_max_ttl", d["explicit_max_ttl"], any(int64(36000)))
	want(t, "token_num_uses", d["token_num_uses"], any(3))
	want(t, "token_type", d["token_type"], any("default"))
	for _, k := range []string{"token_ttl", "token_max_ttl", "token_policies"} {
		if _, ok := d[k]; ok {
			t.Fatalf("read shows %s, not a token role field", k)
		}
	}

	// An update changes only what it carries.
	h.writeRole("web", map[string]any{"renewable": false, "token_explicit_max_ttl": 60})
	resp, _ = h.call(logical.ReadOperation, "roles/web", h.rootTok, true, nil)
	want(t, "renewable", resp.Data["renewable"], any(false))
	want(t, "orphan", resp.Data["orphan"], any(true))
	want(t, "token_explicit_max_ttl", resp.Data["token_explicit_max_ttl"], any(int64(60)))
	if _, ok := resp.Data["explicit_max_ttl"]; ok {
		t.Fatal("explicit_max_ttl still shown after token_explicit_max_ttl was set")
	}

	h.writeRole("db", nil)
	resp, err = h.call(logical.ListOperation, "roles/", h.rootTok, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantSlice(t, "keys", resp.Data["keys"].([]string), []string{"db", "web"})

	if _, err := h.call(logical.DeleteOperation, "roles/web", h.rootTok, true, nil); err != nil {
		t.Fatal(err)
	}
	resp, err = h.call(logical.ReadOperation, "roles/web", h.rootTok, true, nil)
	if err != nil || resp != nil {
		t.Fatalf("read after delete: %v %v", resp, err)
	}
	_, err = h.call(logical.UpdateOperation, "create/web", h.rootTok, true, nil)
	if statusOf(err) != 400 || messageOf(err) != "unknown role web" {
		t.Fatalf("create on a deleted role: %v", err)
	}
}

func TestRoleWriteBadInput(t *testing.T) {
	cases := []struct {
		name string
		data map[string]any
		msg  string
	}{
		{"batch periodic", map[string]any{"token_type": "batch", "token_period": "1h"}, "when set to generate periodic tokens"},
		{"unknown type", map[string]any{"token_type": "gold"}, "invalid 'token_type'"},
		{"bad cidr", map[string]any{"token_bound_cidrs": "nope"}, ""},
		{"negative period", map[string]any{"token_period": -5}, "cannot be negative"},
		{"negative uses", map[string]any{"token_num_uses": -1}, "cannot be negative"},
		{"suffix dotdot", map[string]any{"path_suffix": "a/../b"}, "invalid characters"},
		{"suffix space", map[string]any{"path_suffix": "a b"}, "invalid characters"},
		{"wrapping policy", map[string]any{"allowed_policies": "response-wrapping"}, "cannot allow policy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			before := len(h.dump())
			_, err := h.call(logical.UpdateOperation, "roles/r", h.rootTok, true, c.data)
			if statusOf(err) != 400 || !strings.Contains(messageOf(err), c.msg) {
				t.Fatalf("got %d %q, want 400 with %q", statusOf(err), messageOf(err), c.msg)
			}
			if after := len(h.dump()); after != before {
				t.Fatalf("a refused role write changed storage: %d → %d keys", before, after)
			}
		})
	}
}

func TestCreateWithRole(t *testing.T) {
	cases := []struct {
		name   string
		role   map[string]any
		sudo   bool // caller: root when true, else a plain token with [a b default]
		data   map[string]any
		errMsg string
		check  func(t *testing.T, a *logical.Auth, e *Entry)
	}{
		{name: "allowed set, none asked: allowed plus default", role: map[string]any{"allowed_policies": "x,y"}, check: func(t *testing.T, a *logical.Auth, e *Entry) {
			wantSlice(t, "policies", a.Policies, []string{"default", "x", "y"})
			want(t, "path", e.Path, "auth/token/create/r")
			want(t, "orphan", a.Orphan, false)
		}},
		{name: "allowed set, subset asked beyond the parent", role: map[string]any{"allowed_policies": "x,y"}, data: map[string]any{"policies": "x"}, check: func(t *testing.T, a *logical.Auth, _ *Entry) {
			wantSlice(t, "policies", a.Policies, []string{"default", "x"})
		}},
		{name: "allowed glob", role: map[string]any{"allowed_policies_glob": "app-*"}, data: map[string]any{"policies": "app-1"}, check: func(t *testing.T, a *logical.Auth, _ *Entry) {
			wantSlice(t, "policies", a.Policies, []string{"app-1", "default"})
		}},
		{name: "not in allowed", role: map[string]any{"allowed_policies": "x"}, data: map[string]any{"policies": "z"}, errMsg: "must be subset of the role's allowed policies"},
		{name: "disallowed asked", role: map[string]any{"disallowed_policies": "b"}, data: map[string]any{"policies": "b"}, errMsg: `token policy "b" is disallowed by this role`},
		{name: "disallowed inherited", role: map[string]any{"disallowed_policies": "b"}, errMsg: `token policy "b" is disallowed by this role`},
		{name: "disallowed glob", role: map[string]any{"allowed_policies": "x,secret-1", "disallowed_policies_glob": "secret-*"}, data: map[string]any{"policies": "secret-1"}, errMsg: `token policy "secret-1" is disallowed by this role`},
		{name: "disallowed default is left out", role: map[string]any{"allowed_policies": "x", "disallowed_policies": "default"}, check: func(t *testing.T, a *logical.Auth, _ *Entry) {
			wantSlice(t, "policies", a.Policies, []string{"x"})
		}},
		{name: "role no default policy", role: map[string]any{"allowed_policies": "x", "token_no_default_policy": true}, check: func(t *testing.T, a *logical.Auth, _ *Entry) {
			wantSlice(t, "policies", a.Policies, []string{"x"})
		}},
		{name: "no policy rules: subset of parent", role: map[string]any{}, data: map[string]any{"policies": "z"}, errMsg: "child policies must be subset of parent"},
		{name: "orphan, suffix, period, max, cidrs, uses, not renewable", role: map[string]any{
			"orphan": true, "path_suffix": "v1/x", "token_period": "2h", "token_explicit_max_ttl": "5h",
			"token_bound_cidrs": "127.0.0.1/32", "token_num_uses": 4, "renewable": false,
		}, check: func(t *testing.T, a *logical.Auth, e *Entry) {
			want(t, "orphan", a.Orphan, true)
			want(t, "path", e.Path, "auth/token/create/r/v1/x")
			want(t, "period", e.Period, 2*time.Hour)
			want(t, "lease", a.LeaseDuration, 2*time.Hour)
			want(t, "explicit max", e.ExplicitMaxTTL, 5*time.Hour)
			wantSlice(t, "cidrs", e.BoundCIDRs, []string{"127.0.0.1"})
			want(t, "uses", e.NumUses, 4)
			want(t, "renewable", e.Renewable, false)
		}},
		{name: "lesser explicit max wins", role: map[string]any{"token_explicit_max_ttl": "5h"}, data: map[string]any{"explicit_max_ttl": "1h"}, check: func(t *testing.T, _ *logical.Auth, e *Entry) {
			want(t, "explicit max", e.ExplicitMaxTTL, time.Hour)
		}},
		{name: "entity alias without identity", role: map[string]any{"allowed_entity_aliases": "alice"}, data: map[string]any{"entity_alias": "alice"}, errMsg: "'entity_alias' is not supported: no identity store"},
		{name: "entity alias not allowed", role: map[string]any{"allowed_entity_aliases": "svc-*"}, data: map[string]any{"entity_alias": "alice"}, errMsg: "invalid 'entity_alias' value"},
		{name: "root policy needs root parent", role: map[string]any{"allowed_policies": "root"}, errMsg: "root tokens may not be created without parent token being root"},
		{name: "root parent may get root", role: map[string]any{"allowed_policies": "root"}, sudo: true, check: func(t *testing.T, a *logical.Auth, _ *Entry) {
			wantSlice(t, "policies", a.Policies, []string{"root"})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.writeRole("r", c.role)
			tok := h.rootTok
			if !c.sudo {
				tok, _ = h.rootCreate(map[string]any{"policies": "a,b"})
			}
			before := len(h.dump())
			resp, err := h.call(logical.UpdateOperation, "create/r", tok, c.sudo, c.data)
			if c.errMsg != "" {
				if statusOf(err) != 400 || !strings.Contains(messageOf(err), c.errMsg) {
					t.Fatalf("got %d %q, want 400 %q", statusOf(err), messageOf(err), c.errMsg)
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
			c.check(t, resp.Auth, e)
		})
	}
}

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		p, s string
		ok   bool
	}{
		{"a", "a", true}, {"a", "ab", false}, {"a*", "ab", true}, {"*b", "ab", true},
		{"a*c", "abc", true}, {"a*c", "ab", false}, {"*", "", true}, {"a*b*c", "aXbYc", true},
		{"a*b*c", "acb", false}, {"ab*ba", "aba", false},
	} {
		if got := globMatch(c.p, c.s); got != c.ok {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.p, c.s, got, c.ok)
		}
	}
}

// FuzzRoleWriteAndCreate feeds arbitrary role bodies to auth/token/roles/r
// and then creates a token against the role with arbitrary policies: every
// answer is a success or a 4xx, never a 500; a refused role write stores
// nothing; a token that is created carries no disallowed policy and, when
// the role has allowed policies, only allowed ones (and "default").
func FuzzRoleWriteAndCreate(f *testing.F) {
	f.Add("a,b", "c", "app-*", "", "v1", "1h", "5", "127.0.0.1/32", "service", "a", true)
	f.Add("", "default", "", "secret-*", "../x", "-1", "-2", "nope", "batch", "secret-1", false)
	f.Add("root", "", "*", "*", "a/b", "soon", "", "", "DEFAULT", "root,x", true)
	f.Fuzz(func(t *testing.T, allowed, disallowed, allowedGlob, disallowedGlob, suffix, period, uses, cidrs, typ, asked string, orphan bool) {
		h := newHarness(t)
		role := map[string]any{
			"allowed_policies": allowed, "disallowed_policies": disallowed,
			"allowed_policies_glob": allowedGlob, "disallowed_policies_glob": disallowedGlob,
			"path_suffix": suffix, "token_period": period, "token_num_uses": uses,
			"token_bound_cidrs": cidrs, "token_type": typ, "orphan": orphan,
		}
		before := len(h.dump())
		_, err := h.call(logical.UpdateOperation, "roles/r", h.rootTok, true, role)
		if err != nil {
			if code := statusOf(err); code < 400 || code >= 500 {
				t.Fatalf("role %v: status %d: %v", role, code, err)
			}
			if after := len(h.dump()); after != before {
				t.Fatalf("refused role write %v changed storage", role)
			}
			return
		}
		r, err := h.store.role(h.ctx, "r")
		if err != nil || r == nil {
			t.Fatalf("role written but not read back: %v", err)
		}
		caller, _ := h.rootCreate(map[string]any{"policies": "a,b,c"})
		resp, err := h.call(logical.UpdateOperation, "create/r", caller, false, map[string]any{"policies": asked})
		if err != nil {
			if code := statusOf(err); code < 400 || code >= 500 {
				t.Fatalf("create/r %q: status %d: %v", asked, code, err)
			}
			return
		}
		for _, p := range resp.Auth.Policies {
			if slices.Contains(r.DisallowedPolicies, p) || matchesAny(r.DisallowedPoliciesGlob, p) {
				t.Fatalf("role %v gave disallowed policy %q", role, p)
			}
			if (len(r.AllowedPolicies) > 0 || len(r.AllowedPoliciesGlob) > 0) && p != DefaultPolicy &&
				!slices.Contains(r.AllowedPolicies, p) && !matchesAny(r.AllowedPoliciesGlob, p) {
				t.Fatalf("role %v gave policy %q outside the allowed ones", role, p)
			}
		}
		if e := h.lookup(resp.Auth.ClientToken); e == nil || !strings.HasPrefix(e.Path, "auth/token/create/r") {
			t.Fatalf("role token missing or on the wrong path: %+v", e)
		}
	})
}

// TestRenewFollowsRole: a role token's renewal takes the role's current
// period; the explicit max TTL only tightens; with the role deleted the
// renewal is refused and the token keeps its expiry.
func TestRenewFollowsRole(t *testing.T) {
	h := newHarness(t)
	h.writeRole("p", map[string]any{"token_period": "1h"})
	resp, err := h.call(logical.UpdateOperation, "create/p", h.rootTok, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok := resp.Auth.ClientToken
	want(t, "role", h.lookup(tok).Role, "p")

	h.writeRole("p", map[string]any{"token_period": "2h", "token_explicit_max_ttl": "90m"})
	h.clock.Advance(10 * time.Minute)
	resp, err = h.call(logical.UpdateOperation, "renew", h.rootTok, true, map[string]any{"token": tok})
	if err != nil {
		t.Fatal(err)
	}
	e := h.lookup(tok)
	want(t, "period", e.Period, 2*time.Hour)
	want(t, "explicit max", e.ExplicitMaxTTL, 90*time.Minute)
	// 2h period, capped by the explicit max counted from creation: 80m left.
	want(t, "lease", resp.Auth.LeaseDuration, 80*time.Minute)

	if _, err := h.call(logical.DeleteOperation, "roles/p", h.rootTok, true, nil); err != nil {
		t.Fatal(err)
	}
	expiry := e.ExpireTime
	_, err = h.call(logical.UpdateOperation, "renew", h.rootTok, true, map[string]any{"token": tok})
	if statusOf(err) != 400 || messageOf(err) != `original token role "p" could not be found, not renewing` {
		t.Fatalf("renew with the role gone: %d %q", statusOf(err), messageOf(err))
	}
	want(t, "expiry after a refused renewal", h.lookup(tok).ExpireTime, expiry)
}
