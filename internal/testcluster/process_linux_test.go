package testcluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// procState is the kernel's one-letter state of a process: R, S, T (stopped)…
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return ""
	}
	return s[i+2 : i+3]
}

// TestProcessNodeLifecycle drives one real node through every lifecycle
// method and checks each against the process and the API.
func TestProcessNodeLifecycle(t *testing.T) {
	c := NewCluster(t, Options{Proxies: true})
	n := c.ProcessNodes()[0]
	if n.Link() == nil || n.ClusterAddr() != "https://"+n.Proxy().Addr() || n.Proxy().Target() != fmt.Sprintf("127.0.0.1:%d", n.cfg.ClusterPort) {
		t.Fatalf("proxied node: cluster_addr %s, proxy %s → %s", n.ClusterAddr(), n.Proxy().Addr(), n.Proxy().Target())
	}
	if cfg, err := os.ReadFile(n.ConfigPath()); err != nil || !strings.Contains(string(cfg), n.ClusterAddr()) {
		t.Fatalf("config does not advertise the proxy (%v):\n%s", err, cfg)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Second)
	defer cancel()
	health := func() int {
		t.Helper()
		code, err := c.probe.healthCode(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}

	if code := health(); code != http.StatusNotImplemented {
		t.Fatalf("fresh node health = %d, want 501", code)
	}
	if err := n.Start(ctx); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Start = %v, want ErrRunning", err)
	}
	keys, root := c.Init(t)
	if len(keys) != 3 || root == "" || c.RootToken() != root || len(c.UnsealKeys()) != 3 {
		t.Fatalf("Init gave %d keys, root %q", len(keys), root)
	}
	c.UnsealAll(t)
	if got := c.WaitForActive(t, 10*time.Second); got.ID() != "node0" {
		t.Fatalf("active = %s", got.ID())
	}
	if s := c.WaitForStandbys(t, 10*time.Second); len(s) != 0 {
		t.Fatalf("standbys of a single node = %v", s)
	}
	if st, err := n.Client(root).Sys().HealthWithContext(ctx); err != nil || !st.Initialized || st.Sealed {
		t.Fatalf("client health = %+v, %v", st, err)
	}

	// Pause: the kernel stops the process; the node no longer counts.
	pid := n.PID()
	if err := n.Pause(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the process to stop", func() bool { return procState(pid) == "T" })
	if _, err := c.Leader(ctx); !errors.Is(err, ErrNoActive) {
		t.Fatalf("Leader with the only node paused = %v, want ErrNoActive", err)
	}
	if err := n.Resume(); err != nil {
		t.Fatal(err)
	}
	if l, err := c.Leader(ctx); err != nil || l.ID() != "node0" {
		t.Fatalf("Leader after Resume = %v, %v", l, err)
	}

	// Stop is graceful (exit 0); storage keeps the init; Start comes back sealed.
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n.State() != Stopped || n.PID() != 0 {
		t.Fatalf("after Stop: %s, pid %d", n.State(), n.PID())
	}
	if err := n.Pause(); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Pause of a stopped node = %v", err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if code := health(); code != http.StatusServiceUnavailable {
		t.Fatalf("restarted node health = %d, want 503 (sealed)", code)
	}
	if err := c.Unseal(ctx, n); err != nil {
		t.Fatal(err)
	}

	// Restart stops a paused node too.
	if err := n.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := n.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if code := health(); code != http.StatusServiceUnavailable {
		t.Fatalf("after Restart health = %d, want 503", code)
	}

	// A process that dies without being asked is reported.
	if err := syscall.Kill(n.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the crash to be seen", func() bool { return n.State() == Stopped })
	if crashes := n.crashReports(); len(crashes) != 1 || !strings.Contains(crashes[0], "exited unexpectedly") {
		t.Fatalf("crash reports = %q", crashes)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.Kill(); err != nil || n.State() != Stopped {
		t.Fatalf("Kill = %v, state %s", err, n.State())
	}
	if err := n.Kill(); err != nil {
		t.Fatalf("second Kill = %v", err)
	}
	if tail := n.LogTail(); !strings.Contains(tail, "start #4 of node0") {
		t.Fatalf("log does not record the fourth start:\n%s", tail)
	}
}
