package command

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongbox/strongbox/internal/server"
)

func TestPolicyCommands(t *testing.T) {
	f := newFakeVault(t)
	rules := "path \"secret/*\" {\n  capabilities = [\"read\"]\n}\n"
	f.on("GET /v1/sys/policies/acl/reader", 200, map[string]any{"data": map[string]any{"name": "reader", "policy": rules}})
	f.on("PUT /v1/sys/policies/acl/reader", 204, nil)
	f.on("DELETE /v1/sys/policies/acl/reader", 204, nil)
	f.on("LIST /v1/sys/policies/acl", 200, map[string]any{"data": map[string]any{"keys": []string{"default", "reader", "root"}}})
	c := newCLI(t, f.srv.URL)

	if res := c.run("", "policy", "read", "Reader").want(t, 0); res.stdout != strings.TrimSpace(rules)+"\n" {
		t.Errorf("read: %q", res.stdout)
	}
	if res := c.run("", "policy", "read", "-format=json", "reader").want(t, 0); !strings.Contains(res.stdout, `"policy": "path`) {
		t.Errorf("read json: %q", res.stdout)
	}
	res := c.run("", "policy", "read", "nope").want(t, 2)
	if !strings.Contains(res.stderr, "No policy named: nope") {
		t.Errorf("stderr %q", res.stderr)
	}

	file := filepath.Join(t.TempDir(), "reader.hcl")
	os.WriteFile(file, []byte(rules), 0o600)
	if res := c.run("", "policy", "write", "reader", file).want(t, 0); res.stdout != "Success! Uploaded policy: reader\n" {
		t.Errorf("write: %q", res.stdout)
	}
	c.run(rules, "policy", "write", "reader", "-").want(t, 0)
	for _, r := range f.requests("PUT /v1/sys/policies/acl/reader") {
		if r.Body["policy"] != rules {
			t.Errorf("policy body %v", r.Body)
		}
	}
	c.run("", "policy", "write", "reader", filepath.Join(t.TempDir(), "missing.hcl")).want(t, 1)

	if res := c.run("", "policy", "list").want(t, 0); res.stdout != "default\nreader\nroot\n" {
		t.Errorf("list: %q", res.stdout)
	}
	if res := c.run("", "policy", "delete", "reader").want(t, 0); res.stdout != "Success! Deleted policy: reader\n" {
		t.Errorf("delete: %q", res.stdout)
	}

	messy := filepath.Join(t.TempDir(), "messy.hcl")
	os.WriteFile(messy, []byte("path \"a/*\" {\ncapabilities=[\"read\",\"list\"]\n}"), 0o640)
	c.run("", "policy", "fmt", messy).want(t, 0)
	got, _ := os.ReadFile(messy)
	if string(got) != "path \"a/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n" {
		t.Errorf("fmt result %q", got)
	}
	bad := filepath.Join(t.TempDir(), "bad.hcl")
	os.WriteFile(bad, []byte("path \"a\" { capabilities = "), 0o600)
	res = c.run("", "policy", "fmt", bad).want(t, 1)
	if !strings.Contains(res.stderr, "Error parsing policy") {
		t.Errorf("stderr %q", res.stderr)
	}
}

func FuzzFormatPolicy(f *testing.F) {
	for _, s := range []string{"path \"a\" { capabilities = [\"read\"] }", "", "{", "path", "a = [", "# c\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		out, err := formatPolicy([]byte(src))
		if err == nil && len(out) > 0 && out[len(out)-1] != '\n' {
			t.Errorf("formatted output lacks a final newline: %q", out)
		}
	})
}

