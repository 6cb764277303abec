package token

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

var lookupKeys = []string{
	"accessor", "creation_time", "creation_ttl", "display_name", "entity_id", "expire_time",
	"explicit_max_ttl", "id", "issue_time", "meta", "num_uses", "orphan", "path", "policies",
	"renewable", "ttl", "type",
}

func TestLookupRoutes(t *testing.T) {
	h := newHarness(t)
	parent, _ := h.rootCreate(map[string]any{"policies": "a", "ttl": "1h", "display_name": "web", "meta": map[string]any{"user": "armon"}})
	pe := h.lookup(parent)
	h.clock.Advance(10 * time.Minute)

	cases := []struct {
		name   string
		op     logical.Operation
		path   string
		caller string
		data   map[string]any
		status int
		errMsg string
		wantID string
	}{
		{name: "lookup by body", op: logical.UpdateOperation, path: "lookup", caller: h.rootTok, data: map[string]any{"token": parent}, wantID: parent},
		{name: "lookup by query", op: logical.ReadOperation, path: "lookup", caller: h.rootTok, data: map[string]any{"token": parent}, wantID: parent},
		{name: "lookup defaults to caller", op: logical.UpdateOperation, path: "lookup", caller: parent, wantID: parent},
		{name: "lookup-self GET", op: logical.ReadOperation, path: "lookup-self", caller: parent, wantID: parent},
		{name: "lookup-self POST", op: logical.UpdateOperation, path: "lookup-self", caller: parent, wantID: parent},
		{name: "lookup-accessor hides id", op: logical.UpdateOperation, path: "lookup-accessor", caller: h.rootTok, data: map[string]any{"accessor": pe.Accessor}, wantID: ""},
		{name: "lookup unknown", op: logical.UpdateOperation, path: "lookup", caller: h.rootTok, data: map[string]any{"token": "hvs.nope"}, status: 403, errMsg: "bad token"},
		{name: "lookup-accessor unknown", op: logical.UpdateOperation, path: "lookup-accessor", caller: h.rootTok, data: map[string]any{"accessor": "nope"}, status: 400, errMsg: "invalid accessor"},
		{name: "lookup-accessor missing", op: logical.UpdateOperation, path: "lookup-accessor", caller: h.rootTok, status: 400, errMsg: "missing accessor"},
		{name: "lookup-self without token", op: logical.ReadOperation, path: "lookup-self", status: 400, errMsg: "missing token ID"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := h.call(c.op, c.path, c.caller, true, c.data)
			if c.status != 0 {
				if statusOf(err) != c.status || messageOf(err) != c.errMsg {
					t.Fatalf("got %d %q, want %d %q", statusOf(err), messageOf(err), c.status, c.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d := resp.Data
			keys := logical.SortedKeys(d)
			if !slices.Equal(keys, lookupKeys) {
				t.Fatalf("fields %v, want %v", keys, lookupKeys)
			}
			want(t, "id", d["id"], any(c.wantID))
			want(t, "accessor", d["accessor"], any(pe.Accessor))
			want(t, "creation_time", d["creation_time"], any(pe.CreationTime.Unix()))
			want(t, "creation_ttl", d["creation_ttl"], any(int64(3600)))
			want(t, "ttl", d["ttl"], any(int64(3000)))
			want(t, "expire_time", d["expire_time"], any(pe.CreationTime.Add(time.Hour).Format(time.RFC3339Nano)))
			want(t, "issue_time", d["issue_time"], any(pe.CreationTime.Format(time.RFC3339Nano)))
			want(t, "display_name", d["display_name"], any("token-web"))
			want(t, "path", d["path"], any("auth/token/create"))
			want(t, "orphan", d["orphan"], any(false))
			want(t, "renewable", d["renewable"], any(true))
			want(t, "type", d["type"], any("service"))
			want(t, "entity_id", d["entity_id"], any(""))
			want(t, "num_uses", d["num_uses"], any(0))
			want(t, "explicit_max_ttl", d["explicit_max_ttl"], any(int64(0)))
			wantSlice(t, "policies", d["policies"].([]string), []string{"a", "default"})
			want(t, "meta.user", d["meta"].(map[string]string)["user"], "armon")
		})
	}

	t.Run("root token", func(t *testing.T) {
		resp, err := h.call(logical.ReadOperation, "lookup-self", h.rootTok, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		d := resp.Data
		want(t, "expire_time", d["expire_time"], nil)
		want(t, "meta", d["meta"], nil)
		want(t, "ttl", d["ttl"], any(int64(0)))
		want(t, "orphan", d["orphan"], any(true))
		want(t, "renewable", d["renewable"], any(false))
		want(t, "display_name", d["display_name"], any("root"))
		want(t, "path", d["path"], any("auth/token/root"))
	})
}

func TestRenewRoutes(t *testing.T) {
	cases := []struct {
		name     string
		create   map[string]any
		orphan   bool
		steps    []time.Duration // clock advances, each followed by a renewal
		path     string          // renew, renew-self or renew-accessor
		incr     any
		status   int
		errMsg   string
		lease    time.Duration
		warning  string
		emptyTok bool
	}{
		{name: "renew resets to the token's ttl", create: map[string]any{"ttl": "1h"}, steps: []time.Duration{30 * time.Minute}, path: "renew", lease: time.Hour},
		{name: "renew-self with increment", create: map[string]any{"ttl": "1h"}, steps: []time.Duration{30 * time.Minute}, path: "renew-self", incr: "2h", lease: 2 * time.Hour},
		{name: "renew-accessor echoes no token", create: map[string]any{"ttl": "1h"}, steps: []time.Duration{time.Minute}, path: "renew-accessor", incr: 600, lease: 10 * time.Minute, emptyTok: true},
		{name: "explicit max caps renewals", create: map[string]any{"ttl": "1h", "explicit_max_ttl": "2h"}, steps: []time.Duration{50 * time.Minute, 50 * time.Minute}, path: "renew", incr: "5h", lease: 20 * time.Minute, warning: "exceeded the effective max_ttl"},
		{name: "system max caps renewals", create: map[string]any{"ttl": "700h"}, steps: []time.Duration{600 * time.Hour}, path: "renew", incr: "700h", lease: 168 * time.Hour, warning: "TTL value is capped"},
		{name: "periodic renews to period past any max", create: map[string]any{"period": "24h"}, steps: repeat(20*time.Hour, 40), path: "renew-self", incr: "100h", lease: 24 * time.Hour},
		{name: "periodic with explicit max", create: map[string]any{"period": "1h", "explicit_max_ttl": "90m"}, steps: []time.Duration{50 * time.Minute}, path: "renew", lease: 40 * time.Minute, warning: "exceeded the effective max_ttl"},
		{name: "non-renewable", create: map[string]any{"ttl": "1h", "renewable": false}, path: "renew", status: 400, errMsg: "lease is not renewable"},
		{name: "never-expiring root", create: map[string]any{"policies": "root"}, path: "renew", status: 400, errMsg: "lease is not renewable"},
		{name: "expired", create: map[string]any{"ttl": "1h"}, steps: []time.Duration{time.Hour}, path: "renew", status: 400, errMsg: "token not found"},
		{name: "bad increment", create: map[string]any{"ttl": "1h"}, path: "renew", incr: "later", status: 400},
		{name: "unknown accessor", create: map[string]any{"ttl": "1h"}, path: "renew-accessor-unknown", status: 400, errMsg: "invalid accessor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			data := map[string]any{"policies": "a"}
			for k, v := range c.create {
				data[k] = v
			}
			tok, auth := h.rootCreate(data)
			steps := c.steps
			if len(steps) == 0 {
				steps = []time.Duration{0}
			}
			var resp *logical.Response
			var err error
			for _, d := range steps {
				h.clock.Advance(d)
				body := map[string]any{}
				if c.incr != nil {
					body["increment"] = c.incr
				}
				path, caller := c.path, h.rootTok
				switch c.path {
				case "renew":
					body["token"] = tok
				case "renew-self":
					caller = tok
				case "renew-accessor":
					body["accessor"] = auth.Accessor
				case "renew-accessor-unknown":
					path, body["accessor"] = "renew-accessor", "nope"
				}
				if resp, err = h.call(logical.UpdateOperation, path, caller, false, body); err != nil {
					break
				}
			}
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
			if c.warning != "" {
				wantWarning(t, resp.Warnings, c.warning)
			}
			wantTok := tok
			if c.emptyTok {
				wantTok = ""
			}
			want(t, "client_token", resp.Auth.ClientToken, wantTok)
			e := h.lookup(tok)
			if e == nil || e.ExpireTime != h.clock.Now().Add(c.lease) || e.LastRenewalTime != h.clock.Now() {
				t.Fatalf("entry after renew = %+v", e)
			}
		})
	}
}

func TestRenewChildCappedByParent(t *testing.T) {
	h := newHarness(t)
	parent, _ := h.rootCreate(map[string]any{"policies": "a", "ttl": "2h"})
	child, _ := h.create(parent, false, map[string]any{"ttl": "1h"})
	h.clock.Advance(45 * time.Minute)
	resp, err := h.call(logical.UpdateOperation, "renew-self", child, false, map[string]any{"increment": "2h"})
	if err != nil {
		t.Fatal(err)
	}
	want(t, "lease", resp.Auth.LeaseDuration, 75*time.Minute)
	wantWarning(t, resp.Warnings, "parent token's remaining TTL")
}

func TestRevokeRoutes(t *testing.T) {
	cases := []struct {
		name string
		path string
		sudo bool
		// plainCaller calls with a non-root token (root implies sudo).
		plainCaller bool
		target      string // a, b or "" (unknown)
		byAcc       bool
		status      int
		errMsg      string
		warning     string
		gone        []string // of a, b, c
		orphaned    []string
	}{
		{name: "revoke", path: "revoke", target: "a", gone: []string{"a", "b", "c"}},
		{name: "revoke-self", path: "revoke-self", target: "b", gone: []string{"b", "c"}},
		{name: "revoke-accessor", path: "revoke-accessor", target: "a", byAcc: true, gone: []string{"a", "b", "c"}},
		{name: "revoke-orphan", path: "revoke-orphan", sudo: true, target: "a", gone: []string{"a"}, orphaned: []string{"b"}},
		{name: "revoke unknown is fine", path: "revoke", target: ""},
		{name: "revoke missing token", path: "revoke", target: "none", status: 400, errMsg: "missing token ID"},
		{name: "revoke-accessor unknown", path: "revoke-accessor", target: "", byAcc: true, warning: "No token found with this accessor"},
		{name: "revoke-accessor missing", path: "revoke-accessor", target: "none", byAcc: true, status: 400, errMsg: "missing accessor"},
		{name: "revoke-orphan needs sudo", path: "revoke-orphan", target: "a", plainCaller: true, status: 400, errMsg: "root or sudo privileges required to revoke and orphan"},
		{name: "revoke-orphan unknown", path: "revoke-orphan", sudo: true, target: "", status: 400, errMsg: "token to revoke not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			toks := map[string]string{}
			auths := map[string]*logical.Auth{}
			toks["a"], auths["a"] = h.rootCreate(map[string]any{"policies": "p"})
			toks["b"], auths["b"] = h.create(toks["a"], false, nil)
			toks["c"], auths["c"] = h.create(toks["b"], false, nil)
			body := map[string]any{}
			caller := h.rootTok
			if c.plainCaller {
				caller, _ = h.rootCreate(map[string]any{"policies": "p"})
			}
			switch {
			case c.path == "revoke-self":
				caller = toks[c.target]
			case c.target == "none":
			case c.byAcc && c.target == "":
				body["accessor"] = "nope"
			case c.byAcc:
				body["accessor"] = auths[c.target].Accessor
			case c.target == "":
				body["token"] = "hvs.nope"
			default:
				body["token"] = toks[c.target]
			}
			resp, err := h.call(logical.UpdateOperation, c.path, caller, c.sudo, body)
			if c.status != 0 {
				if statusOf(err) != c.status || messageOf(err) != c.errMsg {
					t.Fatalf("got %d %q, want %d %q", statusOf(err), messageOf(err), c.status, c.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.warning != "" {
				wantWarning(t, resp.Warnings, c.warning)
			} else if resp != nil {
				t.Fatalf("revoke answered %+v, want nothing (204)", resp)
			}
			for _, k := range []string{"a", "b", "c"} {
				e := h.lookup(toks[k])
				if slices.Contains(c.gone, k) != (e == nil) {
					t.Errorf("%s: gone=%v, want %v", k, e == nil, slices.Contains(c.gone, k))
				}
				if e != nil && slices.Contains(c.orphaned, k) != e.Orphan {
					t.Errorf("%s: orphan=%v", k, e.Orphan)
				}
			}
		})
	}
}

func TestAccessorsList(t *testing.T) {
	h := newHarness(t)
	_, a := h.rootCreate(map[string]any{"policies": "a"})
	_, b := h.rootCreate(map[string]any{"policies": "b", "ttl": "1m"})
	plain, _ := h.rootCreate(map[string]any{"policies": "a"})
	if _, err := h.call(logical.ListOperation, "accessors/", plain, false, nil); !errors.Is(err, logical.ErrPermissionDenied) || statusOf(err) != 403 {
		t.Fatalf("list without sudo: %v", err)
	}
	// A root token has sudo even when the request does not say so.
	if _, err := h.call(logical.ListOperation, "accessors/", h.rootTok, false, nil); err != nil {
		t.Fatalf("list by root: %v", err)
	}
	list := func() []string {
		t.Helper()
		resp, err := h.call(logical.ListOperation, "accessors", h.rootTok, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Data["keys"].([]string)
	}
	all := []string{h.root.Accessor, a.Accessor, b.Accessor, h.lookup(plain).Accessor}
	slices.Sort(all)
	wantSlice(t, "keys", list(), all)
	h.clock.Advance(2 * time.Minute) // b expires
	all = slices.DeleteFunc(all, func(s string) bool { return s == b.Accessor })
	wantSlice(t, "keys after expiry", list(), all)
	sp := h.backend.SpecialPaths()
	if !slices.Contains(sp.Root, "accessors*") || !slices.Contains(sp.Root, "revoke-orphan*") {
		t.Fatalf("root paths = %v", sp.Root)
	}
}

func TestTidyRoute(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.rootCreate(map[string]any{"policies": "a", "ttl": "1m"})
	id := h.lookup(tok).ID
	h.clock.Advance(time.Hour)
	resp, err := h.call(logical.UpdateOperation, "tidy", h.rootTok, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantWarning(t, resp.Warnings, "Tidy operation")
	if h.revokeCount(id) != 1 || len(h.keysUnder("id/"+id)) != 0 {
		t.Fatal("tidy route did not remove the expired token")
	}
}

func TestUnknownPath(t *testing.T) {
	h := newHarness(t)
	if _, err := h.call(logical.ReadOperation, "nope/x", h.rootTok, true, nil); statusOf(err) != 404 {
		t.Fatalf("unknown path: %v", err)
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}
