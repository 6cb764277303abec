package raft

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/strongbox/strongbox/internal/physical"
)

// restart closes node i and opens it again from its directory.
func (c *testCluster) restart(t *testing.T, i int, before func()) *Backend {
	t.Helper()
	if err := c.nodes[i].Close(); err != nil {
		t.Fatalf("Close %s: %v", c.nodes[i].NodeID(), err)
	}
	if before != nil {
		before()
	}
	c.nodes[i] = openNode(t, c.confs[i])
	return c.nodes[i]
}

func stat(t *testing.T, b *Backend, key string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(b.Stats()[key], 10, 64)
	if err != nil {
		t.Fatalf("Stats()[%q]: %v", key, err)
	}
	return v
}

func forceSnapshot(t *testing.T, b *Backend) {
	t.Helper()
	if err := b.raft.Snapshot().Error(); err != nil {
		t.Fatalf("raft snapshot: %v", err)
	}
}

// TestRestartDoesNotReapply restarts a node whose log holds entries both
// before and after its last snapshot: vault.db already reflects them all,
// so nothing is restored and raft's replay is skipped entry by entry.
func TestRestartDoesNotReapply(t *testing.T) {
	c := newCluster(t, 1, nil)
	b := c.nodes[0]
	for i := range 30 {
		mustPut(t, b, fmt.Sprintf("k%02d", i), "old")
	}
	forceSnapshot(t, b)
	for i := range 20 {
		mustPut(t, b, fmt.Sprintf("k%02d", i), "new")
	}
	if err := b.Delete(context.Background(), "k29"); err != nil {
		t.Fatal(err)
	}
	applied := b.AppliedIndex()

	b = c.restart(t, 0, nil)
	if got := b.AppliedIndex(); got != applied {
		t.Fatalf("AppliedIndex after restart = %d, want %d (read from vault.db)", got, applied)
	}
	waitFor(t, "leader after restart", b.IsLeader)
	// Raft replays the 21 entries after the snapshot once it commits in
	// the new term; every one of them is skipped.
	waitFor(t, "replay", func() bool { return stat(t, b, "fsm_entries_skipped") >= 21 })
	// The only entry applied is the new one the node commits on winning
	// the election (becomeReady), none of the replayed ones.
	if n := stat(t, b, "fsm_entries_applied"); n != 1 {
		t.Fatalf("%d entries applied after restart, want 1 (none re-applied)", n)
	}
	if n := stat(t, b, "fsm_restores"); n != 0 {
		t.Fatalf("%d snapshots restored on restart, want 0", n)
	}
	for i := range 29 {
		want := "old"
		if i < 20 {
			want = "new"
		}
		wantValue(t, b, fmt.Sprintf("k%02d", i), want)
	}
	wantMissing(t, b, "k29")
	mustPut(t, b, "after", "restart")
	if n := stat(t, b, "fsm_entries_applied"); n != 2 {
		t.Fatalf("entries applied after one new write = %d, want 2", n)
	}
}

// TestRestartRebuildsLostFSM deletes vault.db while the node is down: it is
// rebuilt from the newest snapshot (if any) plus the log.
func TestRestartRebuildsLostFSM(t *testing.T) {
	for _, withSnapshot := range []bool{true, false} {
		t.Run("snapshot="+strconv.FormatBool(withSnapshot), func(t *testing.T) {
			c := newCluster(t, 1, nil)
			b := c.nodes[0]
			for i := range 10 {
				mustPut(t, b, fmt.Sprintf("k%d", i), "v1")
			}
			if withSnapshot {
				forceSnapshot(t, b)
			}
			for i := range 5 {
				mustPut(t, b, fmt.Sprintf("k%d", i), "v2")
			}
			dbPath := filepath.Join(c.confs[0].Path, fsmFileName)
			b = c.restart(t, 0, func() {
				if err := os.Remove(dbPath); err != nil {
					t.Fatal(err)
				}
			})
			wantRestores := uint64(0)
			if withSnapshot {
				wantRestores = 1
			}
			if n := stat(t, b, "fsm_restores"); n != wantRestores {
				t.Fatalf("restores = %d, want %d", n, wantRestores)
			}
			waitFor(t, "leader", b.IsLeader)
			for i := range 10 {
				want := "v1"
				if i < 5 {
					want = "v2"
				}
				waitValue(t, b, fmt.Sprintf("k%d", i), []byte(want))
			}
		})
	}
}

// TestFollowerCatchesUpBySnapshot keeps a follower down while the leader
// compacts its log, so the follower must install the leader's snapshot;
// a later restart of that follower must not install it again.
func TestFollowerCatchesUpBySnapshot(t *testing.T) {
	// Small segments: raft-wal drops only whole sealed segments, and serves
	// entries of a compacted but unsealed segment to the follower anyway.
	c := newCluster(t, 3, func(conf *Config) { conf.TrailingLogs = 2; conf.walSegmentSize = 8 << 10 })
	leader := c.leader(t)
	idx := slicesIndex(c.nodes, c.followers(leader)[0])
	if err := c.nodes[idx].Close(); err != nil {
		t.Fatal(err)
	}
	value := string(bytes.Repeat([]byte("v"), 1000))
	for i := range 40 {
		mustPut(t, leader, fmt.Sprintf("k%02d", i), value)
	}
	forceSnapshot(t, leader)
	if first, _ := leader.wal.FirstIndex(); first <= c.nodes[idx].AppliedIndex() {
		t.Fatalf("leader's log still starts at %d; the follower will not need a snapshot", first)
	}
	f := openNode(t, c.confs[idx])
	c.nodes[idx] = f
	waitValue(t, f, "k39", []byte(value))
	if n := stat(t, f, "fsm_restores"); n != 1 {
		t.Fatalf("follower installed %d snapshots, want 1", n)
	}
	for i := range 40 {
		wantValue(t, f, fmt.Sprintf("k%02d", i), value)
	}

	f = c.restart(t, idx, nil)
	if n := stat(t, f, "fsm_restores"); n != 0 {
		t.Fatalf("restarted follower re-installed the snapshot (%d restores)", n)
	}
	mustPut(t, leader, "later", "v")
	waitValue(t, f, "later", []byte("v"))
	wantValue(t, f, "k00", value)
}