func TestTokenCreate(t *testing.T) {
	f := newFakeVault(t)
	created := map[string]any{"auth": map[string]any{
		"client_token": "hvs.child", "accessor": "acc-c", "policies": []string{"default", "ops"},
		"token_policies": []string{"default", "ops"}, "lease_duration": 2764800, "renewable": true,
	}}
	f.on("PUT /v1/auth/token/create", 200, created)
	f.on("PUT /v1/auth/token/create-orphan", 200, created)
	f.on("PUT /v1/auth/token/create/ci", 200, created)
	c := newCLI(t, f.srv.URL)

	res := c.run("", "token", "create", "-policy=ops", "-policy=a,b", "-ttl=1h", "-explicit-max-ttl=2h",
		"-period=30m", "-no-default-policy", "-use-limit=3", "-display-name=ci", "-metadata=user=alice",
		"-renewable=false", "-id=custom").want(t, 0)
	b := f.only("PUT /v1/auth/token/create").Body
	checks := map[string]any{"ttl": "1h", "explicit_max_ttl": "2h", "period": "30m", "no_default_policy": true,
		"num_uses": num("3"), "display_name": "ci", "renewable": false, "id": "custom"}
	for k, want := range checks {
		if b[k] != want {
			t.Errorf("%s = %v, want %v", k, b[k], want)
		}
	}
	if ps := b["policies"].([]any); len(ps) != 3 || ps[0] != "ops" || ps[2] != "b" {
		t.Errorf("policies %v", b["policies"])
	}
	if b["meta"].(map[string]any)["user"] != "alice" {
		t.Errorf("meta %v", b["meta"])
	}
	for _, want := range []string{"token                hvs.child", "token_duration       768h", `token_policies       ["default" "ops"]`} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("create output lacks %q:\n%s", want, res.stdout)
		}
	}

	c.run("", "token", "create", "-orphan").want(t, 0)
	if b := f.only("PUT /v1/auth/token/create-orphan").Body; len(b) != 0 {
		t.Errorf("unset flags sent: %v", b)
	}
	if res := c.run("", "token", "create", "-role=ci", "-field=token").want(t, 0); res.stdout != "hvs.child" {
		t.Errorf("-field token: %q", res.stdout)
	}
	f.only("PUT /v1/auth/token/create/ci")
	c.run("", "token", "create", "-ttl=forever").want(t, 1)
}

func TestTokenLookupRenewRevokeCapabilities(t *testing.T) {
	f := newFakeVault(t)
	data := map[string]any{"data": map[string]any{"id": "hvs.x", "accessor": "acc", "policies": []string{"root"}, "ttl": 0, "creation_ttl": 3600}}
	f.on("GET /v1/auth/token/lookup-self", 200, data)
	f.on("POST /v1/auth/token/lookup", 200, data)
	f.on("POST /v1/auth/token/lookup-accessor", 200, data)
	renewed := map[string]any{"auth": map[string]any{"client_token": "hvs.x", "lease_duration": 1800, "renewable": true}}
	f.on("PUT /v1/auth/token/renew-self", 200, renewed)
	f.on("PUT /v1/auth/token/renew", 200, renewed)
	f.on("POST /v1/auth/token/renew-accessor", 200, renewed)
	for _, p := range []string{"revoke", "revoke-self", "revoke-orphan"} {
		f.on("PUT /v1/auth/token/"+p, 204, nil)
	}
	f.on("POST /v1/auth/token/revoke-accessor", 204, nil)
	f.on("PUT /v1/sys/leases/revoke-prefix/auth/userpass", 204, nil)
	f.on("POST /v1/sys/capabilities-self", 200, map[string]any{"capabilities": []string{"update", "read"}, "secret/x": []string{"update", "read"}})
	f.on("POST /v1/sys/capabilities", 200, map[string]any{"capabilities": []string{"deny"}, "secret/x": []string{"deny"}})
	c := newCLI(t, f.srv.URL)
	c.env["VAULT_TOKEN"] = "hvs.x"

	res := c.run("", "token", "lookup").want(t, 0)
	for _, want := range []string{"creation_ttl    1h", "ttl             0s", "policies        [root]"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("lookup lacks %q:\n%s", want, res.stdout)
		}
	}
	c.run("", "token", "lookup", "hvs.other").want(t, 0)
	if f.only("POST /v1/auth/token/lookup").Body["token"] != "hvs.other" {
		t.Error("lookup token not sent")
	}
	c.run("", "token", "lookup", "-accessor", "acc").want(t, 0)
	if f.only("POST /v1/auth/token/lookup-accessor").Body["accessor"] != "acc" {
		t.Error("lookup accessor not sent")
	}
	c.run("", "token", "lookup", "-self").want(t, 0)
	c.run("", "token", "lookup", "-accessor").want(t, 1)
	c.run("", "token", "lookup", "a", "b").want(t, 1)

	c.run("", "token", "renew", "-increment=30m").want(t, 0)
	if f.only("PUT /v1/auth/token/renew-self").Body["increment"] != num("1800") {
		t.Error("renew-self increment")
	}
	c.run("", "token", "renew", "-i", "1h", "hvs.other").want(t, 0)
	if b := f.only("PUT /v1/auth/token/renew").Body; b["token"] != "hvs.other" || b["increment"] != num("3600") {
		t.Errorf("renew body %v", b)
	}
	c.run("", "token", "renew", "-accessor", "acc").want(t, 0)

	for _, tc := range []struct {
		args  []string
		route string
	}{
		{[]string{"hvs.other"}, "PUT /v1/auth/token/revoke"},
		{[]string{"-self"}, "PUT /v1/auth/token/revoke-self"},
		{[]string{"-accessor", "acc"}, "POST /v1/auth/token/revoke-accessor"},
		{[]string{"-mode=orphan", "hvs.other"}, "PUT /v1/auth/token/revoke-orphan"},
		{[]string{"-mode=path", "auth/userpass/"}, "PUT /v1/sys/leases/revoke-prefix/auth/userpass"},
	} {
		res := c.run("", append([]string{"token", "revoke"}, tc.args...)...).want(t, 0)
		if res.stdout != "Success! Revoked token (if it existed)\n" {
			t.Errorf("%v: %q", tc.args, res.stdout)
		}
		f.only(tc.route)
	}
	for _, bad := range [][]string{{}, {"-self", "x"}, {"-self", "-accessor"}, {"-mode=all", "x"}, {"-mode=path", "-accessor", "x"}} {
		c.run("", append([]string{"token", "revoke"}, bad...)...).want(t, 1)
	}

	if res := c.run("", "token", "capabilities", "secret/x").want(t, 0); res.stdout != "read, update\n" {
		t.Errorf("capabilities: %q", res.stdout)
	}
	if res := c.run("", "token", "capabilities", "-format=json", "hvs.other", "secret/x").want(t, 0); res.stdout != "[\n  \"deny\"\n]\n" {
		t.Errorf("capabilities json: %q", res.stdout)
	}
	if b := f.only("POST /v1/sys/capabilities").Body; b["token"] != "hvs.other" {
		t.Errorf("capabilities body %v", b)
	}
}

