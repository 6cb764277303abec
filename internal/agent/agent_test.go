package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// agentHCL is an approle agent config writing one sink.
func agentHCL(addr, roleID, secretID, sink, extra string) string {
	return fmt.Sprintf(`
vault {
  address = "http://%s"
  retry { num_retries = -1 }
}
auto_auth {
  method "approle" {
    mount_path  = "auth/approle"
    min_backoff = "100ms"
    max_backoff = "1s"
    config {
      role_id_file_path   = %q
      secret_id_file_path = %q
    }
  }
  sink "file" {
    config {
      path = %q
      mode = 0600
    }
  }
}
%s
`, addr, roleID, secretID, sink, extra)
}

func TestAppRoleLoginWritesSinkWithMode(t *testing.T) {
	s := newTestServer(t)
	dir := t.TempDir()
	rid, sid := s.appRole(dir, map[string]any{"token_ttl": "1h", "token_policies": "default"})
	sink := filepath.Join(dir, "token")
	sink2 := filepath.Join(dir, "token-world-readable")
	// A second sink, its mode given as a string.
	hcl := strings.Replace(agentHCL(s.addr, rid, sid, sink, ""), "auto_auth {", fmt.Sprintf("auto_auth {\n  sink \"file\" {\n    config {\n      path = %q\n      mode = \"0644\"\n    }\n  }", sink2), 1)
	a := startAgent(t, hcl)
	eventually(t, 20*time.Second, "the sinks", func() bool { return sinkToken(sink) != "" && sinkToken(sink2) != "" })
	tok := sinkToken(sink)
	if sinkToken(sink2) != tok {
		t.Fatal("the two sinks hold different tokens")
	}
	for path, want := range map[string]os.FileMode{sink: 0o600, sink2: 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode = %o, want %o", filepath.Base(path), fi.Mode().Perm(), want)
		}
	}
	look, err := s.client(tok).Auth().Token().LookupSelf()
	if err != nil {
		t.Fatalf("lookup-self with the sink's token: %v", err)
	}
	if got := look.Data["meta"].(map[string]any)["role_name"]; got != "app" {
		t.Errorf("token's role_name = %v, want app", got)
	}
	if strings.Contains(a.logs.String(), tok) {
		t.Error("the token appears in the agent's log")
	}
	// remove_secret_id_file_after_reading defaults to true.
	if _, err := os.Stat(sid); !os.IsNotExist(err) {
		t.Errorf("secret ID file still there after login (stat err %v)", err)
	}
}

func TestTokenRenewedPastItsTTL(t *testing.T) {
	s := newTestServer(t)
	dir := t.TempDir()
	rid, sid := s.appRole(dir, map[string]any{"token_ttl": "3s", "token_max_ttl": "1h"})
	sink := filepath.Join(dir, "token")
	a := startAgent(t, agentHCL(s.addr, rid, sid, sink, ""))
	eventually(t, 20*time.Second, "the sink", func() bool { return sinkToken(sink) != "" })
	tok := sinkToken(sink)
	issued := time.Now()
	// Well past the 3s TTL the first token still works: it was renewed.
	eventually(t, 30*time.Second, "two renewals and the first TTL passed", func() bool {
		return strings.Count(a.logs.String(), "token renewed") >= 2 && time.Since(issued) > 4*time.Second
	})
	if got := sinkToken(sink); got != tok {
		t.Fatal("the agent logged in again instead of renewing")
	}
	if _, err := s.client(tok).Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("token no longer valid after its first TTL: %v", err)
	}
}

func TestRevokedTokenIsReplaced(t *testing.T) {
	s := newTestServer(t)
	dir := t.TempDir()
	rid, sid := s.appRole(dir, map[string]any{"token_ttl": "3s", "token_max_ttl": "1h"})
	sink := filepath.Join(dir, "token")
	startAgent(t, agentHCL(s.addr, rid, sid, sink, ""))
	eventually(t, 20*time.Second, "the sink", func() bool { return sinkToken(sink) != "" })
	old := sinkToken(sink)
	if err := s.client(s.root).Auth().Token().RevokeTree(old); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	eventually(t, 30*time.Second, "a new, valid token in the sink", func() bool {
		tok := sinkToken(sink)
		if tok == old || tok == "" {
			return false
		}
		_, err := s.client(tok).Auth().Token().LookupSelf()
		return err == nil
	})
}

