package command

import (
	"net/http"
	"strings"
	"testing"
)

func TestExitCodes(t *testing.T) {
	f := newFakeVault(t)
	f.on("GET /v1/secret/denied", 403, map[string]any{"errors": []string{"permission denied"}})
	f.on("GET /v1/secret/ok", 200, map[string]any{"data": map[string]any{"k": "v"}})
	c := newCLI(t, f.srv.URL)
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"ok", []string{"read", "secret/ok"}, 0, ""},
		{"unknown flag", []string{"read", "-bogus", "secret/ok"}, 1, "flag provided but not defined: -bogus\n"},
		{"unknown long flag", []string{"read", "--bogus=1", "secret/ok"}, 1, "flag provided but not defined: -bogus\n"},
		{"bad flag value", []string{"operator", "init", "-key-shares=many"}, 1, `"-key-shares"`},
		{"too many args", []string{"status", "extra"}, 1, "Too many arguments (expected 0, got 1)"},
		{"not enough args", []string{"read"}, 1, "Not enough arguments (expected at least 1, got 0)"},
		{"unknown command", []string{"frobnicate"}, 127, `Unknown command "frobnicate"`},
		{"unknown command after flags", []string{"-address=http://127.0.0.1:1", "frobnicate", "x"}, 127, `Unknown command "frobnicate"`},
		{"unknown subcommand", []string{"kv", "frobnicate"}, 1, `Unknown command "frobnicate"`},
		{"not found", []string{"read", "secret/missing"}, 2, "No value found at secret/missing"},
		{"permission denied", []string{"read", "secret/denied"}, 2,
			"Error reading secret/denied: Error making API request.\n\nURL: GET " + f.srv.URL +
				"/v1/secret/denied\nCode: 403. Errors:\n\n* permission denied\n"},
		{"unreachable", []string{"read", "-address=http://127.0.0.1:1", "secret/ok"}, 2, "Error reading secret/ok"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := c.run("", tc.args...).want(t, tc.code)
			if !strings.Contains(res.stderr, tc.stderr) {
				t.Errorf("stderr %q lacks %q", res.stderr, tc.stderr)
			}
			if strings.Contains(res.stderr, "goroutine") || strings.Contains(res.stderr, "panic") {
				t.Errorf("stack trace in stderr: %s", res.stderr)
			}
		})
	}
}

func TestHelpShowsExamplesAndSingleDashFlags(t *testing.T) {
	c := newCLI(t, "http://unused.invalid")
	for _, args := range [][]string{{"kv", "put", "-help"}, {"kv", "put", "--help"}, {"kv", "put", "-h"}, {"help", "kv", "put"}} {
		res := c.run("", args...).want(t, 0)
		for _, want := range []string{"Usage: strongbox kv put [options] KEY [DATA]", "Examples:", "$ strongbox kv put secret/creds admin=password", "  -cas=<int>", "  -mount=<string>", "HTTP Options:", "  -address=<string>"} {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("%v: help lacks %q:\n%s", args, want, res.stdout)
			}
		}
	}
	res := c.run("", "-help").want(t, 0)
	for _, want := range []string{"Environment Variables:", "VAULT_ADDR (STRONGBOX_ADDR)", "VAULT_TOKEN (STRONGBOX_TOKEN)", "the VAULT_ one wins"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("root help lacks %q", want)
		}
	}
	res = c.run("", "kv").want(t, 0)
	if !strings.Contains(res.stdout, "Subcommands:") || !strings.Contains(res.stdout, "metadata") {
		t.Errorf("group help: %s", res.stdout)
	}
	// Every command documents examples.
	root := newRootCommand(&app{})
	for _, cmd := range allCommands(root) {
		if cmd.Annotations[groupMarker] == "true" || cmd.Name() == "help" {
			continue
		}
		if strings.TrimSpace(cmd.Example) == "" {
			t.Errorf("%s has no examples", cmd.CommandPath())
		}
	}
}

func TestVersion(t *testing.T) {
	c := newCLI(t, "http://unused.invalid")
	for _, args := range [][]string{{"version"}, {"-version"}, {"--version"}} {
		res := c.run("", args...).want(t, 0)
		if res.stdout != "Strongbox v"+version+"\n" {
			t.Errorf("%v: %q", args, res.stdout)
		}
	}
}

func TestOutputCurlString(t *testing.T) {
	f := newFakeVault(t)
	f.kvMount("secret/", 2)
	c := newCLI(t, f.srv.URL)
	c.env["VAULT_TOKEN"] = "hvs.secret"
	res := c.run("", "write", "-output-curl-string", "secret/foo", "a=b").want(t, 0)
	for _, want := range []string{"curl -X PUT ", `-H "X-Vault-Request: true"`, `-H "X-Vault-Token: $(strongbox print token)"`,
		`-d '{"a":"b"}' ` + f.srv.URL + "/v1/secret/foo\n"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("curl string %q lacks %q", res.stdout, want)
		}
	}
	if strings.Contains(res.stdout, "hvs.secret") {
		t.Error("the curl string must not reveal the token")
	}
	if len(f.requests("PUT /v1/secret/foo")) != 0 {
		t.Error("the write must not be sent")
	}
	// kv put still asks which KV version it is writing to, then prints
	// the write.
	res = c.run("", "kv", "put", "-output-curl-string", "secret/foo", "a=b").want(t, 0)
	if !strings.Contains(res.stdout, "/v1/secret/data/foo") || !strings.Contains(res.stdout, `"data":{"a":"b"}`) {
		t.Errorf("kv put curl: %q", res.stdout)
	}
	if len(f.requests("PUT /v1/secret/data/foo")) != 0 {
		t.Error("the kv write must not be sent")
	}
	res = c.run("", "version", "-output-curl-string").want(t, 1)
	if !strings.Contains(res.stderr, "Could not generate cURL command") {
		t.Errorf("stderr %q", res.stderr)
	}
}

func TestRequestsHaveVaultRequestHeader(t *testing.T) {
	f := newFakeVault(t)
	f.onFunc("GET /v1/sys/seal-status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"type": "shamir", "initialized": true, "sealed": false, "t": 1, "n": 1})
	})
	f.on("GET /v1/sys/leader", 200, map[string]any{"ha_enabled": false})
	newCLI(t, f.srv.URL).run("", "status").want(t, 0)
	if f.only("GET /v1/sys/seal-status").Header.Get("X-Vault-Request") != "true" {
		t.Error("missing X-Vault-Request")
	}
}
