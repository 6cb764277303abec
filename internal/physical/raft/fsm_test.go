package raft

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"
)

func openTestFSM(t *testing.T, dir string) *fsm {
	t.Helper()
	f, err := openFSM(filepath.Join(dir, fsmFileName), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("openFSM: %v", err)
	}
	t.Cleanup(func() { _ = f.close() })
	return f
}

func cmdLog(index uint64, body []byte) *raft.Log {
	return &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: newCommand(body)}
}

func confLog(index uint64) *raft.Log {
	return &raft.Log{Index: index, Term: 1, Type: raft.LogConfiguration}
}

func fsmValue(t *testing.T, f *fsm, key string) string {
	t.Helper()
	v, ok, err := f.get(key)
	if err != nil {
		t.Fatalf("get(%q): %v", key, err)
	}
	if !ok {
		return "<missing>"
	}
	return string(v)
}

func wantNoErrors(t *testing.T, resp []any) {
	t.Helper()
	for i, r := range resp {
		if r != nil {
			t.Fatalf("response %d = %v, want nil", i, r)
		}
	}
}

func TestFSMSkipsAppliedEntries(t *testing.T) {
	dir := t.TempDir()
	f := openTestFSM(t, dir)
	wantNoErrors(t, f.ApplyBatch([]*raft.Log{
		cmdLog(1, appendPut(nil, "a", []byte("1"))),
		cmdLog(2, appendPut(nil, "b", []byte("2"))),
		confLog(3),
	}))
	if f.applied.Load() != 3 {
		t.Fatalf("applied = %d, want 3 (configuration entries count)", f.applied.Load())
	}
	if err := f.close(); err != nil {
		t.Fatal(err)
	}

	// Reopened, the FSM knows where it is and skips raft's replay of 2 and 3.
	f = openTestFSM(t, dir)
	if f.applied.Load() != 3 || f.term.Load() != 1 {
		t.Fatalf("after reopen applied = %d term %d, want 3, 1", f.applied.Load(), f.term.Load())
	}
	wantNoErrors(t, f.ApplyBatch([]*raft.Log{
		cmdLog(2, appendPut(nil, "b", []byte("replayed"))),
		confLog(3),
		cmdLog(4, appendDelete(appendPut(nil, "c", []byte("3")), "a")),
	}))
	if got := fsmValue(t, f, "b"); got != "2" {
		t.Fatalf("b = %q: a replayed entry was applied again", got)
	}
	if got := fsmValue(t, f, "c"); got != "3" {
		t.Fatalf("c = %q, want 3", got)
	}
	if got := fsmValue(t, f, "a"); got != "<missing>" {
		t.Fatalf("a = %q, want deleted", got)
	}
	if f.entriesSkipped.Load() != 2 || f.entriesApplied.Load() != 1 || f.applied.Load() != 4 {
		t.Fatalf("skipped %d applied %d index %d, want 2, 1, 4", f.entriesSkipped.Load(), f.entriesApplied.Load(), f.applied.Load())
	}
	// A batch made only of old entries writes nothing.
	wantNoErrors(t, f.ApplyBatch([]*raft.Log{cmdLog(4, appendPut(nil, "c", []byte("x")))}))
	if got := fsmValue(t, f, "c"); got != "3" {
		t.Fatalf("c = %q after replaying 4", got)
	}
}

func TestFSMMalformedEntry(t *testing.T) {
	f := openTestFSM(t, t.TempDir())
	bad := &raft.Log{Index: 2, Term: 1, Type: raft.LogCommand, Data: []byte{commandVersion, kindPut, 200}}
	resp := f.ApplyBatch([]*raft.Log{
		cmdLog(1, appendPut(nil, "a", []byte("1"))),
		bad,
		cmdLog(3, appendPut(nil, "b", []byte("2"))),
	})
	if resp[0] != nil || resp[2] != nil {
		t.Fatalf("good entries failed: %v", resp)
	}
	if err, _ := resp[1].(error); !errors.Is(err, errBadCommand) {
		t.Fatalf("bad entry response = %v, want errBadCommand", resp[1])
	}
	if fsmValue(t, f, "a") != "1" || fsmValue(t, f, "b") != "2" || f.applied.Load() != 3 {
		t.Fatalf("good entries around a bad one not applied (applied index %d)", f.applied.Load())
	}
}

