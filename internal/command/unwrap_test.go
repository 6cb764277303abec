package command

import (
	"net/http"
	"strings"
	"testing"
)

// wrappedEnvelope is a response the server wrapped: only wrap_info.
func wrappedEnvelope(creationPath, wrappedAccessor string) map[string]any {
	return map[string]any{
		"request_id": "r1", "lease_id": "", "renewable": false, "lease_duration": 0, "data": nil,
		"wrap_info": map[string]any{
			"token": "hvs.wrapping", "accessor": "wacc", "ttl": 300,
			"creation_time": "2026-12-07T19:00:00.5Z", "creation_path": creationPath, "wrapped_accessor": wrappedAccessor,
		},
	}
}

func TestUnwrap(t *testing.T) {
	f := newFakeVault(t)
	f.on("PUT /v1/sys/wrapping/unwrap", 200, map[string]any{"data": map[string]any{"user": "alice", "pass": "s3cret"}})
	c := newCLI(t, f.srv.URL)

	// A token argument while the CLI has its own: the CLI's token
	// authenticates, the argument goes in the body.
	c.env["VAULT_TOKEN"] = "own-token"
	res := c.run("", "unwrap", "hvs.wrapping").want(t, 0)
	r := f.requests("PUT /v1/sys/wrapping/unwrap")[0]
	if r.Header.Get("X-Vault-Token") != "own-token" || r.Body["token"] != "hvs.wrapping" {
		t.Errorf("with own token: header %q body %v", r.Header.Get("X-Vault-Token"), r.Body)
	}
	for _, want := range []string{"pass    s3cret", "user    alice"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("unwrap output lacks %q:\n%s", want, res.stdout)
		}
	}

	// No argument: the CLI's token is the wrapping token.
	c.env["VAULT_TOKEN"] = "hvs.wrapping"
	c.run("", "unwrap").want(t, 0)
	// A token argument and no token of its own: the argument authenticates.
	delete(c.env, "VAULT_TOKEN")
	c.run("", "unwrap", "hvs.wrapping").want(t, 0)
	for i, r := range f.requests("PUT /v1/sys/wrapping/unwrap")[1:] {
		if r.Header.Get("X-Vault-Token") != "hvs.wrapping" || r.Body["token"] != nil {
			t.Errorf("request %d: header %q body %v", i+2, r.Header.Get("X-Vault-Token"), r.Body)
		}
	}

	if res := c.run("", "unwrap", "-field=pass", "hvs.wrapping").want(t, 0); res.stdout != "s3cret" {
		t.Errorf("-field: %q", res.stdout)
	}
	res = c.run("", "unwrap", "-format=json", "hvs.wrapping").want(t, 0)
	if d := jsonOut(t, res.stdout)["data"].(map[string]any); d["user"] != "alice" {
		t.Errorf("json: %s", res.stdout)
	}

	// A wrapped LIST unwraps to keys, printed as list prints them.
	f.on("PUT /v1/sys/wrapping/unwrap", 200, map[string]any{"data": map[string]any{"keys": []string{"a", "b/"}}})
	if res := c.run("", "unwrap", "hvs.wrapping").want(t, 0); res.stdout != "Keys\n----\na\nb/\n" {
		t.Errorf("list: %q", res.stdout)
	}
	if res := c.run("", "unwrap", "-format=json", "hvs.wrapping").want(t, 0); strings.Join(strings.Fields(res.stdout), "") != `["a","b/"]` {
		t.Errorf("list json: %q", res.stdout)
	}

	// A wrapped token creation unwraps to the token's auth block.
	f.on("PUT /v1/sys/wrapping/unwrap", 200, map[string]any{"auth": map[string]any{
		"client_token": "hvs.child", "accessor": "acc-c", "policies": []string{"default"},
		"token_policies": []string{"default"}, "lease_duration": 3600, "renewable": true,
	}})
	res = c.run("", "unwrap", "hvs.wrapping").want(t, 0)
	for _, want := range []string{"token                hvs.child", "token_accessor       acc-c", "token_duration       1h"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("unwrapped token output lacks %q:\n%s", want, res.stdout)
		}
	}
	if res := c.run("", "unwrap", "-field=token", "hvs.wrapping").want(t, 0); res.stdout != "hvs.child" {
		t.Errorf("-field=token: %q", res.stdout)
	}

	before := len(f.requests("PUT /v1/sys/wrapping/unwrap"))
	if res := c.run("", "unwrap", "a", "b").want(t, 1); !strings.Contains(res.stderr, "Too many arguments (expected 0-1, got 2)") {
		t.Errorf("two tokens: %q", res.stderr)
	}
	if n := len(f.requests("PUT /v1/sys/wrapping/unwrap")); n != before {
		t.Errorf("a usage error sent a request")
	}

	f.on("PUT /v1/sys/wrapping/unwrap", 400, map[string]any{"errors": []string{"wrapping token is not valid or does not exist"}})
	res = c.run("", "unwrap", "hvs.used").want(t, 2)
	if !strings.HasPrefix(res.stderr, "Error unwrapping: ") || !strings.Contains(res.stderr, "wrapping token is not valid or does not exist") {
		t.Errorf("used token: %q", res.stderr)
	}
	f.on("PUT /v1/sys/wrapping/unwrap", 204, nil)
	if res := c.run("", "unwrap", "hvs.empty").want(t, 2); !strings.Contains(res.stderr, "Could not find wrapped response") {
		t.Errorf("empty: %q", res.stderr)
	}
}

