package command

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func lookupSelfHandler(valid string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Vault-Token") != valid {
			writeJSON(w, 403, map[string]any{"errors": []string{"permission denied"}})
			return
		}
		writeJSON(w, 200, map[string]any{"data": map[string]any{
			"id": valid, "accessor": "acc-1", "policies": []string{"root"}, "ttl": 0,
			"renewable": false, "meta": nil,
		}})
	}
}

func storedToken(t *testing.T, c *cli) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.env["HOME"], ".vault-token"))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLoginToken(t *testing.T) {
	f := newFakeVault(t)
	f.onFunc("GET /v1/auth/token/lookup-self", lookupSelfHandler("hvs.good"))

	t.Run("argument", func(t *testing.T) {
		c := newCLI(t, f.srv.URL)
		res := c.run("", "login", "hvs.good").want(t, 0)
		if storedToken(t, c) != "hvs.good" {
			t.Errorf("stored %q", storedToken(t, c))
		}
		info, err := os.Stat(filepath.Join(c.env["HOME"], ".vault-token"))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("token file mode: %v %v", info.Mode(), err)
		}
		for _, want := range []string{"Success! You are now authenticated.", "token                hvs.good",
			"token_accessor       acc-1", "token_duration       ∞", `policies             ["root"]`} {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("login output lacks %q:\n%s", want, res.stdout)
			}
		}
		// Later commands use the stored token.
		c.run("", "token", "lookup").want(t, 0)
	})
	t.Run("stdin dash", func(t *testing.T) {
		c := newCLI(t, f.srv.URL)
		c.run("hvs.good\n", "login", "-").want(t, 0)
		if storedToken(t, c) != "hvs.good" {
			t.Errorf("stored %q", storedToken(t, c))
		}
	})
	t.Run("piped without dash", func(t *testing.T) {
		c := newCLI(t, f.srv.URL)
		c.run("hvs.good\n", "login").want(t, 0)
		if storedToken(t, c) != "hvs.good" {
			t.Errorf("stored %q", storedToken(t, c))
		}
	})
	t.Run("terminal prompt", func(t *testing.T) {
		c := newCLI(t, f.srv.URL)
		c.terminal, c.password = true, "hvs.good"
		res := c.run("", "login").want(t, 0)
		if c.prompted != 1 || !strings.HasPrefix(res.stderr, "Token (will be hidden): \n") {
			t.Errorf("prompt: %d %q", c.prompted, res.stderr)
		}
		if strings.Contains(res.stdout+res.stderr, "hvs.good\nhvs.good") {
			t.Error("token echoed")
		}
		c.run("", "login", "-non-interactive").want(t, 1)
	})
	t.Run("bad token", func(t *testing.T) {
		c := newCLI(t, f.srv.URL)
		res := c.run("", "login", "hvs.bad").want(t, 2)
		if !strings.Contains(res.stderr, "Error authenticating: error looking up token: Error making API request.") ||
			!strings.Contains(res.stderr, "Code: 403") {
			t.Errorf("stderr %q", res.stderr)
		}
		if storedToken(t, c) != "" {
			t.Error("a bad token must not be stored")
		}
	})
	t.Run("no-store and token-only", func(t *testing.T) {
		c := newCLI(t, f.srv.URL)
		res := c.run("", "login", "-no-store", "hvs.good").want(t, 0)
		if storedToken(t, c) != "" || !strings.Contains(res.stderr, "not stored") {
			t.Errorf("no-store: stored %q, stderr %q", storedToken(t, c), res.stderr)
		}
		res = c.run("", "login", "-token-only", "hvs.good").want(t, 0)
		if res.stdout != "hvs.good" || storedToken(t, c) != "" {
			t.Errorf("token-only: %q", res.stdout)
		}
		c.run("", "login", "-no-store", "-no-print", "hvs.good").want(t, 1)
	})
	t.Run("VAULT_TOKEN warning", func(t *testing.T) {
		c := newCLI(t, f.srv.URL)
		c.env["VAULT_TOKEN"] = "hvs.good"
		res := c.run("", "login", "hvs.good").want(t, 0)
		if !strings.Contains(res.stderr, "VAULT_TOKEN environment variable is set") {
			t.Errorf("stderr %q", res.stderr)
		}
	})
	t.Run("lookup=false", func(t *testing.T) {
		c := newCLI(t, f.srv.URL)
		c.run("", "login", "token=hvs.unchecked", "lookup=false").want(t, 0)
		if storedToken(t, c) != "hvs.unchecked" {
			t.Errorf("stored %q", storedToken(t, c))
		}
		c.run("", "login", "token=x", "lookup=maybe").want(t, 1)
	})
}

