package raft

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/hashicorp/raft"
)

// storeTestLogs appends entries first..last, each carrying "entry-<index>"
// padded so that a few fill a small segment.
func storeTestLogs(t *testing.T, s raft.LogStore, first, last uint64, term uint64) {
	t.Helper()
	var logs []*raft.Log
	for i := first; i <= last; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: term, Type: raft.LogCommand, Data: testLogData(i, term)})
	}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatalf("store logs %d..%d: %v", first, last, err)
	}
}

func testLogData(index, term uint64) []byte {
	return append([]byte(fmt.Sprintf("entry-%d-term-%d-", index, term)), bytes.Repeat([]byte{'x'}, 200)...)
}

// wantTestLogs reads back every entry first..last with its term.
func wantTestLogs(t *testing.T, s raft.LogStore, first, last uint64, term func(uint64) uint64) {
	t.Helper()
	for i := first; i <= last; i++ {
		var got raft.Log
		if err := s.GetLog(i, &got); err != nil {
			t.Fatalf("get log %d: %v", i, err)
		}
		if want := testLogData(i, term(i)); got.Index != i || !bytes.Equal(got.Data, want) {
			t.Fatalf("log %d: got index %d data %q, want %q", i, got.Index, got.Data, want)
		}
	}
}

// TestLogStoreTailTruncationSurvivesRestart is what raft does on a node
// whose log has a suffix the new leader never committed (the survivor of a
// quorum loss): it deletes that suffix and appends the leader's entries. The
// log must read back after a restart. raft-wal v0.4.0 sealed the tail without
// an index block there, and the reopened log failed every read with "sealed
// segment has no index block" (raft-wal issue #31).
func TestLogStoreTailTruncationSurvivesRestart(t *testing.T) {
	for _, tc := range []struct {
		name         string
		last, cutAt  uint64
		segmentBytes int
	}{
		// Only the tail entry goes, as in the issue's log ("clearing log
		// suffix: from=424 to=424").
		{"last entry of the tail segment", 30, 30, 64 << 10},
		// The cut spans sealed segments too.
		{"across segments", 200, 120, 8 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			logger := testLogger(t)
			w, meta, err := openLogStore(dir, tc.segmentBytes, logger)
			if err != nil {
				t.Fatal(err)
			}
			storeTestLogs(t, w, 1, tc.last, 1)
			if err := w.SetUint64([]byte("CurrentTerm"), 2); err != nil {
				t.Fatal(err)
			}
			// raft: "clearing log suffix", then the leader's entries.
			if err := w.DeleteRange(tc.cutAt, tc.last); err != nil {
				t.Fatalf("delete suffix %d..%d: %v", tc.cutAt, tc.last, err)
			}
			storeTestLogs(t, w, tc.cutAt, tc.cutAt+4, 2)
			termOf := func(i uint64) uint64 {
				if i >= tc.cutAt {
					return 2
				}
				return 1
			}
			wantTestLogs(t, w, 1, tc.cutAt+4, termOf)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := meta.Close(); err != nil {
				t.Fatal(err)
			}

			w, meta, err = openLogStore(dir, tc.segmentBytes, logger)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			t.Cleanup(func() { _ = w.Close(); _ = meta.Close() })
			if first, _ := w.FirstIndex(); first != 1 {
				t.Fatalf("first index after restart = %d, want 1", first)
			}
			if last, _ := w.LastIndex(); last != tc.cutAt+4 {
				t.Fatalf("last index after restart = %d, want %d", last, tc.cutAt+4)
			}
			wantTestLogs(t, w, 1, tc.cutAt+4, termOf)
			if term, err := w.GetUint64([]byte("CurrentTerm")); err != nil || term != 2 {
				t.Fatalf("CurrentTerm after restart = %d, %v; want 2", term, err)
			}
			// raft's own check at start (NewRaft reads the last entry).
			if _, err := raft.HasExistingState(w, w, raft.NewInmemSnapshotStore()); err != nil {
				t.Fatalf("raft cannot inspect the reopened log: %v", err)
			}
			storeTestLogs(t, w, tc.cutAt+5, tc.cutAt+9, 2)
			wantTestLogs(t, w, 1, tc.cutAt+9, termOf)
		})
	}
}
