package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

// TestAuditFailClosedStoresNothing: with a socket device as the only
// device, and its peer gone, a write answers 500 and does not happen: once
// the peer is back, the key is not there.
func TestAuditFailClosedStoresNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	drainConns := func(ln net.Listener) *[]net.Conn {
		var conns []net.Conn
		var mu sync.Mutex
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
				go func() { _, _ = io.Copy(io.Discard, c) }()
			}
		}()
		return &conns
	}
	conns := drainConns(ln)
	_, c := startDev(t)
	ctx := context.Background()
	if err := c.Sys().EnableAuditWithOptions("sock", &vault.EnableAuditOptions{Type: "socket", Options: map[string]string{"address": addr}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVv2("secret").Put(ctx, "a", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	_ = ln.Close()
	for _, conn := range *conns {
		_ = conn.Close()
	}
	// The first write after the peer left may still be accepted by the
	// kernel; reads show when the device has noticed.
	pollUntil(t, "the socket device to fail", func() bool {
		_, err := c.KVv2("secret").Get(ctx, "a")
		var re *vault.ResponseError
		return errors.As(err, &re) && re.StatusCode == http.StatusInternalServerError
	})
	_, err = c.KVv2("secret").Put(ctx, "unaudited", map[string]any{"v": "1"})
	assertStatus(t, err, http.StatusInternalServerError)

	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = ln2.Close() })
	drainConns(ln2)
	pollUntil(t, "the socket device to recover", func() bool {
		_, err := c.KVv2("secret").Get(ctx, "a")
		return err == nil
	})
	if _, err := c.KVv2("secret").Get(ctx, "unaudited"); !errors.Is(err, vault.ErrSecretNotFound) {
		t.Fatalf("the refused write happened: get = %v, want not found", err)
	}
}

// TestAuditSocketPeerNeverReads: a socket device (write_timeout 1h) whose
// peer accepts and never reads, beside a file device. Requests carrying
// big values keep succeeding after the socket's buffers fill: they would
// wait an hour if a request waited on the socket past the broker's write
// deadline. Alone, the stuck device fails closed at once.
func TestAuditSocketPeerNeverReads(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn) // held open, never read
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_, _ = io.Copy(io.Discard, io.LimitReader(c, 0))
			_ = c.Close()
		}
	})
	_, c := startDev(t)
	ctx := context.Background()
	good := filepath.Join(t.TempDir(), "audit.log")
	if err := c.Sys().EnableAuditWithOptions("good", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": good}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().EnableAuditWithOptions("sock", &vault.EnableAuditOptions{Type: "socket", Options: map[string]string{
		"address": ln.Addr().String(), "write_timeout": "1h", "log_raw": "true",
	}}); err != nil {
		t.Fatal(err)
	}
	// 120 requests and responses of 256 KiB in clear: far more than the
	// loopback socket buffers hold.
	big := strings.Repeat("x", 256<<10)
	for i := 0; i < 120; i++ {
		if _, err := c.KVv2("secret").Put(ctx, "big", map[string]any{"v": big}); err != nil {
			t.Fatalf("put %d with the socket peer silent: %v", i, err)
		}
	}
	if err := c.Sys().DisableAudit("good"); err != nil {
		t.Fatal(err)
	}
	_, err = c.KVv2("secret").Put(ctx, "after", map[string]any{"v": "1"})
	assertStatus(t, err, http.StatusInternalServerError)
}
