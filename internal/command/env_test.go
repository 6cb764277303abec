package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestEnvironAliasPrecedence(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"vault only", map[string]string{"VAULT_ADDR": "v"}, "v"},
		{"alias only", map[string]string{"STRONGBOX_ADDR": "s"}, "s"},
		{"both: VAULT wins", map[string]string{"VAULT_ADDR": "v", "STRONGBOX_ADDR": "s"}, "v"},
		{"empty VAULT falls back", map[string]string{"VAULT_ADDR": "", "STRONGBOX_ADDR": "s"}, "s"},
		{"neither", map[string]string{}, ""},
	}
	for _, c := range cases {
		if got := mapEnviron(c.env).get("VAULT_ADDR"); got != c.want {
			t.Errorf("%s: get = %q, want %q", c.name, got, c.want)
		}
	}
	if aliasOf("VAULT_SKIP_VERIFY") != "STRONGBOX_SKIP_VERIFY" {
		t.Error("aliasOf")
	}
}

func TestGlobalFlagResolution(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, g *globalFlags)
	}{
		{"defaults", nil, nil, func(t *testing.T, g *globalFlags) {
			if g.address != defaultAddress || g.format != "table" || g.tlsSkipVerify || g.namespace != "" {
				t.Errorf("defaults: %+v", g)
			}
		}},
		{"env", nil, map[string]string{
			"VAULT_ADDR": "http://env:8200", "STRONGBOX_FORMAT": "JSON", "VAULT_SKIP_VERIFY": "true",
			"STRONGBOX_NAMESPACE": "team", "VAULT_WRAP_TTL": "5m", "VAULT_CACERT": "/ca.pem",
		}, func(t *testing.T, g *globalFlags) {
			if g.address != "http://env:8200" || g.format != "json" || !g.tlsSkipVerify ||
				g.namespace != "team" || g.wrapTTL.raw != "5m" || g.caCert != "/ca.pem" {
				t.Errorf("from env: %+v", g)
			}
		}},
		{"VAULT_AGENT_ADDR beats VAULT_ADDR", nil, map[string]string{"VAULT_ADDR": "http://server", "VAULT_AGENT_ADDR": "http://agent"},
			func(t *testing.T, g *globalFlags) {
				if g.address != "http://agent" {
					t.Errorf("address = %q, want the agent's", g.address)
				}
			}},
		{"STRONGBOX_AGENT_ADDR alias", nil, map[string]string{"VAULT_ADDR": "http://server", "STRONGBOX_AGENT_ADDR": "http://agent"},
			func(t *testing.T, g *globalFlags) {
				if g.address != "http://agent" {
					t.Errorf("address = %q, want the agent's", g.address)
				}
			}},
		{"-address beats VAULT_AGENT_ADDR", []string{"--address=http://flag"}, map[string]string{"VAULT_AGENT_ADDR": "http://agent"},
			func(t *testing.T, g *globalFlags) {
				if g.address != "http://flag" {
					t.Errorf("address = %q, want the flag's", g.address)
				}
			}},
		{"flags beat env", []string{"--address=http://flag", "--format=yaml", "--tls-skip-verify=false", "--ns=x"},
			map[string]string{"VAULT_ADDR": "http://env", "VAULT_FORMAT": "json", "VAULT_SKIP_VERIFY": "1", "VAULT_NAMESPACE": "y"},
			func(t *testing.T, g *globalFlags) {
				if g.address != "http://flag" || g.format != "yaml" || g.tlsSkipVerify || g.namespace != "x" {
					t.Errorf("flags: %+v", g)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var g globalFlags
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			g.register(fs)
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			if err := g.resolve(fs, mapEnviron(c.env)); err != nil {
				t.Fatal(err)
			}
			c.check(t, &g)
		})
	}

	var g globalFlags
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	g.register(fs)
	if err := g.resolve(fs, mapEnviron(map[string]string{"VAULT_SKIP_VERIFY": "maybe"})); err == nil {
		t.Error("a bad VAULT_SKIP_VERIFY should be an error")
	}
}

func TestClientSettingsReachTheServer(t *testing.T) {
	f := newFakeVault(t)
	f.on("GET /v1/secret/foo", 200, map[string]any{"data": map[string]any{"k": "v"}})
	c := newCLI(t, "http://wrong.invalid")
	c.env["STRONGBOX_ADDR"] = f.srv.URL
	delete(c.env, "VAULT_ADDR")
	c.env["VAULT_TOKEN"] = "env-token"
	c.env["VAULT_NAMESPACE"] = "team/"
	c.run("", "read", "-header=X-Custom=yes", "-wrap-ttl=2m", "secret/foo").want(t, 0)
	r := f.only("GET /v1/secret/foo")
	checks := map[string]string{
		"X-Vault-Token":     "env-token",
		"X-Vault-Namespace": "team/",
		"X-Custom":          "yes",
		"X-Vault-Wrap-Ttl":  "2m",
		"X-Vault-Request":   "true",
	}
	for h, want := range checks {
		if got := r.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}

	res := c.run("", "read", "-header=X-Vault-Token=evil", "secret/foo").want(t, 1)
	if !strings.Contains(res.stderr, "reserved") {
		t.Errorf("X-Vault- header should be refused: %q", res.stderr)
	}
}

func TestTokenPrecedence(t *testing.T) {
	f := newFakeVault(t)
	f.on("GET /v1/secret/foo", 200, map[string]any{"data": map[string]any{"k": "v"}})
	c := newCLI(t, f.srv.URL)
	if err := os.WriteFile(filepath.Join(c.env["HOME"], ".vault-token"), []byte("helper-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.run("", "read", "secret/foo").want(t, 0)
	c.env["STRONGBOX_TOKEN"] = "alias-token"
	c.run("", "read", "secret/foo").want(t, 0)
	c.env["VAULT_TOKEN"] = "vault-token"
	c.run("", "read", "secret/foo").want(t, 0)
	rs := f.requests("GET /v1/secret/foo")
	for i, want := range []string{"helper-token", "alias-token", "vault-token"} {
		if got := rs[i].Header.Get("X-Vault-Token"); got != want {
			t.Errorf("request %d token %q, want %q", i, got, want)
		}
	}
	res := c.run("", "print", "token").want(t, 0)
	if res.stdout != "vault-token\n" {
		t.Errorf("print token = %q", res.stdout)
	}
}

func TestInvalidFormatIsAUsageError(t *testing.T) {
	f := newFakeVault(t)
	c := newCLI(t, f.srv.URL)
	c.env["VAULT_FORMAT"] = "xml"
	res := c.run("", "read", "secret/foo").want(t, 1)
	if !strings.Contains(res.stderr, "Invalid output format: xml") {
		t.Errorf("stderr %q", res.stderr)
	}
	if len(f.reqs) != 0 {
		t.Error("no request should be sent with a bad format")
	}
}