func TestAgentRecoversAfterServerRestart(t *testing.T) {
	s := newTestServer(t)
	dir := t.TempDir()
	rid, sid := s.appRole(dir, map[string]any{"token_ttl": "3s", "token_max_ttl": "1h"})
	sink := filepath.Join(dir, "token")
	a := startAgent(t, agentHCL(s.addr, rid, sid, sink, ""))
	eventually(t, 20*time.Second, "the sink", func() bool { return sinkToken(sink) != "" })
	s.stop()
	eventually(t, 30*time.Second, "the agent to notice the server is down", func() bool {
		l := a.logs.String()
		return strings.Contains(l, "renewal failed") || strings.Contains(l, "authentication failed")
	})
	before := len(a.logs.String())
	s.start()
	s.unseal()
	eventually(t, 60*time.Second, "a renewal or new login after the restart and a valid token in the sink", func() bool {
		l := a.logs.String()[before:]
		if !strings.Contains(l, "token renewed") && !strings.Contains(l, "authentication successful") {
			return false
		}
		_, err := s.client(sinkToken(sink)).Auth().Token().LookupSelf()
		return err == nil
	})
	select {
	case err := <-a.done:
		t.Fatalf("agent exited: %v", err)
	default:
	}
}

func TestExitAfterAuthAndPidFile(t *testing.T) {
	s := newTestServer(t)
	dir := t.TempDir()
	rid, sid := s.appRole(dir, map[string]any{"token_ttl": "1h"})
	sink := filepath.Join(dir, "token")
	pid := filepath.Join(dir, "agent.pid")
	hcl := agentHCL(s.addr, rid, sid, sink, fmt.Sprintf("exit_after_auth = true\npid_file = %q\n", pid))
	cfg, err := Parse("agent.hcl", []byte(hcl))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := Run(ctx, cfg, nil); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run did not return after the first login")
	}
	if _, err := s.client(sinkToken(sink)).Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("sink token: %v", err)
	}
	if _, err := os.Stat(pid); !os.IsNotExist(err) {
		t.Errorf("pid file left behind (stat err %v)", err)
	}
}

func TestPidFileWrittenWhileRunning(t *testing.T) {
	s := newTestServer(t)
	dir := t.TempDir()
	rid, sid := s.appRole(dir, map[string]any{"token_ttl": "1h"})
	pid := filepath.Join(dir, "agent.pid")
	startAgent(t, agentHCL(s.addr, rid, sid, filepath.Join(dir, "token"), fmt.Sprintf("pid_file = %q\n", pid)))
	eventually(t, 20*time.Second, "the pid file", func() bool {
		b, err := os.ReadFile(pid)
		return err == nil && string(b) == strconv.Itoa(os.Getpid())
	})
}

func TestBadSecretIDRetriesThenExitOnErr(t *testing.T) {
	s := newTestServer(t)
	dir := t.TempDir()
	rid, sid := s.appRole(dir, map[string]any{"token_ttl": "1h"})
	writeFile(t, sid, "not-the-secret-id")
	hcl := strings.Replace(agentHCL(s.addr, rid, sid, filepath.Join(dir, "token"), ""), `max_backoff = "1s"`, "max_backoff = \"1s\"\n    exit_on_err = true", 1)
	cfg, err := Parse("agent.hcl", []byte(hcl))
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	err = Run(context.Background(), cfg, newTextLogger(logs))
	if err == nil || !strings.Contains(err.Error(), "auto-auth failed") {
		t.Fatalf("Run = %v, want auto-auth failure", err)
	}
	if strings.Contains(err.Error(), "not-the-secret-id") || strings.Contains(logs.String(), "not-the-secret-id") {
		t.Fatal("the secret ID appears in an error or a log")
	}
}
