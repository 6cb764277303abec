package raft

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestSnapshotInfoAndInspect: the exported header reader and the offline
// walker agree with what Snapshot wrote, and refuse a damaged stream.
func TestSnapshotInfoAndInspect(t *testing.T) {
	b := newSingleNode(t, testLogger(t))
	ctx := context.Background()
	mustPut(t, b, "core/a", "1")
	mustPut(t, b, "logical/x/y", "22")
	var snap bytes.Buffer
	if err := b.Snapshot(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	info, err := ReadSnapshotInfo(bytes.NewReader(snap.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if info.Index == 0 || info.Term == 0 || info.StreamSize() != int64(snap.Len()) {
		t.Fatalf("info %+v for a %d-byte stream", info, snap.Len())
	}
	dir := t.TempDir()
	got := map[string]string{}
	info2, err := InspectSnapshot(ctx, bytes.NewReader(snap.Bytes()), dir, func(k string, v []byte) error {
		got[k] = string(v)
		return nil
	})
	if err != nil || info2 != info {
		t.Fatalf("InspectSnapshot: %+v %v, want %+v", info2, err, info)
	}
	if len(got) != 2 || got["core/a"] != "1" || got["logical/x/y"] != "22" {
		t.Fatalf("entries %v", got)
	}
	damaged := bytes.Clone(snap.Bytes())
	damaged[snapshotHeaderSize+100] ^= 1
	if _, err := InspectSnapshot(ctx, bytes.NewReader(damaged), dir, func(string, []byte) error { return nil }); !errors.Is(err, ErrInvalidSnapshot) {
		t.Fatalf("damaged: %v", err)
	}
	if _, err := InspectSnapshot(ctx, bytes.NewReader(snap.Bytes()[:snap.Len()/2]), dir, func(string, []byte) error { return nil }); !errors.Is(err, ErrInvalidSnapshot) {
		t.Fatalf("truncated: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Fatalf("files left behind: %v", left)
	}
}

// TestOnSnapshotInstalled: the hook runs on the leader's restore and on a
// follower that installs the snapshot the leader sends.
func TestOnSnapshotInstalled(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader := c.leader(t)
	ctx := context.Background()
	mustPut(t, leader, "a", "1")
	var snap bytes.Buffer
	if err := leader.Snapshot(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	var calls [3]atomic.Int32
	for i, n := range c.nodes {
		n.OnSnapshotInstalled(func() { calls[i].Add(1) })
	}
	if err := leader.Restore(ctx, bytes.NewReader(snap.Bytes())); err != nil {
		t.Fatal(err)
	}
	for i := range c.nodes {
		waitFor(t, c.nodes[i].NodeID()+" runs the install hook", func() bool { return calls[i].Load() >= 1 })
	}
}

func TestRestoreTimeoutGrowsWithSize(t *testing.T) {
	small := restoreTimeout(10*time.Second, 1<<20)
	large := restoreTimeout(10*time.Second, 1400<<20)
	if small < 10*time.Second || large < 10*time.Second+170*time.Second {
		t.Fatalf("restore timeouts: %s for 1 MB, %s for 1.4 GB", small, large)
	}
}
