package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	f := newFakeVault(t)
	f.on("GET /v1/secret/foo", 200, map[string]any{"lease_duration": 3600, "data": map[string]any{"value": "bar", "token_ttl": 60}})
	c := newCLI(t, f.srv.URL)
	res := c.run("", "read", "/secret/foo/").want(t, 0)
	want := "Key                 Value\n---                 -----\nrefresh_interval    1h\ntoken_ttl           1m\nvalue               bar\n"
	if res.stdout != want {
		t.Errorf("read:\n%q\nwant\n%q", res.stdout, want)
	}
	if res := c.run("", "read", "-field=value", "secret/foo").want(t, 0); res.stdout != "bar" {
		t.Errorf("-field: %q", res.stdout)
	}
	c.run("", "read", "secret/foo", "a=1", "b=2", "b=3").want(t, 0)
	q := f.requests("GET /v1/secret/foo")[2].Query
	if q["a"][0] != "1" || len(q["b"]) != 2 {
		t.Errorf("query %v", q)
	}
	res = c.run("", "read", "-format=raw", "secret/foo").want(t, 0)
	if !strings.HasPrefix(res.stdout, `{"data":{"token_ttl":60,"value":"bar"}`) {
		t.Errorf("raw: %q", res.stdout)
	}
	res = c.run("", "read", "-format=yaml", "secret/foo").want(t, 0)
	if !strings.Contains(res.stdout, "  value: bar\n") || !strings.Contains(res.stdout, "lease_duration: 3600\n") {
		t.Errorf("yaml: %s", res.stdout)
	}
}

func TestWrite(t *testing.T) {
	f := newFakeVault(t)
	f.on("PUT /v1/secret/foo", 204, nil)
	f.on("PUT /v1/auth/token/create", 200, map[string]any{"auth": map[string]any{"client_token": "hvs.new", "accessor": "a"}})
	c := newCLI(t, f.srv.URL)
	file := filepath.Join(t.TempDir(), "pw.txt")
	os.WriteFile(file, []byte("from-file"), 0o600)

	res := c.run("", "write", "secret/foo", "a=b", "pw=@"+file).want(t, 0)
	if res.stdout != "Success! Data written to: secret/foo\n" {
		t.Errorf("write: %q", res.stdout)
	}
	if b := f.requests("PUT /v1/secret/foo")[0].Body; b["a"] != "b" || b["pw"] != "from-file" {
		t.Errorf("body %v", b)
	}
	c.run(`{"policy": "path \"*\" {}", "n": 5}`, "write", "secret/foo", "-").want(t, 0)
	if b := f.requests("PUT /v1/secret/foo")[1].Body; b["policy"] != `path "*" {}` || b["n"] != num("5") {
		t.Errorf("stdin body %v", b)
	}
	res = c.run("", "write", "secret/foo").want(t, 1)
	if !strings.Contains(res.stderr, "Must supply data or use -force") {
		t.Errorf("stderr %q", res.stderr)
	}
	c.run("", "write", "-force", "secret/foo").want(t, 0)
	c.run("", "write", "-f", "secret/foo").want(t, 0)
	if res := c.run("", "write", "-format=json", "secret/foo", "a=b").want(t, 0); res.stdout != "" {
		t.Errorf("no success line outside table format: %q", res.stdout)
	}
	res = c.run("", "write", "-field=token", "auth/token/create", "policies=default").want(t, 0)
	if res.stdout != "hvs.new" {
		t.Errorf("write -field: %q", res.stdout)
	}
}

func TestPatchDeleteList(t *testing.T) {
	f := newFakeVault(t)
	f.on("PATCH /v1/sys/thing", 204, nil)
	f.on("DELETE /v1/secret/foo", 204, nil)
	f.on("LIST /v1/auth/token/accessors", 200, map[string]any{"data": map[string]any{
		"keys":     []string{"acc2", "acc1"},
		"key_info": map[string]any{"acc1": map[string]any{"display_name": "root"}},
	}})
	f.on("LIST /v1/empty", 200, map[string]any{"data": map[string]any{}})
	c := newCLI(t, f.srv.URL)

	c.run("", "patch", "sys/thing", "a=1").want(t, 0)
	r := f.only("PATCH /v1/sys/thing")
	if r.Header.Get("Content-Type") != "application/merge-patch+json" || r.Body["a"] != "1" {
		t.Errorf("patch %v %v", r.Header, r.Body)
	}
	c.run("", "patch", "sys/thing").want(t, 1)

	if res := c.run("", "delete", "secret/foo").want(t, 0); res.stdout != "Success! Data deleted (if it existed) at: secret/foo\n" {
		t.Errorf("delete: %q", res.stdout)
	}
	if res := c.run("", "list", "auth/token/accessors").want(t, 0); res.stdout != "Keys\n----\nacc1\nacc2\n" {
		t.Errorf("list: %q", res.stdout)
	}
	res := c.run("", "list", "-detailed", "auth/token/accessors").want(t, 0)
	if res.stdout != "Keys    display_name\n----    ------------\nacc1    root\nacc2    n/a\n" {
		t.Errorf("detailed list: %q", res.stdout)
	}
	res = c.run("", "list", "-format=raw", "auth/token/accessors").want(t, 1)
	if !strings.Contains(res.stderr, "does not support the -format=raw option") {
		t.Errorf("raw list: %q", res.stderr)
	}
	res = c.run("", "list", "empty").want(t, 2)
	if res.stderr != "No entries found at empty\n" {
		t.Errorf("empty: %q", res.stderr)
	}
	res = c.run("", "list", "missing").want(t, 2)
	if res.stderr != "No value found at missing\n" {
		t.Errorf("missing: %q", res.stderr)
	}
}
