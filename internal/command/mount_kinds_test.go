package command

import (
	"net/http"
	"strings"
	"testing"
)

// TestMountCommandsPerKind pins what "auth" and "secrets" disable, list and
// tune (built by the same code) say and send for each kind, on success and
// on a server error.
func TestMountCommandsPerKind(t *testing.T) {
	failure := map[string]any{"errors": []string{"permission denied"}}
	cases := []struct {
		name    string
		route   string // the request the command makes
		args    []string
		stdout  string // on success
		failMsg string // stderr prefix on a 403
	}{
		{"auth disable", "DELETE /v1/sys/auth/corp", []string{"auth", "disable", "corp"},
			"Success! Disabled the auth method (if it existed) at: corp/\n", "Error disabling auth method at corp/: "},
		{"secrets disable", "DELETE /v1/sys/mounts/team", []string{"secrets", "disable", "/team/"},
			"Success! Disabled the secrets engine (if it existed) at: team/\n", "Error disabling secrets engine at team/: "},
		{"auth tune", "PUT /v1/sys/auth/corp/tune", []string{"auth", "tune", "-max-lease-ttl=1h", "corp"},
			"Success! Tuned the auth method at: corp/\n", "Error tuning auth method corp/: "},
		{"secrets tune", "PUT /v1/sys/mounts/team/tune", []string{"secrets", "tune", "-max-lease-ttl=1h", "team"},
			"Success! Tuned the secrets engine at: team/\n", "Error tuning secrets engine team/: "},
		{"auth list", "GET /v1/sys/auth", []string{"auth", "list", "-format=json"},
			"{}\n", "Error listing enabled authentications: "},
		{"secrets list", "GET /v1/sys/mounts", []string{"secrets", "list", "-format=json"},
			"{}\n", "Error listing secrets engines: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeVault(t)
			status, body := http.StatusNoContent, any(nil)
			if strings.HasPrefix(c.route, "GET ") {
				status, body = http.StatusOK, map[string]any{"data": map[string]any{}}
			}
			f.on(c.route, status, body)
			res := newCLI(t, f.srv.URL).run("", c.args...).want(t, 0)
			if res.stdout != c.stdout {
				t.Errorf("stdout %q, want %q", res.stdout, c.stdout)
			}
			f.only(c.route)

			f = newFakeVault(t)
			f.on(c.route, http.StatusForbidden, failure)
			res = newCLI(t, f.srv.URL).run("", c.args...).want(t, exitAPI)
			if !strings.HasPrefix(res.stderr, c.failMsg) || !strings.Contains(res.stderr, "* permission denied") {
				t.Errorf("stderr %q, want the prefix %q", res.stderr, c.failMsg)
			}
		})
	}
}

// TestMountEnableAndTuneBodies pins the request bodies built from the
// shared mount flags: enable sends the enable-only settings given, tune the
// description, plugin version and options given, and neither sends what
// was not set.
func TestMountEnableAndTuneBodies(t *testing.T) {
	f := newFakeVault(t)
	f.on("PUT /v1/sys/auth/corp", 204, nil)
	f.on("PUT /v1/sys/mounts/team", 204, nil)
	f.on("PUT /v1/sys/auth/corp/tune", 204, nil)
	f.on("PUT /v1/sys/mounts/team/tune", 204, nil)
	c := newCLI(t, f.srv.URL)

	enableFlags := []string{"-local", "-seal-wrap", "-external-entropy-access", "-plugin-version=v1.2.3", "-options=k=v"}
	c.run("", append(append([]string{"auth", "enable", "-path=corp"}, enableFlags...), "userpass")...).want(t, 0)
	c.run("", append(append([]string{"secrets", "enable", "-path=team"}, enableFlags...), "transit")...).want(t, 0)
	for route, typ := range map[string]string{"PUT /v1/sys/auth/corp": "userpass", "PUT /v1/sys/mounts/team": "transit"} {
		b := f.only(route).Body
		opts, _ := b["options"].(map[string]any)
		if b["type"] != typ || b["local"] != true || b["seal_wrap"] != true || b["external_entropy_access"] != true ||
			b["plugin_version"] != "v1.2.3" || opts["k"] != "v" || b["description"] != "" {
			t.Errorf("%s: body %v", route, b)
		}
		if cfg, _ := b["config"].(map[string]any); len(cfg) != 0 {
			t.Errorf("%s: config %v, want none set", route, cfg)
		}
	}

	tuneFlags := []string{"-description=d", "-plugin-version=v2", "-options=k=v"}
	c.run("", append(append([]string{"auth", "tune"}, tuneFlags...), "corp")...).want(t, 0)
	c.run("", append(append([]string{"secrets", "tune"}, tuneFlags...), "team")...).want(t, 0)
	for _, route := range []string{"PUT /v1/sys/auth/corp/tune", "PUT /v1/sys/mounts/team/tune"} {
		b := f.only(route).Body
		opts, _ := b["options"].(map[string]any)
		if len(b) != 3 || b["description"] != "d" || b["plugin_version"] != "v2" || opts["k"] != "v" {
			t.Errorf("%s: body %v", route, b)
		}
	}
}

