package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// kvApp mounts KV v2 at secret/, writes secret/app and creates an approle
// role whose tokens may read it.
func kvApp(t *testing.T, s *testServer, dir, password string) (rid, sid string) {
	t.Helper()
	c := s.client(s.root)
	if err := c.Sys().Mount("secret", &vault.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatalf("mount kv: %v", err)
	}
	if err := c.Sys().PutPolicy("app", `path "secret/data/app" { capabilities = ["read"] }`); err != nil {
		t.Fatalf("policy: %v", err)
	}
	kvPut(t, c, password)
	return s.appRole(dir, map[string]any{"token_ttl": "1h", "token_policies": "app"})
}

func kvPut(t *testing.T, c *vault.Client, password string) {
	t.Helper()
	if _, err := c.KVv2("secret").Put(context.Background(), "app", map[string]any{"password": password}); err != nil {
		t.Fatalf("kv put: %v", err)
	}
}

func templateHCL(dest, cmdLog, extra string) string {
	return fmt.Sprintf(`
template {
  contents    = "password={{ with secret \"secret/data/app\" }}{{ .Data.data.password }}{{ end }}"
  destination = %q
  perms       = "0600"
  command     = "echo ran >> %s"
  error_on_missing_key = true
}
template_config {
  static_secret_render_interval = "1s"
}
%s`, dest, cmdLog, extra)
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func TestTemplateRenderedAndReRenderedAfterKVPut(t *testing.T) {
	s := newTestServer(t)
	dir := t.TempDir()
	rid, sid := kvApp(t, s, dir, "one")
	dest, cmdLog := filepath.Join(dir, "app.conf"), filepath.Join(dir, "cmd.log")
	a := startAgent(t, agentHCL(s.addr, rid, sid, filepath.Join(dir, "token"), templateHCL(dest, cmdLog, "")))
	eventually(t, 30*time.Second, "the first render and its command", func() bool {
		return readFile(dest) == "password=one" && strings.Count(readFile(cmdLog), "ran") >= 1
	})
	fi, err := os.Stat(dest)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("destination mode: %v %v", fi, err)
	}
	kvPut(t, s.client(s.root), "two")
	eventually(t, 30*time.Second, "the re-render after kv put and the command run again", func() bool {
		return readFile(dest) == "password=two" && strings.Count(readFile(cmdLog), "ran") >= 2
	})
	if strings.Contains(a.logs.String(), "password=") {
		t.Error("a rendered secret appears in the agent's log")
	}
}

func TestTemplateExitAfterAuthRendersOnce(t *testing.T) {
	s := newTestServer(t)
	dir := t.TempDir()
	rid, sid := kvApp(t, s, dir, "once")
	dest, cmdLog := filepath.Join(dir, "app.conf"), filepath.Join(dir, "cmd.log")
	cfg, err := Parse("agent.hcl", []byte(agentHCL(s.addr, rid, sid, filepath.Join(dir, "token"), templateHCL(dest, cmdLog, "exit_after_auth = true"))))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := Run(ctx, cfg, nil); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run returned only when its context ended")
	}
	if got := readFile(dest); got != "password=once" {
		t.Fatalf("destination = %q", got)
	}
}

func TestTemplateMissingKeyExitsOnRetryFailure(t *testing.T) {
	s := newTestServer(t)
	dir := t.TempDir()
	rid, sid := kvApp(t, s, dir, "x")
	dest := filepath.Join(dir, "out")
	tmpl := fmt.Sprintf(`
template {
  contents = "{{ with secret \"secret/data/app\" }}{{ .Data.data.nope }}{{ end }}"
  destination = %q
  error_on_missing_key = true
}
template_config { exit_on_retry_failure = true }
`, dest)
	hcl := strings.Replace(agentHCL(s.addr, rid, sid, filepath.Join(dir, "token"), tmpl), "num_retries = -1", "num_retries = 1", 1)
	cfg, err := Parse("agent.hcl", []byte(hcl))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = Run(ctx, cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("Run = %v, want the missing key error", err)
	}
	if _, serr := os.Stat(dest); !os.IsNotExist(serr) {
		t.Errorf("destination written despite the error (stat %v)", serr)
	}
}
