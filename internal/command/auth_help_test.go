package command

import (
	"strings"
	"testing"
)

func TestAuthHelp(t *testing.T) {
	f := newFakeVault(t)
	mounts := map[string]any{
		"corp/": map[string]any{"type": "userpass", "accessor": "auth_userpass_1"},
		"gh/":   map[string]any{"type": "github", "accessor": "auth_github_1"},
	}
	f.on("GET /v1/sys/auth", 200, map[string]any{"data": mounts})
	c := newCLI(t, f.srv.URL)

	// A type needs no server.
	res := c.run("", "auth", "help", "userpass").want(t, 0)
	if !strings.Contains(res.stdout, "login -method=userpass") || len(f.requests("GET /v1/sys/auth")) != 0 {
		t.Errorf("auth help userpass: %q (requests %v)", res.stdout, f.requests("GET /v1/sys/auth"))
	}
	// A path is looked up on the server, then helped by its type.
	res = c.run("", "auth", "help", "corp").want(t, 0)
	if !strings.Contains(res.stdout, "username=<string>") {
		t.Errorf("auth help corp: %q", res.stdout)
	}
	res = c.run("", "auth", "help", "gh/").want(t, 2)
	if !strings.Contains(res.stderr, `No method-specific CLI handler available for auth method "github"`) {
		t.Errorf("auth help gh/: %q", res.stderr)
	}
	c.run("", "auth", "help").want(t, 1)
}
