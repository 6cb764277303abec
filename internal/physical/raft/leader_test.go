package raft

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// TestBarrierGroupCoalesces: callers that arrive while a barrier runs share
// the next one; none is served by a barrier that started before it came.
func TestBarrierGroupCoalesces(t *testing.T) {
	var g barrierGroup
	var calls atomic.Int32
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	barrier := func() error {
		calls.Add(1)
		started <- struct{}{}
		<-release
		return nil
	}
	ctx := context.Background()
	errs := make(chan error, 10)
	go func() { errs <- g.do(ctx, barrier) }()
	<-started // barrier 1 runs
	const late = 5
	var wg sync.WaitGroup
	for range late {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- g.do(ctx, barrier) }()
	}
	waitFor(t, "late callers to queue", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.next != nil && g.next.waiters == late
	})
	release <- struct{}{}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	select {
	case <-started: // barrier 2 runs for all late callers
	case <-time.After(waitTimeout):
		t.Fatal("no second barrier")
	}
	select {
	case err := <-errs:
		t.Fatalf("a late caller returned (%v) before its barrier finished", err)
	default:
	}
	close(release)
	wg.Wait()
	for range late {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d barriers for 6 callers in two waves, want 2", n)
	}

	// A caller's context bounds its wait; the error is the barrier's otherwise.
	boom := errors.New("boom")
	if err := g.do(ctx, func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the barrier's", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	block := make(chan struct{})
	defer close(block)
	if err := g.do(cctx, func() error { <-block; return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: err = %v", err)
	}
}

func TestLeaderWatch(t *testing.T) {
	w := newLeaderWatch()
	a, stopA := w.subscribe()
	if v := <-a; v {
		t.Fatal("initial state true")
	}
	// A slow reader only sees the latest state.
	w.set(true)
	w.set(false)
	w.set(true)
	if v := <-a; !v {
		t.Fatal("latest state lost")
	}
	select {
	case v := <-a:
		t.Fatalf("stale state %v queued", v)
	default:
	}
	b, _ := w.subscribe()
	if v := <-b; !v {
		t.Fatal("new subscriber did not get the current state")
	}
	stopA()
	stopA()
	if _, ok := <-a; ok {
		t.Fatal("stopped channel open")
	}
	w.close()
	if v, ok := <-b; !ok || v {
		t.Fatalf("close: got %v, %v; want false first", v, ok)
	}
	if _, ok := <-b; ok {
		t.Fatal("channel open after close")
	}
	c, _ := w.subscribe()
	if _, ok := <-c; ok {
		t.Fatal("subscribing after close returned an open channel")
	}
}

func TestHCLogger(t *testing.T) {
	var buf syncBuffer
	l := newHCLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), "raft")
	l.Debug("hidden")
	l.Named("wal").With("peer", "n2").Info("replicating", "index", 7, "dangling")
	l.Error("failed", "error", errors.New("disk"))
	out := buf.String()
	for _, want := range []string{"logger=raft.wal", "peer=n2", "index=7", "extra=dangling", "level=ERROR", "error=disk"} {
		if !strings.Contains(out, want) {
			t.Errorf("log output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hidden") || l.IsDebug() || !l.IsInfo() || l.GetLevel() != hclog.Info {
		t.Errorf("level filtering: debug shown or misreported:\n%s", out)
	}
	if strings.Count(out, "logger=") != 2 {
		t.Errorf("each line should carry one logger name:\n%s", out)
	}
}