func slicesIndex(nodes []*Backend, b *Backend) int {
	for i, n := range nodes {
		if n == b {
			return i
		}
	}
	return -1
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader := c.leader(t)
	ctx := context.Background()
	mustPut(t, leader, "a", "1")
	mustPut(t, leader, "b", "1")
	var snap bytes.Buffer
	if err := leader.Snapshot(ctx, &snap); err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	mustPut(t, leader, "a", "2")
	mustPut(t, leader, "c", "1")
	if err := leader.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	follower := c.followers(leader)[0]
	waitFor(t, "follower to apply every write", func() bool { return follower.AppliedIndex() >= leader.AppliedIndex() })
	// A follower can take a snapshot of what it has applied.
	var fsnap bytes.Buffer
	if err := follower.Snapshot(ctx, &fsnap); err != nil {
		t.Fatalf("Snapshot on a follower: %v", err)
	}
	if err := follower.Restore(ctx, bytes.NewReader(snap.Bytes())); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("Restore on a follower: err = %v, want ErrNotLeader", err)
	}

	if err := leader.Restore(ctx, bytes.NewReader(snap.Bytes())); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	wantValue(t, leader, "a", "1")
	wantValue(t, leader, "b", "1")
	wantMissing(t, leader, "c")
	for _, f := range c.followers(leader) {
		waitValue(t, f, "c", nil)
		wantValue(t, f, "a", "1")
		wantValue(t, f, "b", "1")
	}
	// A follower restarted right after the restore, before any new write,
	// comes back with the restored data (its vault.db does not know which
	// index it reflects, so it reinstalls the snapshot).
	i := slicesIndex(c.nodes, follower)
	follower = c.restart(t, i, nil)
	wantValue(t, follower, "a", "1")
	wantMissing(t, follower, "c")

	// Writes carry on after the restore, everywhere.
	mustPut(t, leader, "d", "after-restore")
	for _, f := range c.followers(leader) {
		waitValue(t, f, "d", []byte("after-restore"))
	}

	// The follower's snapshot restores too: it held a=2, c=1, no b.
	if err := leader.Restore(ctx, bytes.NewReader(fsnap.Bytes())); err != nil {
		t.Fatalf("Restore of the follower's snapshot: %v", err)
	}
	wantValue(t, leader, "a", "2")
	wantValue(t, leader, "c", "1")
	wantMissing(t, leader, "b")
	wantMissing(t, leader, "d")
}

func TestRestoreRejectsDamagedSnapshot(t *testing.T) {
	b := newSingleNode(t, testLogger(t))
	ctx := context.Background()
	mustPut(t, b, "keep", "v")
	var snap bytes.Buffer
	if err := b.Snapshot(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	good := snap.Bytes()
	flip := func(at int) []byte {
		d := bytes.Clone(good)
		d[at] ^= 0xff
		return d
	}
	tests := map[string][]byte{
		"empty":          nil,
		"garbage":        []byte("this is not a snapshot at all, just some bytes"),
		"bad magic":      flip(0),
		"data corrupted": flip(snapshotHeaderSize + 5000),
		"bad checksum":   flip(len(good) - 1),
		"truncated":      good[:len(good)/2],
		"no checksum":    good[:len(good)-snapshotTrailerSize],
		"size too large": func() []byte { d := bytes.Clone(good); d[24] = 0x7f; return d }(),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			err := b.Restore(ctx, bytes.NewReader(data))
			if !errors.Is(err, ErrInvalidSnapshot) {
				t.Fatalf("Restore: err = %v, want ErrInvalidSnapshot", err)
			}
			wantValue(t, b, "keep", "v")
			mustPut(t, b, "still", "writable")
		})
	}
	// No spooled files are left behind.
	left, _ := filepath.Glob(filepath.Join(b.dir, "raft", "*.restore-*"))
	left2, _ := filepath.Glob(filepath.Join(b.dir, "*.restore-*"))
	if len(left)+len(left2) > 0 {
		t.Fatalf("temporary files left: %v %v", left, left2)
	}
	// Sanity: the good snapshot restores.
	mustPut(t, b, "keep", "changed")
	if err := b.Restore(ctx, bytes.NewReader(good)); err != nil {
		t.Fatalf("Restore(good): %v", err)
	}
	wantValue(t, b, "keep", "v")
	wantMissing(t, b, "still")
}

func TestSnapshotCancelled(t *testing.T) {
	b := newSingleNode(t, testLogger(t))
	mustPut(t, b, "k", "v")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	if err := b.Snapshot(ctx, &buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("Snapshot with a cancelled context: %v", err)
	}
	if err := b.Restore(ctx, bytes.NewReader(nil)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Restore with a cancelled context: %v", err)
	}
	var _ physical.Backend = b
}
