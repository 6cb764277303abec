package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// env_template + exec: the command starts with the secret in its
// environment and is restarted with the new value after `kv put`.
func TestExecRestartedWithNewSecret(t *testing.T) {
	s := newTestServer(t)
	dir := t.TempDir()
	rid, sid := kvApp(t, s, dir, "s3cret-one")
	out := filepath.Join(dir, "seen")
	extra := fmt.Sprintf(`
env_template "APP_PASSWORD" {
  contents = "{{ with secret \"secret/data/app\" }}{{ .Data.data.password }}{{ end }}"
  error_on_missing_key = true
}
exec {
  command = ["sh", "-c", "echo \"$APP_PASSWORD\" >> %s; exec sleep 600"]
  restart_on_secret_changes = "always"
}
template_config { static_secret_render_interval = "1s" }
`, out)
	a := startAgent(t, agentHCL(s.addr, rid, sid, filepath.Join(dir, "token"), extra))
	eventually(t, 30*time.Second, "the command started with the secret", func() bool { return readFile(out) == "s3cret-one\n" })
	kvPut(t, s.client(s.root), "s3cret-two")
	eventually(t, 30*time.Second, "the command restarted with the new secret", func() bool { return readFile(out) == "s3cret-one\ns3cret-two\n" })
	if l := a.logs.String(); strings.Contains(l, "s3cret") {
		t.Error("a secret value appears in the agent's log")
	}
}

// The agent stops when the command exits by itself.
func TestExecChildExitStopsAgent(t *testing.T) {
	s := newTestServer(t)
	dir := t.TempDir()
	rid, sid := kvApp(t, s, dir, "x")
	extra := `
env_template "V" {
  contents = "{{ with secret \"secret/data/app\" }}{{ .Data.data.password }}{{ end }}"
}
exec { command = ["sh", "-c", "exit 3"] }
`
	cfg, err := Parse("agent.hcl", []byte(agentHCL(s.addr, rid, sid, filepath.Join(dir, "token"), extra)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = Run(ctx, cfg, nil)
	if !errors.Is(err, ErrChildExited) || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("Run = %v, want the child's exit", err)
	}
}