func TestLoginMethods(t *testing.T) {
	f := newFakeVault(t)
	auth := map[string]any{"auth": map[string]any{
		"client_token": "hvs.user", "accessor": "acc-u", "policies": []string{"default", "dev"},
		"token_policies": []string{"default", "dev"}, "lease_duration": 3600, "renewable": true,
		"metadata": map[string]string{"username": "alice"},
	}}
	f.on("PUT /v1/auth/userpass/login/alice", 200, auth)
	f.on("PUT /v1/auth/corp/login/bob", 200, auth)
	f.on("PUT /v1/auth/approle/login", 200, auth)
	f.on("PUT /v1/auth/cert/login", 200, auth)
	c := newCLI(t, f.srv.URL)
	os.WriteFile(filepath.Join(c.env["HOME"], ".vault-token"), []byte("hvs.stale"), 0o600)

	res := c.run("", "login", "-method=userpass", "username=alice", "password=pw").want(t, 0)
	r := f.only("PUT /v1/auth/userpass/login/alice")
	if r.Body["password"] != "pw" || r.Header.Get("X-Vault-Token") != "" {
		t.Errorf("userpass request: body %v token %q", r.Body, r.Header.Get("X-Vault-Token"))
	}
	if storedToken(t, c) != "hvs.user" || !strings.Contains(res.stdout, "token_meta_username    alice") {
		t.Errorf("stored %q output:\n%s", storedToken(t, c), res.stdout)
	}

	c.terminal, c.password = true, "typed"
	c.run("", "login", "-method=userpass", "-path=corp", "username=bob").want(t, 0)
	if f.only("PUT /v1/auth/corp/login/bob").Body["password"] != "typed" {
		t.Error("prompted password not sent")
	}
	c.terminal = false

	c.run("", "login", "-method=approle", "role_id=r", "secret_id=s").want(t, 0)
	if b := f.only("PUT /v1/auth/approle/login").Body; b["role_id"] != "r" || b["secret_id"] != "s" || b["mount"] != nil {
		t.Errorf("approle body %v", b)
	}
	c.run("", "login", "-method=cert", "name=web").want(t, 0)
	if b := f.only("PUT /v1/auth/cert/login").Body; b["name"] != "web" {
		t.Errorf("cert body %v", b)
	}
	res = c.run("", "login", "-method=github", "token=x").want(t, 1)
	if !strings.Contains(res.stderr, "Unknown auth method: github") {
		t.Errorf("stderr %q", res.stderr)
	}
	c.run("", "login", "-method=userpass", "password=x").want(t, 1)
	res = c.run("", "login", "-method=userpass", "-field=token_accessor", "username=alice", "password=pw").want(t, 0)
	if res.stdout != "acc-u" {
		t.Errorf("-field on login: %q", res.stdout)
	}

	// ldap, as Vault's: the username defaults to $LOGNAME, else $USER.
	f.on("PUT /v1/auth/ldap/login/carol", 200, auth)
	f.on("PUT /v1/auth/ldap/login/dave", 200, auth)
	c.env["USER"] = "dave"
	c.run("", "login", "-method=ldap", "password=pw").want(t, 0)
	if f.only("PUT /v1/auth/ldap/login/dave").Body["password"] != "pw" {
		t.Error("ldap login as $USER: password not sent")
	}
	c.env["LOGNAME"] = "carol"
	c.run("", "login", "-method=ldap", "password=pw").want(t, 0)
	f.only("PUT /v1/auth/ldap/login/carol")
	delete(c.env, "LOGNAME")
	delete(c.env, "USER")
	res = c.run("", "login", "-method=ldap", "password=pw").want(t, 1)
	if !strings.Contains(res.stderr, "'username' not supplied and neither 'LOGNAME' nor 'USER' env vars set") {
		t.Errorf("ldap login without a username: %q", res.stderr)
	}
}

func TestTokenHelperFile(t *testing.T) {
	h := &tokenHelper{path: filepath.Join(t.TempDir(), ".vault-token")}
	if tok, err := h.Get(); err != nil || tok != "" {
		t.Fatalf("empty helper: %q %v", tok, err)
	}
	if err := h.Store("first"); err != nil {
		t.Fatal(err)
	}
	if err := h.Store("second"); err != nil {
		t.Fatal(err)
	}
	if tok, _ := h.Get(); tok != "second" {
		t.Errorf("Get = %q", tok)
	}
	entries, _ := os.ReadDir(filepath.Dir(h.path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := os.WriteFile(h.path, []byte("  spaced\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if tok, _ := h.Get(); tok != "spaced" {
		t.Errorf("Get should trim whitespace: %q", tok)
	}
}