// TestKVPreReadIsNeverTheCurlString checks that rollback and patch
// -method=rw print the curl string of their write, not of the read before
// it, and that a failing pre-read is reported as such.
func TestKVPreReadIsNeverTheCurlString(t *testing.T) {
	f := newFakeVault(t)
	f.kvMount("secret/", 2)
	f.on("GET /v1/secret/data/creds", 200, kvV2Read())
	c := newCLI(t, f.srv.URL)
	for _, args := range [][]string{
		{"kv", "rollback", "-output-curl-string", "-version=1", "secret/creds"},
		{"kv", "patch", "-output-curl-string", "-method=rw", "secret/creds", "admin=new"},
	} {
		res := c.run("", args...).want(t, 0)
		if !strings.HasPrefix(res.stdout, "curl -X PUT ") || !strings.Contains(res.stdout, "/v1/secret/data/creds") {
			t.Errorf("%v: stdout %q, want the write's curl string", args, res.stdout)
		}
	}
	if n := len(f.requests("PUT /v1/secret/data/creds")); n != 0 {
		t.Errorf("%d writes sent with -output-curl-string", n)
	}

	f = newFakeVault(t)
	f.kvMount("secret/", 2)
	f.on("GET /v1/secret/data/creds", 500, map[string]any{"errors": []string{"boom"}})
	c = newCLI(t, f.srv.URL)
	for _, args := range [][]string{
		{"kv", "rollback", "-version=1", "secret/creds"},
		{"kv", "patch", "-method=rw", "secret/creds", "admin=new"},
	} {
		res := c.run("", args...).want(t, exitAPI)
		if !strings.HasPrefix(res.stderr, "Error doing pre-read at secret/data/creds: ") {
			t.Errorf("%v: stderr %q", args, res.stderr)
		}
	}
}

// TestKVRollbackNeedsVersionMetadata checks rollback refuses when either
// the latest or the wanted version comes back without metadata.
func TestKVRollbackNeedsVersionMetadata(t *testing.T) {
	for _, bare := range []string{"", "1"} {
		f := newFakeVault(t)
		f.kvMount("secret/", 2)
		f.onFunc("GET /v1/secret/data/creds", func(w http.ResponseWriter, r *http.Request) {
			body := kvV2Read()
			if r.URL.Query().Get("version") == bare {
				delete(body["data"].(map[string]any), "metadata")
			}
			writeJSON(w, 200, body)
		})
		res := newCLI(t, f.srv.URL).run("", "kv", "rollback", "-version=1", "secret/creds").want(t, exitAPI)
		if res.stderr != "No metadata found at secret/data/creds\n" {
			t.Errorf("version %q bare: stderr %q", bare, res.stderr)
		}
		if n := len(f.requests("PUT /v1/secret/data/creds")); n != 0 {
			t.Errorf("version %q bare: %d writes", bare, n)
		}
	}
}
