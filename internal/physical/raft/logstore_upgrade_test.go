package raft

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// TestLogStoreOpensWALOfRaftWAL040 opens a log written by raft-wal v0.4.0
// (the version Strongbox shipped before) with the current one, through the
// backend's open path. testdata/wal-v0.4.0 was made by a throwaway program
// on v0.4.0 with 8 KiB segments: entries 1..100 of term 1 appended ten at a
// time (data as testLogData, AppendedAt 2026-01-02T03:04:05Z), 1..40 then
// deleted as after a snapshot (so it holds a sealed segment, 41..80, and the
// unsealed tail, 81..100), CurrentTerm=3, LastVoteTerm=3,
// LastVoteCand="node-a".
func TestLogStoreOpensWALOfRaftWAL040(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	copyDir(t, filepath.Join("testdata", "wal-v0.4.0"), dir)
	w, meta, err := openLogStore(dir, 8<<10, testLogger(t))
	if err != nil {
		t.Fatalf("open a v0.4.0 log: %v", err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = w.Close()
			_ = meta.Close()
		}
	})
	if first, err := w.FirstIndex(); err != nil || first != 41 {
		t.Fatalf("first index = %d, %v; want 41", first, err)
	}
	if last, err := w.LastIndex(); err != nil || last != 100 {
		t.Fatalf("last index = %d, %v; want 100", last, err)
	}
	term1 := func(uint64) uint64 { return 1 }
	wantTestLogs(t, w, 41, 100, term1)
	var l raft.Log
	if err := w.GetLog(100, &l); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC); !l.AppendedAt.Equal(want) || l.Term != 1 || l.Type != raft.LogCommand {
		t.Fatalf("log 100 = term %d type %v appended %v; want term 1, command, %v", l.Term, l.Type, l.AppendedAt, want)
	}
	for key, want := range map[string]uint64{"CurrentTerm": 3, "LastVoteTerm": 3} {
		if got, err := w.GetUint64([]byte(key)); err != nil || got != want {
			t.Fatalf("%s = %d, %v; want %d", key, got, err, want)
		}
	}
	if got, err := w.Get([]byte("LastVoteCand")); err != nil || string(got) != "node-a" {
		t.Fatalf("LastVoteCand = %q, %v; want node-a", got, err)
	}
	if _, err := raft.HasExistingState(w, w, raft.NewInmemSnapshotStore()); err != nil {
		t.Fatalf("raft cannot inspect the old log: %v", err)
	}

	// The current version goes on appending to the old tail, truncates it as
	// raft would, and reads it all back after another restart.
	storeTestLogs(t, w, 101, 130, 3)
	if err := w.DeleteRange(125, 130); err != nil {
		t.Fatal(err)
	}
	if err := w.DeleteRange(41, 60); err != nil {
		t.Fatal(err)
	}
	closed = true
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := meta.Close(); err != nil {
		t.Fatal(err)
	}
	w, meta, err = openLogStore(dir, 8<<10, testLogger(t))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { _ = w.Close(); _ = meta.Close() })
	if last, _ := w.LastIndex(); last != 124 {
		t.Fatalf("last index after truncation and restart = %d, want 124", last)
	}
	first, _ := w.FirstIndex()
	if first < 41 || first > 61 {
		t.Fatalf("first index after head truncation = %d, want 41..61", first)
	}
	wantTestLogs(t, w, first, 124, func(i uint64) uint64 {
		if i > 100 {
			return 3
		}
		return 1
	})
}

// copyDir copies the regular files of src into a new dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLogStoreRepairsLogDamagedByRaftWAL040 opens a log that raft-wal
// v0.4.0's tail truncation left without an index block, as on the survivor
// of the quorum loss. testdata/wal-v0.4.0-truncated was made by a
// throwaway program on v0.4.0 with 16 KiB segments: entries 1..30 of term 1,
// CurrentTerm=2, 28..30 deleted (raft clearing a conflicting suffix) and
// 28..34 of term 2 appended, closed and reopened once (v0.4.0 then fails
// every read with "sealed segment has no index block"). The current open
// path writes the missing index and every entry reads back.
func TestLogStoreRepairsLogDamagedByRaftWAL040(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	copyDir(t, filepath.Join("testdata", "wal-v0.4.0-truncated"), dir)
	termOf := func(i uint64) uint64 {
		if i >= 28 {
			return 2
		}
		return 1
	}
	for restart := range 2 {
		w, meta, err := openLogStore(dir, 16<<10, testLogger(t))
		if err != nil {
			t.Fatalf("open #%d: %v", restart+1, err)
		}
		if first, _ := w.FirstIndex(); first != 1 {
			t.Fatalf("open #%d: first index = %d, want 1", restart+1, first)
		}
		if last, _ := w.LastIndex(); last != 34 {
			t.Fatalf("open #%d: last index = %d, want 34", restart+1, last)
		}
		wantTestLogs(t, w, 1, 34, termOf)
		if term, err := w.GetUint64([]byte("CurrentTerm")); err != nil || term != 2 {
			t.Fatalf("CurrentTerm = %d, %v; want 2", term, err)
		}
		if _, err := raft.HasExistingState(w, w, raft.NewInmemSnapshotStore()); err != nil {
			t.Fatalf("raft cannot inspect the repaired log: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := meta.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
