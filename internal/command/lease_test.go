package command

import (
	"strings"
	"testing"
)

func TestLeaseLookup(t *testing.T) {
	f := newFakeVault(t)
	f.on("PUT /v1/sys/leases/lookup", 200, map[string]any{"data": map[string]any{
		"id": "auth/token/create/abc", "issue_time": "2026-12-07T19:00:00Z", "expire_time": "2026-12-07T20:00:00Z",
		"last_renewal": nil, "renewable": true, "ttl": 3599,
	}})
	c := newCLI(t, f.srv.URL)

	res := c.run("", "lease", "lookup", " auth/token/create/abc ").want(t, 0)
	if b := f.only("PUT /v1/sys/leases/lookup").Body; b["lease_id"] != "auth/token/create/abc" {
		t.Errorf("body %v", b)
	}
	for _, want := range []string{"id              auth/token/create/abc", "ttl             59m59s", "renewable       true", "expire_time     2026-12-07T20:00:00Z"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("lookup output lacks %q:\n%s", want, res.stdout)
		}
	}
	res = c.run("", "lease", "lookup", "-format=json", "auth/token/create/abc").want(t, 0)
	if out := jsonOut(t, res.stdout); out["data"].(map[string]any)["ttl"] != 3599.0 {
		t.Errorf("json: %s", res.stdout)
	}
	if res := c.run("", "lease", "lookup", "-field=ttl", "auth/token/create/abc").want(t, 0); res.stdout != "3599" {
		t.Errorf("-field=ttl: %q", res.stdout)
	}

	before := len(f.requests("PUT /v1/sys/leases/lookup"))
	if res := c.run("", "lease", "lookup").want(t, 1); !strings.Contains(res.stderr, "Missing ID!") {
		t.Errorf("no id: %q", res.stderr)
	}
	if res := c.run("", "lease", "lookup", "a", "b").want(t, 1); !strings.Contains(res.stderr, "Too many arguments (expected 1, got 2)") {
		t.Errorf("two ids: %q", res.stderr)
	}
	if n := len(f.requests("PUT /v1/sys/leases/lookup")); n != before {
		t.Errorf("a usage error sent %d requests", n-before)
	}

	f.on("PUT /v1/sys/leases/lookup", 400, map[string]any{"errors": []string{"invalid lease"}})
	res = c.run("", "lease", "lookup", "nope/1").want(t, 2)
	if !strings.Contains(res.stderr, "error looking up lease id nope/1: ") || !strings.Contains(res.stderr, "invalid lease") {
		t.Errorf("unknown lease: %q", res.stderr)
	}
}

func TestLeaseRenew(t *testing.T) {
	f := newFakeVault(t)
	f.on("PUT /v1/sys/leases/renew", 200, map[string]any{"lease_id": "db/creds/ro/x1", "renewable": true, "lease_duration": 3600})
	c := newCLI(t, f.srv.URL)

	res := c.run("", "lease", "renew", "-increment=1h", "db/creds/ro/x1").want(t, 0)
	for _, want := range []string{"lease_id           db/creds/ro/x1", "lease_duration     1h", "lease_renewable    true"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("renew output lacks %q:\n%s", want, res.stdout)
		}
	}
	c.run("", "lease", "renew", "db/creds/ro/x1").want(t, 0)
	c.run("", "lease", "renew", "-increment=90", "db/creds/ro/x1").want(t, 0)
	rs := f.requests("PUT /v1/sys/leases/renew")
	for i, want := range []string{"3600", "0", "90"} {
		if b := rs[i].Body; b["lease_id"] != "db/creds/ro/x1" || b["increment"] != num(want) {
			t.Errorf("renew %d body %v, want increment %s", i, b, want)
		}
	}
	if res := c.run("", "lease", "renew", "-format=json", "db/creds/ro/x1").want(t, 0); jsonOut(t, res.stdout)["lease_duration"] != 3600.0 {
		t.Errorf("json: %s", res.stdout)
	}

	for _, bad := range [][]string{{}, {"a", "b"}, {"-increment=-5s", "a"}, {"-increment=soon", "a"}} {
		c.run("", append([]string{"lease", "renew"}, bad...)...).want(t, 1)
	}
	if n := len(f.requests("PUT /v1/sys/leases/renew")); n != 4 {
		t.Errorf("usage errors sent requests: %d renewals, want 4", n)
	}

	f.on("PUT /v1/sys/leases/renew", 400, map[string]any{"errors": []string{"lease is not renewable"}})
	if res := c.run("", "lease", "renew", "db/creds/ro/x1").want(t, 2); !strings.Contains(res.stderr, "Error renewing db/creds/ro/x1: ") ||
		!strings.Contains(res.stderr, "lease is not renewable") {
		t.Errorf("refused renew: %q", res.stderr)
	}
}

