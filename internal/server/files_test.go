package server

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/config"
)

// TestLogFileRotation: log_file receives the server's log (here, each
// completed request at log_requests_level); log_rotate_bytes starts new
// files and log_rotate_max_files bounds how many old ones are kept.
func TestLogFileRotation(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "logs", "strongbox.log")
	if err := os.Mkdir(filepath.Dir(logPath), 0o700); err != nil {
		t.Fatal(err)
	}
	srv, root := listenerServer(t, "", `
log_file             = "`+logPath+`"
log_rotate_bytes     = 2048
log_rotate_max_files = 2
log_requests_level   = "info"`)
	c := srv.client(root)
	for range 60 {
		if _, err := c.Sys().ListMounts(); err != nil {
			t.Fatal(err)
		}
	}
	cur, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(cur) > 2048 || !strings.Contains(string(cur), "completed request") {
		t.Fatalf("current log file (%d bytes): %q", len(cur), cur)
	}
	old, err := filepath.Glob(filepath.Join(dir, "logs", "strongbox-*.log"))
	if err != nil {
		t.Fatal(err)
	}
	if len(old) != 2 {
		t.Fatalf("rotated files = %q, want exactly 2 kept", old)
	}
	for _, f := range old {
		b, err := os.ReadFile(f)
		if err != nil || len(b) == 0 || len(b) > 2048 || !strings.Contains(string(b), "path=/v1/sys/mounts") {
			t.Fatalf("rotated file %s (%d bytes, %v)", f, len(b), err)
		}
	}
}

// TestLogRotateDuration: log_rotate_duration starts a new file once the
// current one is that old.
func TestLogRotateDuration(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "s.log")
	srv, root := listenerServer(t, "", `
log_file            = "`+logPath+`"
log_rotate_duration = "1s"
log_requests_level  = "info"`)
	c := srv.client(root)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := c.Sys().ListMounts(); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(dir, "s-*.log"))
		if len(old) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no rotation by age within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPIDFile: pid_file holds the server's pid while it runs and is gone
// after it stops.
func TestPIDFile(t *testing.T) {
	dir := t.TempDir()
	pid := filepath.Join(dir, "strongbox.pid")
	srv := startServer(t, Options{ConfigPaths: []string{listenerConfig(t, dir, "", `pid_file = "`+pid+`"`)}})
	b, err := os.ReadFile(pid)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("pid file holds %q, want %d", b, os.Getpid())
	}
	srv.stop()
	if _, err := os.Stat(pid); !os.IsNotExist(err) {
		t.Fatalf("pid file still there after stop: %v", err)
	}
}

// TestMaxRequestDurationOptions: a listener's max_request_duration wins;
// without it default_max_request_duration applies; without both, Vault's
// 90s.
func TestMaxRequestDurationOptions(t *testing.T) {
	for _, tc := range []struct {
		listener, top, want time.Duration
	}{
		{0, 0, 90 * time.Second},
		{0, 7 * time.Second, 7 * time.Second},
		{3 * time.Second, 7 * time.Second, 3 * time.Second},
	} {
		cfg := &config.Config{DefaultMaxRequestDuration: tc.top}
		o, err := listenerOptions(cfg, &config.Listener{MaxRequestDuration: tc.listener}, nil, quietLogger())
		if err != nil || o.MaxRequestDuration != tc.want {
			t.Errorf("listener %s, default %s: got %s (%v), want %s", tc.listener, tc.top, o.MaxRequestDuration, err, tc.want)
		}
	}
}

// TestListenerTimeouts: the http_*_timeout settings reach the HTTP server,
// with Vault's defaults (read 30s, header 10s, write 0, idle 5m).
func TestListenerTimeouts(t *testing.T) {
	hs := &http.Server{}
	applyTimeouts(hs, &config.Listener{})
	if hs.ReadTimeout != 30*time.Second || hs.ReadHeaderTimeout != 10*time.Second || hs.WriteTimeout != 0 || hs.IdleTimeout != 5*time.Minute {
		t.Fatalf("defaults: %+v", hs)
	}
	c, err := config.Parse("c.hcl", []byte(`listener "tcp" {
  http_read_timeout        = "1s"
  http_read_header_timeout = "2s"
  http_write_timeout       = "3s"
  http_idle_timeout        = "4s"
}`))
	if err != nil {
		t.Fatal(err)
	}
	applyTimeouts(hs, c.Listeners[0])
	if hs.ReadTimeout != time.Second || hs.ReadHeaderTimeout != 2*time.Second || hs.WriteTimeout != 3*time.Second || hs.IdleTimeout != 4*time.Second {
		t.Fatalf("configured: %+v", hs)
	}
}