// bufferSink is a raft.SnapshotSink in memory.
type bufferSink struct {
	bytes.Buffer
	cancelled, closed bool
}

func (s *bufferSink) ID() string    { return "test" }
func (s *bufferSink) Cancel() error { s.cancelled = true; return nil }
func (s *bufferSink) Close() error  { s.closed = true; return nil }

func TestFSMSnapshotRestore(t *testing.T) {
	src := openTestFSM(t, t.TempDir())
	wantNoErrors(t, src.ApplyBatch([]*raft.Log{
		cmdLog(1, appendPut(nil, "a", []byte("1"))),
		cmdLog(2, appendPut(nil, "b", []byte(""))),
	}))
	snap, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Writes after Snapshot() are not in it, even while it is persisted.
	wantNoErrors(t, src.ApplyBatch([]*raft.Log{cmdLog(3, appendPut(nil, "a", []byte("changed")))}))
	var sink bufferSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatalf("Persist: %v", err)
	}
	snap.Release()
	if !sink.closed || sink.cancelled {
		t.Fatalf("sink closed=%v cancelled=%v", sink.closed, sink.cancelled)
	}

	dir := t.TempDir()
	dst := openTestFSM(t, dir)
	wantNoErrors(t, dst.ApplyBatch([]*raft.Log{cmdLog(1, appendPut(nil, "stale", []byte("x")))}))
	if err := dst.Restore(nopCloser{bytes.NewReader(sink.Bytes())}); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if fsmValue(t, dst, "a") != "1" || fsmValue(t, dst, "b") != "" || fsmValue(t, dst, "stale") != "<missing>" {
		t.Fatalf("restored state: a=%q b=%q stale=%q", fsmValue(t, dst, "a"), fsmValue(t, dst, "b"), fsmValue(t, dst, "stale"))
	}
	if dst.applied.Load() != 2 {
		t.Fatalf("applied after restore = %d, want the snapshot's 2", dst.applied.Load())
	}
	// Damaged streams are refused and leave the state and directory alone.
	good := sink.Bytes()
	for name, data := range map[string][]byte{
		"truncated": good[:len(good)-10],
		"flipped":   func() []byte { d := bytes.Clone(good); d[snapshotHeaderSize+100] ^= 1; return d }(),
		"magic":     append([]byte("XXXXXXXX"), good[8:]...),
	} {
		if err := dst.Restore(nopCloser{bytes.NewReader(data)}); !errors.Is(err, ErrInvalidSnapshot) {
			t.Errorf("%s: Restore err = %v, want ErrInvalidSnapshot", name, err)
		}
	}
	if fsmValue(t, dst, "a") != "1" {
		t.Fatal("a failed restore changed the state")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory after failed restores holds %d files, want only vault.db", len(entries))
	}
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// FuzzFSMRestore: a snapshot stream (operator input on restore) is either
// installed or refused with ErrInvalidSnapshot, leaving the state intact.
func FuzzFSMRestore(f *testing.F) {
	seedDir := f.TempDir()
	src, err := openFSM(filepath.Join(seedDir, fsmFileName), slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	src.ApplyBatch([]*raft.Log{cmdLog(1, appendPut(nil, "k", []byte("v")))})
	snap, err := src.Snapshot()
	if err != nil {
		f.Fatal(err)
	}
	var sink bufferSink
	if err := snap.Persist(&sink); err != nil {
		f.Fatal(err)
	}
	snap.Release()
	_ = src.close()
	good := sink.Bytes()
	f.Add(good)
	f.Add(good[:snapshotHeaderSize])
	f.Add(append(bytes.Clone(good[:snapshotHeaderSize]), 1, 2, 3))
	f.Add([]byte("SBXRAFT\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dst := openTestFSM(t, t.TempDir())
		dst.ApplyBatch([]*raft.Log{cmdLog(1, appendPut(nil, "mine", []byte("x")))})
		err := dst.Restore(nopCloser{bytes.NewReader(data)})
		if err == nil {
			if fsmValue(t, dst, "k") != "v" {
				t.Fatal("accepted a snapshot that does not hold the seed's data")
			}
			return
		}
		if !errors.Is(err, ErrInvalidSnapshot) {
			t.Fatalf("err = %v, want ErrInvalidSnapshot", err)
		}
		if fsmValue(t, dst, "mine") != "x" {
			t.Fatal("a refused snapshot changed the state")
		}
	})
}
