package command

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAgentBinaryEndToEnd runs the built binary as server and as agent:
// exit_after_auth writes a working token and exits 0; a long-running agent
// writes its sink and pid file, and SIGTERM stops it cleanly.
func TestAgentBinaryEndToEnd(t *testing.T) {
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	port := freePort(t)
	addr := fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg := filepath.Join(dir, "config.hcl")
	writeFile(t, cfg, fmt.Sprintf("storage \"file\" {\n  path = %q\n}\nlistener \"tcp\" {\n  address = \"127.0.0.1:%d\"\n  tls_disable = true\n}\ndisable_mlock = true\n",
		filepath.Join(dir, "data"), port))
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	sb := &binRunner{t: t, bin: bin, env: cleanEnv(map[string]string{"HOME": home, "VAULT_ADDR": addr})}
	startServer(t, sb, cfg)
	sb.waitReady()
	keys, root := parseInitOutput(t, sb.run("", "operator", "init", "-key-shares=1", "-key-threshold=1").want(t, 0).stdout)
	sb.run("", "operator", "unseal", keys[0]).want(t, 0)
	adm := &binRunner{t: t, bin: bin, env: cleanEnv(map[string]string{"HOME": home, "VAULT_ADDR": addr, "VAULT_TOKEN": root})}
	adm.run("", "auth", "enable", "approle").want(t, 0)
	adm.run("path \"auth/token/create\" {\n  capabilities = [\"update\"]\n}\n", "policy", "write", "creator", "-").want(t, 0)
	adm.run("", "write", "auth/approle/role/web", "token_ttl=1h", "token_policies=default,creator").want(t, 0)
	roleID := adm.run("", "read", "-field=role_id", "auth/approle/role/web/role-id").want(t, 0).stdout
	secretID := func() string {
		return adm.run("", "write", "-f", "-field=secret_id", "auth/approle/role/web/secret-id").want(t, 0).stdout
	}
	ridFile, sidFile := filepath.Join(dir, "role-id"), filepath.Join(dir, "secret-id")
	writeFile(t, ridFile, roleID)
	writeFile(t, sidFile, secretID())
	sink := filepath.Join(dir, "sink")
	pid := filepath.Join(dir, "agent.pid")
	agentCfg := func(extra string) string {
		p := filepath.Join(dir, "agent.hcl")
		writeFile(t, p, fmt.Sprintf(`
vault { address = %q }
auto_auth {
  method "approle" {
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
pid_file = %q
%s`, addr, ridFile, sidFile, sink, pid, extra))
		return p
	}

	// exit_after_auth: one login, the sink, exit 0.
	res := sb.run("", "agent", "-config", agentCfg("exit_after_auth = true"))
	res.want(t, 0)
	tok := readSink(t, sink)
	if strings.Contains(res.stderr, tok) || strings.Contains(res.stderr, strings.TrimSpace(roleID)) {
		t.Error("the agent logged its token or role ID")
	}
	who := &binRunner{t: t, bin: bin, env: cleanEnv(map[string]string{"HOME": home, "VAULT_ADDR": addr, "VAULT_TOKEN": tok})}
	if out := who.run("", "token", "lookup", "-format=json").want(t, 0).stdout; !strings.Contains(out, `"role_name": "web"`) {
		t.Errorf("token lookup with the sink's token:\n%s", out)
	}
	if fi, err := os.Stat(sink); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("sink mode: %v %v", fi, err)
	}
	if _, err := os.Stat(pid); !os.IsNotExist(err) {
		t.Errorf("pid file left after exit (stat err %v)", err)
	}

	// A running agent: pid file while it runs, SIGTERM stops it with 0.
	writeFile(t, sidFile, secretID())
	if err := os.Remove(sink); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "agent", "-config", agentCfg(""))
	cmd.Env = sb.env
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(pid)
		if err == nil && string(b) == fmt.Sprint(cmd.Process.Pid) {
			if _, err := os.Stat(sink); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent did not write its pid file and sink:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	tok2 := readSink(t, sink)
	if tok2 == tok {
		t.Error("the second agent wrote the first agent's token")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Errorf("agent exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("agent did not stop on SIGTERM")
	}
	if _, err := os.Stat(pid); !os.IsNotExist(err) {
		t.Errorf("pid file left after SIGTERM (stat err %v)", err)
	}

	// strongbox proxy, and the seed's example: with VAULT_AGENT_ADDR set,
	// a repeated `token create` returns the same token from the cache.
	writeFile(t, sidFile, secretID())
	if err := os.Remove(sink); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	proxyPort := freePort(t)
	proxyAddr := fmt.Sprintf("http://127.0.0.1:%d", proxyPort)
	proxyCfg := filepath.Join(dir, "proxy.hcl")
	writeFile(t, proxyCfg, fmt.Sprintf(`
vault { address = %q }
auto_auth {
  method "approle" {
    config {
      role_id_file_path   = %q
      secret_id_file_path = %q
    }
  }
}
cache {}
listener "tcp" {
  address     = "127.0.0.1:%d"
  tls_disable = true
}
api_proxy { use_auto_auth_token = true }
`, addr, ridFile, sidFile, proxyPort))
	pcmd := exec.Command(bin, "proxy", "-config", proxyCfg)
	pcmd.Env = sb.env
	plogs := &lockedBuffer{}
	pcmd.Stdout, pcmd.Stderr = plogs, plogs
	if err := pcmd.Start(); err != nil {
		t.Fatal(err)
	}
	pdone := make(chan error, 1)
	go func() { pdone <- pcmd.Wait() }()
	t.Cleanup(func() {
		_ = pcmd.Process.Kill()
		<-pdone
	})
	viaAgent := &binRunner{t: t, bin: bin, env: cleanEnv(map[string]string{"HOME": home, "VAULT_ADDR": addr, "VAULT_AGENT_ADDR": proxyAddr})}
	deadline = time.Now().Add(30 * time.Second)
	var first string
	for {
		res := viaAgent.run("", "token", "create", "-policy=default", "-field=token")
		if res.code == 0 {
			first = res.stdout
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("token create through the proxy: %s\nproxy log:\n%s", res.stderr, plogs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if second := viaAgent.run("", "token", "create", "-policy=default", "-field=token").want(t, 0).stdout; second != first {
		t.Errorf("repeated token create through the proxy returned a new token")
	}
	if strings.Contains(plogs.String(), first) {
		t.Error("the proxy logged a token")
	}
	byServer := &binRunner{t: t, bin: bin, env: cleanEnv(map[string]string{"HOME": home, "VAULT_ADDR": addr, "VAULT_TOKEN": first})}
	byServer.run("", "token", "lookup").want(t, 0)

	// A bad configuration: refused with file and line, exit 1.
	bad := filepath.Join(dir, "bad.hcl")
	writeFile(t, bad, "auto_auth {\n  method \"approle\" {\n    config { role_id_file_path = \"/r\" }\n  }\n}\ntelemetry {}\n")
	if res := sb.run("", "agent", "-config", bad).want(t, 1); !strings.Contains(res.stderr, bad+":6:") {
		t.Errorf("bad config error: %s", res.stderr)
	}
}

func readSink(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		t.Fatalf("sink %s: %v (%d bytes)", path, err, len(b))
	}
	return string(b)
}