// TestWrapTTLWrapsWhatCommandsPrint: with -wrap-ttl (or VAULT_WRAP_TTL)
// the command's request carries X-Vault-Wrap-TTL and a wrapped response
// prints as Vault prints it; the requests a command makes on the way
// (KV preflight, pre-reads) are never wrapped.
func TestWrapTTLWrapsWhatCommandsPrint(t *testing.T) {
	f := newFakeVault(t)
	f.kvMount("secret/", 2)
	f.kvMount("kv1/", 1)
	version1 := map[string]any{"data": map[string]any{"data": map[string]any{"k": "v"}, "metadata": map[string]any{"version": 1}}}
	// A pre-read is wrapped only if it asks to be: then the command
	// would compute its write from wrap_info instead of the data.
	f.onFunc("GET /v1/secret/data/app", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Vault-Wrap-Ttl") != "" {
			writeJSON(w, 200, wrappedEnvelope("secret/data/app", ""))
			return
		}
		writeJSON(w, 200, version1)
	})
	for _, route := range []string{
		"GET /v1/kv1/app", "PUT /v1/secret/data/app", "PATCH /v1/secret/data/app", "LIST /v1/secret/metadata",
		"GET /v1/secret/metadata/app", "PUT /v1/auth/token/create", "GET /v1/auth/token/lookup-self",
		"PUT /v1/sys/leases/lookup", "PUT /v1/sys/leases/renew", "PUT /v1/sys/wrapping/unwrap", "PUT /v1/any/path",
	} {
		f.on(route, 200, wrappedEnvelope(strings.TrimPrefix(strings.SplitN(route, " ", 2)[1], "/v1/"), ""))
	}
	c := newCLI(t, f.srv.URL)
	c.env["VAULT_TOKEN"] = "root"

	runs := []struct {
		args  []string
		route string // the request that must carry the wrap TTL
	}{
		{[]string{"read", "secret/data/app"}, "GET /v1/secret/data/app"},
		{[]string{"write", "any/path", "a=b"}, "PUT /v1/any/path"},
		{[]string{"list", "secret/metadata"}, "LIST /v1/secret/metadata"},
		{[]string{"kv", "get", "secret/app"}, "GET /v1/secret/data/app"},
		{[]string{"kv", "get", "kv1/app"}, "GET /v1/kv1/app"},
		{[]string{"kv", "put", "secret/app", "k=v"}, "PUT /v1/secret/data/app"},
		{[]string{"kv", "patch", "secret/app", "k=w"}, "PATCH /v1/secret/data/app"},
		{[]string{"kv", "patch", "-method=rw", "secret/app", "k=w"}, "PUT /v1/secret/data/app"},
		{[]string{"kv", "rollback", "-version=1", "secret/app"}, "PUT /v1/secret/data/app"},
		{[]string{"kv", "list", "secret/"}, "LIST /v1/secret/metadata"},
		{[]string{"kv", "metadata", "get", "secret/app"}, "GET /v1/secret/metadata/app"},
		{[]string{"token", "create"}, "PUT /v1/auth/token/create"},
		{[]string{"token", "lookup"}, "GET /v1/auth/token/lookup-self"},
		{[]string{"lease", "lookup", "a/b"}, "PUT /v1/sys/leases/lookup"},
		{[]string{"lease", "renew", "a/b"}, "PUT /v1/sys/leases/renew"},
		{[]string{"unwrap", "hvs.other"}, "PUT /v1/sys/wrapping/unwrap"},
	}
	for _, viaEnv := range []bool{false, true} {
		for _, run := range runs {
			f.mu.Lock()
			f.reqs = nil
			f.mu.Unlock()
			args := append([]string{"-wrap-ttl=5m"}, run.args...)
			delete(c.env, "VAULT_WRAP_TTL")
			if viaEnv {
				args = run.args
				c.env["VAULT_WRAP_TTL"] = "5m"
			}
			res := c.run("", args...).want(t, 0)
			path := strings.SplitN(run.route, " ", 2)[1]
			want := []string{
				"wrapping_token:                  hvs.wrapping",
				"wrapping_accessor:               wacc",
				"wrapping_token_ttl:              5m",
				"wrapping_token_creation_time:    2026-12-07 19:00:00.5 +0000 UTC",
				"wrapping_token_creation_path:    ",
			}
			for _, w := range want {
				if !strings.Contains(res.stdout, w) {
					t.Errorf("%v (env %v): output lacks %q:\n%s", run.args, viaEnv, w, res.stdout)
				}
			}
			rs := f.requests(run.route)
			if len(rs) == 0 || rs[len(rs)-1].Header.Get("X-Vault-Wrap-Ttl") != "5m" {
				t.Errorf("%v (env %v): %s not sent with the wrap TTL", run.args, viaEnv, path)
			}
			f.mu.Lock()
			for i, r := range f.reqs {
				last := i == len(f.reqs)-1
				if !last && r.Header.Get("X-Vault-Wrap-Ttl") != "" {
					t.Errorf("%v (env %v): auxiliary request %s %s was wrapped", run.args, viaEnv, r.Method, r.Path)
				}
			}
			f.mu.Unlock()
		}
	}
	delete(c.env, "VAULT_WRAP_TTL")

	// JSON prints wrap_info; -field picks a wrapping field, in kv get too.
	res := c.run("", "read", "-wrap-ttl=5m", "-format=json", "secret/data/app").want(t, 0)
	wi, _ := jsonOut(t, res.stdout)["wrap_info"].(map[string]any)
	if wi["token"] != "hvs.wrapping" || wi["ttl"] != 300.0 || wi["creation_path"] != "secret/data/app" || wi["accessor"] != "wacc" {
		t.Errorf("json wrap_info: %s", res.stdout)
	}
	if res := c.run("", "kv", "get", "-wrap-ttl=5m", "-field=wrapping_token", "secret/app").want(t, 0); res.stdout != "hvs.wrapping" {
		t.Errorf("kv get -field=wrapping_token: %q", res.stdout)
	}
	if res := c.run("", "read", "-wrap-ttl=5m", "-format=yaml", "secret/data/app").want(t, 0); !strings.Contains(res.stdout, "wrap_info:\n  accessor: wacc") {
		t.Errorf("yaml: %s", res.stdout)
	}

	// A wrapped token shows the accessor of the token inside.
	f.on("PUT /v1/auth/token/create", 200, wrappedEnvelope("auth/token/create", "acc-inside"))
	res = c.run("", "token", "create", "-wrap-ttl=90s").want(t, 0)
	if !strings.Contains(res.stdout, "wrapped_accessor:                acc-inside") || !strings.Contains(res.stdout, "wrapping_token_creation_path:    auth/token/create") {
		t.Errorf("wrapped token create:\n%s", res.stdout)
	}
	if r := f.requests("PUT /v1/auth/token/create"); r[len(r)-1].Header.Get("X-Vault-Wrap-Ttl") != "90s" {
		t.Errorf("wrap TTL sent: %q", r[len(r)-1].Header.Get("X-Vault-Wrap-Ttl"))
	}

	// sys/wrapping/wrap is wrapped with Vault's default 5m when no TTL is
	// given; -wrap-ttl overrides it.
	f.on("PUT /v1/sys/wrapping/wrap", 200, wrappedEnvelope("sys/wrapping/wrap", ""))
	c.run("", "write", "sys/wrapping/wrap", "pass=s3cret").want(t, 0)
	c.run("", "write", "-wrap-ttl=30s", "sys/wrapping/wrap", "pass=s3cret").want(t, 0)
	for i, want := range []string{"5m", "30s"} {
		if got := f.requests("PUT /v1/sys/wrapping/wrap")[i].Header.Get("X-Vault-Wrap-Ttl"); got != want {
			t.Errorf("sys/wrapping/wrap %d: wrap TTL %q, want %q", i, got, want)
		}
	}

	// Without a wrap TTL nothing is wrapped; a bad one is refused locally.
	f.mu.Lock()
	f.reqs = nil
	f.mu.Unlock()
	c.run("", "read", "secret/data/app").want(t, 0)
	if r := f.only("GET /v1/secret/data/app"); r.Header.Get("X-Vault-Wrap-Ttl") != "" {
		t.Errorf("unwrapped read sent %q", r.Header.Get("X-Vault-Wrap-Ttl"))
	}
	c.run("", "read", "-wrap-ttl=0", "secret/data/app").want(t, 0)
	c.env["VAULT_WRAP_TTL"] = "0s"
	c.run("", "read", "secret/data/app").want(t, 0)
	for _, r := range f.requests("GET /v1/secret/data/app") {
		if v := r.Header.Get("X-Vault-Wrap-Ttl"); v != "" {
			t.Errorf("a zero wrap TTL sent %q", v)
		}
	}
	c.run("", "read", "-wrap-ttl=-1s", "secret/data/app").want(t, 1)
	c.env["VAULT_WRAP_TTL"] = "later"
	if res := c.run("", "read", "secret/data/app").want(t, 1); !strings.Contains(res.stderr, "VAULT_WRAP_TTL") {
		t.Errorf("bad VAULT_WRAP_TTL: %q", res.stderr)
	}
	if n := len(f.requests("GET /v1/secret/data/app")); n != 3 {
		t.Errorf("bad wrap TTLs sent %d requests", n-3)
	}
}

