package raft

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/physical/physicaltest"
)

func TestConformance(t *testing.T) {
	physicaltest.Run(t, func(t *testing.T) physical.Backend {
		return newSingleNode(t, testLogger(t))
	})
}

func TestBootstrap(t *testing.T) {
	logger := testLogger(t)
	dir := t.TempDir()
	b := openNode(t, testConfig(dir, "", logger))
	if b.Initialized() {
		t.Fatal("Initialized() = true on a fresh node")
	}
	if b.IsLeader() {
		t.Fatal("a fresh node claims leadership")
	}
	if err := b.Put(context.Background(), &physical.Entry{Key: "k", Value: []byte("v")}); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("Put before bootstrap: err = %v, want ErrNotLeader", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := b.Bootstrap(ctx); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	if !b.Initialized() || !b.IsLeader() {
		t.Fatalf("after Bootstrap: Initialized=%v IsLeader=%v, want both", b.Initialized(), b.IsLeader())
	}
	if err := b.Bootstrap(ctx); !errors.Is(err, ErrAlreadyInitialized) {
		t.Fatalf("second Bootstrap: err = %v, want ErrAlreadyInitialized", err)
	}
	if id, addr := b.Leader(); id != b.NodeID() || addr != b.Addr() {
		t.Fatalf("Leader() = %q %q, want %q %q", id, addr, b.NodeID(), b.Addr())
	}
	peers, err := b.Configuration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(peers) != 1 || peers[0] != (Peer{ID: b.NodeID(), Address: b.Addr(), Leader: true, Voter: true}) {
		t.Fatalf("Configuration() = %+v", peers)
	}

	// The generated node ID was persisted and is reused.
	raw, err := os.ReadFile(filepath.Join(dir, nodeIDFileName))
	if err != nil || string(raw) != b.NodeID() || len(b.NodeID()) != 36 {
		t.Fatalf("node-id file = %q, %v; NodeID() = %q", raw, err, b.NodeID())
	}
	mustPut(t, b, "k", "v")
	id := b.NodeID()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	conf := testConfig(dir, "", logger)
	conf.BindAddr = b.Addr()
	b2 := openNode(t, conf)
	if b2.NodeID() != id {
		t.Fatalf("NodeID after restart = %q, want %q", b2.NodeID(), id)
	}
	waitFor(t, "restarted single node to lead", b2.IsLeader)
	wantValue(t, b2, "k", "v")
}

func TestNonVoterCannotBootstrap(t *testing.T) {
	conf := testConfig(t.TempDir(), "nv", testLogger(t))
	conf.NonVoter = true
	b := openNode(t, conf)
	if err := b.Bootstrap(context.Background()); err == nil || !strings.Contains(err.Error(), "non_voter") {
		t.Fatalf("Bootstrap on a non-voter: err = %v", err)
	}
	if b.Initialized() {
		t.Fatal("failed Bootstrap left raft state")
	}
}

func TestPathLocked(t *testing.T) {
	logger := testLogger(t)
	dir := t.TempDir()
	openNode(t, testConfig(dir, "a", logger))
	start := time.Now()
	_, err := New(context.Background(), testConfig(dir, "b", logger))
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second New on the same path: err = %v, want ErrLocked", err)
	}
	if d := time.Since(start); d > waitTimeout {
		t.Fatalf("second New took %s", d)
	}
}

func TestWriteValidation(t *testing.T) {
	logger := testLogger(t)
	conf := testConfig(t.TempDir(), "node0", logger)
	conf.MaxEntrySize = 4096
	b := openNode(t, conf)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := b.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"empty key", b.Put(ctx, &physical.Entry{Key: "", Value: []byte("v")}), "empty key"},
		{"long key", b.Put(ctx, &physical.Entry{Key: strings.Repeat("k", 40000), Value: nil}), "exceeds"},
		{"too large", b.Put(ctx, &physical.Entry{Key: "big", Value: make([]byte, 5000)}), ErrEntryTooLarge.Error()},
		{"nil op", b.Transaction(ctx, []*physical.TxnOp{nil}), "no entry"},
		{"bad op", b.Transaction(ctx, []*physical.TxnOp{{Op: 9, Entry: &physical.Entry{Key: "x"}}}), "unknown operation"},
		{"txn empty key", b.Transaction(ctx, []*physical.TxnOp{{Op: physical.PutOp, Entry: &physical.Entry{Key: "ok"}}, {Op: physical.DeleteOp, Entry: &physical.Entry{}}}), "empty key"},
	}
	for _, tc := range tests {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, tc.err, tc.want)
		}
	}
	if keys, err := b.List(ctx, ""); err != nil || len(keys) != 0 {
		t.Fatalf("after rejected writes List = %q, %v; want nothing stored", keys, err)
	}
}

func TestClosed(t *testing.T) {
	b := newSingleNode(t, testLogger(t))
	watch, stop := b.WatchLeadership()
	defer stop()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := context.Background()
	if _, err := b.Get(ctx, "k"); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	if err := b.Put(ctx, &physical.Entry{Key: "k"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close: %v", err)
	}
	// The watch channel ends with false, then closes.
	last := true
	for v := range watch {
		last = v
	}
	if last {
		t.Error("leadership watch ended with true")
	}
}
