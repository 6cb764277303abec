package audit

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// pollUntil calls cond until it holds, failing the test after a generous
// bound (a hang guard, not a timing assertion).
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBrokerDevFullBesideHealthy: a file device on /dev/full (every write
// fails with ENOSPC) next to a healthy one. Every request is recorded by
// the healthy one and succeeds; the failing one is reported by Status and
// the observer; alone, it fails closed.
func TestBrokerDevFullBesideHealthy(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Fatalf("this test needs /dev/full: %v", err)
	}
	ctx := context.Background()
	b := NewBroker(quietLogger)
	t.Cleanup(func() { _ = b.Close() })
	var mu sync.Mutex
	observed := map[string]int{}
	b.SetObserver(func(path, kind string, _ time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			observed[path+" failed"]++
		} else {
			observed[path+" ok"]++
		}
	})
	full, err := NewFile(ctx, &DeviceConfig{Path: "full/", Options: map[string]string{"file_path": "/dev/full", "mode": "0000"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Register("full/", full, nil); err != nil {
		t.Fatal(err)
	}
	good, goodPath := newDevice(t, nil, nil)
	if err := b.Register("good/", good, nil); err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := 0; i < n; i++ {
		if err := b.LogRequest(ctx, sampleInput()); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if err := b.LogResponse(ctx, sampleInput()); err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
	}
	if got := len(readEntries(t, goodPath, "")); got != 2*n {
		t.Errorf("healthy device has %d entries, want %d", got, 2*n)
	}
	st, _ := b.Status("full/")
	if !st.Failing || st.Failures == 0 || !strings.Contains(st.LastError, "no space") {
		t.Errorf("status of the /dev/full device = %+v, want failing with ENOSPC", st)
	}
	if st, _ := b.Status("good/"); st.Failing || st.Failures != 0 {
		t.Errorf("status of the healthy device = %+v", st)
	}
	mu.Lock()
	if observed["good/ ok"] != 2*n || observed["full/ failed"] == 0 {
		t.Errorf("observer saw %v", observed)
	}
	mu.Unlock()

	if err := b.Deregister("good/"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		err := b.LogRequest(ctx, sampleInput())
		if !errors.Is(err, ErrAuditFailed) || !strings.Contains(err.Error(), "no space") {
			t.Fatalf("only /dev/full left: err = %v, want ErrAuditFailed with ENOSPC", err)
		}
	}
}

// TestBrokerSocketPeerNeverReads: a socket device whose peer accepts and
// never reads, with a write_timeout of an hour, beside a healthy file
// device. Logging keeps returning (it would hang for an hour otherwise)
// until the socket's buffers fill and the device is marked failing; with
// the peer gone the device comes back.
func TestBrokerSocketPeerNeverReads(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var connsMu sync.Mutex
	var conns []net.Conn
	drain := make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			connsMu.Lock()
			conns = append(conns, c)
			connsMu.Unlock()
			go func() {
				<-drain // silent until the test lets it read
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	b := NewBroker(quietLogger)
	t.Cleanup(func() { _ = b.Close() })
	b.SetWriteDeadline(500 * time.Millisecond)
	sock, err := NewSocket(ctx, &DeviceConfig{Path: "sock/", Options: map[string]string{
		"address": ln.Addr().String(), "write_timeout": "1h", "log_raw": "true",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Register("sock/", sock, nil); err != nil {
		t.Fatal(err)
	}
	good, goodPath := newDevice(t, nil, nil)
	if err := b.Register("good/", good, nil); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 256<<10)
	logged := 0
	for !mustStatus(t, b, "sock/").Stuck {
		if logged == 2000 {
			t.Fatal("socket device never blocked")
		}
		in := sampleInput()
		in.Request.Data = map[string]any{"blob": big}
		if err := b.LogRequest(ctx, in); err != nil {
			t.Fatalf("entry %d: %v", logged, err)
		}
		logged++
	}
	// Stuck: further entries skip it and go on at once.
	for i := 0; i < 10; i++ {
		if err := b.LogRequest(ctx, sampleInput()); err != nil {
			t.Fatal(err)
		}
		logged++
	}
	if got := len(readEntries(t, goodPath, "")); got != logged {
		t.Errorf("healthy device has %d entries, want %d", got, logged)
	}
	st := mustStatus(t, b, "sock/")
	if !st.Failing || !st.Stuck || st.Skipped < 10 || !strings.Contains(st.LastError, "deadline") {
		t.Errorf("status = %+v, want skipped entries and a deadline error", st)
	}

	// Alone and stuck, the socket fails closed without waiting.
	if err := b.Deregister("good/"); err != nil {
		t.Fatal(err)
	}
	if err := b.LogRequest(ctx, sampleInput()); !errors.Is(err, ErrAuditFailed) {
		t.Fatalf("only a stuck device: err = %v, want ErrAuditFailed", err)
	}

	// The peer reads again: the stuck write finishes and requests go
	// through the socket device once more.
	close(drain)
	pollUntil(t, "the socket device to recover", func() bool {
		return b.LogRequest(ctx, sampleInput()) == nil && !mustStatus(t, b, "sock/").Failing
	})
}

func mustStatus(t *testing.T, b *Broker, path string) DeviceStatus {
	t.Helper()
	st, ok := b.Status(path)
	if !ok {
		t.Fatalf("no device at %s", path)
	}
	return st
}
