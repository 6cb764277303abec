package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/audit"
)

// TestAuditRotateOnReload: logrotate's way — rename the file, then SIGHUP
// (the server's reload channel) — leaves the entries before in the renamed
// file and starts a new one at the configured path; the chain runs on
// from one file to the next.
func TestAuditRotateOnReload(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	reload := make(chan struct{})
	ready, done := make(chan []string, 1), make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Dev: true, DevRootTokenID: devRoot, DevListenAddress: "127.0.0.1:0", Out: io.Discard,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func(a []string) { ready <- a }}, reload)
	}()
	var addr string
	select {
	case a := <-ready:
		addr = a[0]
	case err := <-done:
		cancel()
		t.Fatalf("server: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start")
	}
	t.Cleanup(func() { cancel(); <-done })
	c, err := vault.NewClient(&vault.Config{Address: "http://" + addr, MaxRetries: 0})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(devRoot)
	logPath := filepath.Join(t.TempDir(), "audit.log")
	if err := c.Sys().EnableAuditWithOptions("file", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": logPath}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVv2("secret").Put(context.Background(), "before", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	reload <- struct{}{} // what SIGHUP does
	// The reload runs on the server's goroutine: poll until the new file
	// appears (requests made meanwhile land in one file or the other).
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := c.KVv2("secret").Put(context.Background(), "after", map[string]any{"v": "2"}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(logPath); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no new audit file after the reload")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := c.KVv2("secret").Put(context.Background(), "last", map[string]any{"v": "3"}); err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(logPath + ".1")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(old), "secret/data/before") || strings.Contains(string(old), "secret/data/last") {
		t.Errorf("rotated file holds the wrong entries")
	}
	if !strings.Contains(string(cur), "secret/data/last") || strings.Contains(string(cur), "secret/data/before") {
		t.Errorf("new file holds the wrong entries")
	}
	rep, err := audit.VerifyChain(bytes.NewReader(append(old, cur...)), nil)
	if err != nil || len(rep.Restarts) != 0 {
		t.Fatalf("chain across the rotation: %+v, %v", rep, err)
	}
}