func TestServerCommand(t *testing.T) {
	c := newCLI(t, "http://unused.invalid")
	var got server.Options
	c.runSrv = func(ctx context.Context, opts server.Options, reload <-chan struct{}) error {
		got = opts
		if reload == nil || ctx.Err() != nil {
			t.Error("server needs a live context and a reload channel")
		}
		return nil
	}
	c.run("", "server", "-config=/etc/a.hcl", "-config", "/etc/conf.d", "-log-level=DEBUG").want(t, 0)
	if strings.Join(got.ConfigPaths, ",") != "/etc/a.hcl,/etc/conf.d" || got.LogLevel != "debug" || got.Dev {
		t.Errorf("options %+v", got)
	}
	if got.Out == nil || got.Logs == nil {
		t.Error("server output streams unset")
	}

	c.env["VAULT_DEV_ROOT_TOKEN_ID"] = "root"
	c.env["STRONGBOX_LOG_LEVEL"] = "warn"
	c.run("", "server", "-dev").want(t, 0)
	if !got.Dev || got.DevRootTokenID != "root" || got.DevListenAddress != "127.0.0.1:8200" || got.LogLevel != "warn" {
		t.Errorf("dev options %+v", got)
	}
	c.run("", "server", "-dev", "-dev-root-token-id=flag", "-dev-listen-address=127.0.0.1:9999").want(t, 0)
	if got.DevRootTokenID != "flag" || got.DevListenAddress != "127.0.0.1:9999" {
		t.Errorf("flags should beat env: %+v", got)
	}

	res := c.run("", "server").want(t, 1)
	if !strings.Contains(res.stderr, "-config") {
		t.Errorf("stderr %q", res.stderr)
	}
	c.run("", "server", "-dev", "-log-level=chatty").want(t, 1)
	c.runSrv = func(context.Context, server.Options, <-chan struct{}) error {
		return errors.New("bind: address in use")
	}
	res = c.run("", "server", "-dev").want(t, 1)
	if !strings.Contains(res.stderr, "bind: address in use") {
		t.Errorf("stderr %q", res.stderr)
	}
}
