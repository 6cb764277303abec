package command

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServerMlock: the server locks its memory unless disable_mlock is set,
// and without the privilege it refuses to start with a clear error.
func TestServerMlock(t *testing.T) {
	setpriv, err1 := exec.LookPath("setpriv")
	prlimit, err2 := exec.LookPath("prlimit")
	if err1 != nil || err2 != nil {
		t.Fatal("this test needs setpriv and prlimit (Debian package util-linux)")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	cfg := filepath.Join(dir, "mlock.hcl")
	writeFile(t, cfg, "storage \"inmem\" {}\nlistener \"tcp\" {\n  address = \"127.0.0.1:0\"\n  tls_disable = true\n}\n")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// No IPC_LOCK capability and a zero RLIMIT_MEMLOCK: mlockall must fail.
	out, err := exec.CommandContext(ctx, prlimit, "--memlock=0:0", setpriv, "--inh-caps=-ipc_lock", "--bounding-set=-ipc_lock",
		bin, "server", "-config", cfg).CombinedOutput()
	if err == nil {
		t.Fatalf("the server started without the privilege to lock memory:\n%s", out)
	}
	if !strings.Contains(string(out), "failed to lock memory") || !strings.Contains(string(out), "disable_mlock") {
		t.Fatalf("unclear error without the mlock privilege:\n%s", out)
	}
	// The same limits with disable_mlock = true: the server starts.
	writeFile(t, cfg, "storage \"inmem\" {}\nlistener \"tcp\" {\n  address = \"127.0.0.1:0\"\n  tls_disable = true\n}\ndisable_mlock = true\n")
	cmd := exec.CommandContext(ctx, prlimit, "--memlock=0:0", setpriv, "--inh-caps=-ipc_lock", "--bounding-set=-ipc_lock",
		bin, "server", "-config", cfg)
	var logs lockedBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(logs.String(), "strongbox server started") {
		if time.Now().After(deadline) {
			t.Fatalf("server with disable_mlock did not start:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