func TestLeaseRevoke(t *testing.T) {
	f := newFakeVault(t)
	f.on("PUT /v1/sys/leases/revoke/*", 204, nil)
	f.on("PUT /v1/sys/leases/revoke-prefix/*", 204, nil)
	f.on("PUT /v1/sys/leases/revoke-force/*", 204, nil)
	c := newCLI(t, f.srv.URL)

	cases := []struct {
		args   []string
		route  string
		sync   any // the body's "sync"; nil: no body
		stdout string
	}{
		{[]string{"db/creds/ro/x1"}, "PUT /v1/sys/leases/revoke/db/creds/ro/x1", false, "All revocation operations queued successfully!\n"},
		{[]string{"-sync", "db/creds/ro/x2"}, "PUT /v1/sys/leases/revoke/db/creds/ro/x2", true, "Success! Revoked lease: db/creds/ro/x2\n"},
		{[]string{"-prefix", "db/creds/ro"}, "PUT /v1/sys/leases/revoke-prefix/db/creds/ro", false, "All revocation operations queued successfully!\n"},
		{[]string{"-prefix", "-sync", "auth/userpass/login"}, "PUT /v1/sys/leases/revoke-prefix/auth/userpass/login", true, "Success! Revoked any leases with prefix: auth/userpass/login\n"},
		{[]string{"-force", "-prefix", "db/creds"}, "PUT /v1/sys/leases/revoke-force/db/creds", nil, "Success! Force revoked any leases with prefix: db/creds\n"},
		{[]string{"-f", "-prefix", "consul/creds"}, "PUT /v1/sys/leases/revoke-force/consul/creds", nil, "Success! Force revoked any leases with prefix: consul/creds\n"},
	}
	for _, tc := range cases {
		res := c.run("", append([]string{"lease", "revoke"}, tc.args...)...).want(t, 0)
		if res.stdout != tc.stdout {
			t.Errorf("%v: stdout %q, want %q", tc.args, res.stdout, tc.stdout)
		}
		r := f.only(tc.route)
		if tc.sync == nil {
			if r.Raw != "" {
				t.Errorf("%v: force revoke sent a body %q", tc.args, r.Raw)
			}
			if !strings.Contains(res.stderr, "Warning! Force-removing leases can cause Strongbox to become out of sync") {
				t.Errorf("%v: no warning on stderr: %q", tc.args, res.stderr)
			}
		} else if r.Body["sync"] != tc.sync {
			t.Errorf("%v: body %v, want sync %v", tc.args, r.Body, tc.sync)
		}
	}

	total := len(f.reqs)
	if res := c.run("", "lease", "revoke", "-force", "db/creds").want(t, 1); !strings.Contains(res.stderr, "Specifying -force requires also specifying -prefix") {
		t.Errorf("-force without -prefix: %q", res.stderr)
	}
	c.run("", "lease", "revoke").want(t, 1)
	c.run("", "lease", "revoke", "a", "b").want(t, 1)
	if len(f.reqs) != total {
		t.Errorf("usage errors sent %d requests", len(f.reqs)-total)
	}

	denied := map[string]any{"errors": []string{"1 error occurred:\n\t* permission denied\n\n"}}
	f.on("PUT /v1/sys/leases/revoke/*", 400, map[string]any{"errors": []string{"invalid lease"}})
	f.on("PUT /v1/sys/leases/revoke-prefix/*", 403, denied)
	f.on("PUT /v1/sys/leases/revoke-force/*", 403, denied)
	for args, want := range map[string]string{
		"nope/1":               "Error revoking lease nope/1: ",
		"-prefix db":           "Error revoking leases with prefix db: ",
		"-force -prefix db/rw": "Error force revoking leases with prefix db/rw: ",
	} {
		res := c.run("", append([]string{"lease", "revoke"}, strings.Fields(args)...)...).want(t, 2)
		if !strings.Contains(res.stderr, want) {
			t.Errorf("%s: stderr %q, want %q", args, res.stderr, want)
		}
	}
}

// TestTokenRevokeModePathUsesRevokePrefix: like Vault's, -mode=path revokes
// the tokens created under the path through sys/leases/revoke-prefix.
func TestTokenRevokeModePathUsesRevokePrefix(t *testing.T) {
	f := newFakeVault(t)
	f.on("PUT /v1/sys/leases/revoke-prefix/*", 204, nil)
	c := newCLI(t, f.srv.URL)
	res := c.run("", "token", "revoke", "-mode=path", "/auth/userpass/login/").want(t, 0)
	if res.stdout != "Success! Revoked token (if it existed)\n" {
		t.Errorf("stdout %q", res.stdout)
	}
	if r := f.only("PUT /v1/sys/leases/revoke-prefix/auth/userpass/login"); r.Raw != "" {
		t.Errorf("body %q", r.Raw)
	}
}