// TestLoginWithWrapTTL: as Vault's, login unwraps a wrapped login response
// (with the wrapping token, unwrapped itself) and stores the token inside;
// with -no-store or -token-only the wrapped response is printed instead.
func TestLoginWithWrapTTL(t *testing.T) {
	f := newFakeVault(t)
	f.on("PUT /v1/auth/userpass/login/alice", 200, wrappedEnvelope("auth/userpass/login/alice", "acc-alice"))
	f.on("PUT /v1/sys/wrapping/unwrap", 200, map[string]any{"auth": map[string]any{
		"client_token": "hvs.alice", "accessor": "acc-alice", "policies": []string{"default"},
		"token_policies": []string{"default"}, "lease_duration": 3600, "renewable": true,
	}})
	c := newCLI(t, f.srv.URL)

	res := c.run("", "login", "-wrap-ttl=1m", "-method=userpass", "username=alice", "password=pw").want(t, 0)
	if got := f.only("PUT /v1/auth/userpass/login/alice").Header.Get("X-Vault-Wrap-Ttl"); got != "1m" {
		t.Errorf("login wrap TTL %q", got)
	}
	u := f.only("PUT /v1/sys/wrapping/unwrap")
	if u.Header.Get("X-Vault-Token") != "hvs.wrapping" || u.Header.Get("X-Vault-Wrap-Ttl") != "" || u.Body["token"] != nil {
		t.Errorf("unwrap request: token %q wrap %q body %v", u.Header.Get("X-Vault-Token"), u.Header.Get("X-Vault-Wrap-Ttl"), u.Body)
	}
	if storedToken(t, c) != "hvs.alice" || !strings.Contains(res.stdout, "token                hvs.alice") {
		t.Errorf("stored %q, output:\n%s", storedToken(t, c), res.stdout)
	}

	c = newCLI(t, f.srv.URL)
	res = c.run("", "login", "-wrap-ttl=1m", "-no-store", "-method=userpass", "username=alice", "password=pw").want(t, 0)
	if !strings.Contains(res.stdout, "wrapping_token:                  hvs.wrapping") || !strings.Contains(res.stdout, "wrapped_accessor:                acc-alice") {
		t.Errorf("-no-store output:\n%s", res.stdout)
	}
	if res := c.run("", "login", "-wrap-ttl=1m", "-token-only", "-method=userpass", "username=alice", "password=pw").want(t, 0); res.stdout != "hvs.wrapping" {
		t.Errorf("-token-only: %q", res.stdout)
	}
	if storedToken(t, c) != "" || len(f.requests("PUT /v1/sys/wrapping/unwrap")) != 1 {
		t.Errorf("-no-store/-token-only stored %q or unwrapped", storedToken(t, c))
	}
}
