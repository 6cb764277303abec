package raft

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"
)

// fsmFileName is the FSM's bbolt file inside Config.Path.
const fsmFileName = "vault.db"

// lockTimeout bounds how long opening vault.db waits for its file lock, so a
// second server on the same path fails at once instead of hanging.
const lockTimeout = time.Second

var (
	dataBucket = []byte("data")
	metaBucket = []byte("meta")
	// appliedKey holds index(8) | term(8), big-endian: the last log entry
	// the data reflects, written in the same transaction as the data.
	appliedKey = []byte("applied")
)

// fsm is the raft state machine: every entry in one bbolt bucket.
//
// Apply, Snapshot and Restore are called from raft's FSM goroutine (or,
// before raft starts, from New), never concurrently with each other. Reads
// (view) run concurrently with all of them; Restore swaps the file under mu.
type fsm struct {
	path   string
	logger *slog.Logger

	mu sync.RWMutex // guards db, which Restore replaces
	db *bolt.DB

	applied atomic.Uint64 // index of the last entry reflected in db
	term    atomic.Uint64 // its term
	failed  atomic.Pointer[error]

	// Counters for Stats and tests.
	entriesApplied atomic.Uint64 // entries written to db
	entriesSkipped atomic.Uint64 // replayed entries already reflected
	restores       atomic.Uint64 // snapshots installed

	// installed, when set, runs after each snapshot install (snapshot.go).
	installed atomic.Pointer[func()]
}

var _ raft.BatchingFSM = (*fsm)(nil)

// fsmMmapSize is vault.db's initial memory map. bbolt must re-map when the
// file outgrows its map, and a re-map waits for every open read
// transaction, including a snapshot being streamed to a slow client; a
// generous map (address space, not memory) makes that rare.
const fsmMmapSize = 1 << 30

// boltOptions are shared by the FSM file and restore candidates.
func boltOptions() *bolt.Options {
	return &bolt.Options{
		Timeout: lockTimeout,
		// The map freelist and not persisting it make commits of a large,
		// churned file cheaper; bbolt rebuilds the freelist on open.
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
	}
}

// openFSM opens (creating if needed) the FSM file at path.
func openFSM(path string, logger *slog.Logger) (*fsm, error) {
	f := &fsm{path: path, logger: logger}
	db, err := openFSMFile(path)
	if err != nil {
		return nil, err
	}
	f.db = db
	idx, term, err := readApplied(db)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	f.applied.Store(idx)
	f.term.Store(term)
	return f, nil
}

func openFSMFile(path string) (*bolt.DB, error) {
	opts := boltOptions()
	opts.InitialMmapSize = fsmMmapSize
	db, err := bolt.Open(path, 0o600, opts)
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("raft storage: %s: %w (no lock within %s; is another server using this path?)", path, ErrLocked, lockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("raft storage: open %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(dataBucket); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists(metaBucket)
		return err
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("raft storage: prepare %s: %w", path, err)
	}
	return db, nil
}

func readApplied(db *bolt.DB) (index, term uint64, err error) {
	err = db.View(func(tx *bolt.Tx) error {
		index, term = appliedIn(tx)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("raft storage: read applied index: %w", err)
	}
	return index, term, nil
}

func appliedIn(tx *bolt.Tx) (index, term uint64) {
	b := tx.Bucket(metaBucket)
	if b == nil {
		return 0, 0
	}
	v := b.Get(appliedKey)
	if len(v) != 16 {
		return 0, 0
	}
	return binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])
}

func putApplied(tx *bolt.Tx, index, term uint64) error {
	var v [16]byte
	binary.BigEndian.PutUint64(v[:], index)
	binary.BigEndian.PutUint64(v[8:], term)
	return tx.Bucket(metaBucket).Put(appliedKey, v[:])
}

// failure returns the sticky error set when a commit to vault.db failed.
func (f *fsm) failure() error {
	if p := f.failed.Load(); p != nil {
		return *p
	}
	return nil
}

func (f *fsm) fail(err error) {
	err = fmt.Errorf("%w: %w", ErrStorageFailed, err)
	f.failed.CompareAndSwap(nil, &err)
	f.logger.Error("raft storage: the FSM cannot write vault.db; this node stops applying the log until restarted", "error", err)
}

// Apply implements raft.FSM; raft calls ApplyBatch instead.
func (f *fsm) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch implements raft.BatchingFSM: it applies the commands among
// logs in one bbolt transaction (one fsync) that also records the last
// entry's index and term. Entries at or below the recorded index were
// applied before a restart and are skipped, so replay never re-applies them.
//
// The response for each log is nil or an error. A command that does not
// decode fails alone (deterministically, on every node). A failed commit
// (disk error) fails the whole batch and every later one: the recorded
// index did not move, so a restart re-applies from there.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	resp := make([]any, len(logs))
	fill := func(err error) []any {
		for i := range resp {
			resp[i] = err
		}
		return resp
	}
	if err := f.failure(); err != nil {
		return fill(err)
	}
	cur := f.applied.Load()
	var last *raft.Log
	var applied, skipped uint64
	type decoded struct {
		i   int
		ops []op
	}
	var cmds []decoded
	for i, l := range logs {
		if l.Index <= cur {
			skipped++
			continue
		}
		last = l
		if l.Type != raft.LogCommand {
			continue // configuration entries only move the index
		}
		ops, err := decodeCommand(l.Data)
		if err != nil {
			f.logger.Error("raft storage: skipping a malformed log entry", "index", l.Index, "error", err)
			resp[i] = fmt.Errorf("raft storage: entry %d: %w", l.Index, err)
			continue
		}
		cmds = append(cmds, decoded{i, ops})
		applied++
	}
	f.entriesSkipped.Add(skipped)
	if last == nil {
		return resp
	}
	f.mu.RLock()
	err := f.db.Update(func(tx *bolt.Tx) error {
		data := tx.Bucket(dataBucket)
		for _, c := range cmds {
			for _, o := range c.ops {
				var err error
				if o.del {
					err = data.Delete(o.key)
				} else {
					err = data.Put(o.key, o.value)
				}
				if err != nil {
					return fmt.Errorf("entry %d: %w", logs[c.i].Index, err)
				}
			}
		}
		return putApplied(tx, last.Index, last.Term)
	})
	f.mu.RUnlock()
	if err != nil {
		f.fail(err)
		return fill(f.failure())
	}
	f.applied.Store(last.Index)
	f.term.Store(last.Term)
	f.entriesApplied.Add(applied)
	return resp
}

// Snapshot implements raft.FSM: it only opens a bbolt read transaction, a
// consistent view that later writes do not disturb; Persist streams it.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	if err := f.failure(); err != nil {
		return nil, err
	}
	f.mu.RLock()
	tx, err := f.db.Begin(false)
	f.mu.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("raft storage: snapshot: %w", err)
	}
	return &fsmSnapshot{tx: tx}, nil
}

// fsmSnapshot is an open read transaction waiting to be persisted.
type fsmSnapshot struct {
	tx   *bolt.Tx
	once sync.Once
}

// Persist implements raft.FSMSnapshot: it streams the bbolt file as of the
// transaction (never whole in memory) in the format of snapshot.go.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := writeSnapshot(sink, s.tx); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("raft storage: persist snapshot: %w", err)
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("raft storage: persist snapshot: %w", err)
	}
	return nil
}

// Release implements raft.FSMSnapshot; it ends the read transaction, which
// lets bbolt reuse the pages the snapshot was holding.
func (s *fsmSnapshot) Release() {
	s.once.Do(func() { _ = s.tx.Rollback() })
}

// Restore implements raft.FSM: it installs a snapshot (from the leader, or
// a user restore) in place of the current state. The stream is written to
// a temporary file, verified, fsync'd, and renamed over vault.db, so a crash
// leaves either the old or the new file. The state is then known to reflect
// the index recorded in the snapshot's header.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer func() { _ = rc.Close() }()
	h, err := readSnapshotHeader(rc)
	if err != nil {
		return fmt.Errorf("raft storage: restore: %w", err)
	}
	return f.install(h, rc, h.index, h.term)
}

// install streams the snapshot body after h into place and records
// (index, term) as the applied position.
func (f *fsm) install(h snapshotHeader, body io.Reader, index, term uint64) error {
	tmp, err := spoolSnapshotDB(h, body, f.path, nil)
	if err != nil {
		return fmt.Errorf("raft storage: restore: %w", err)
	}
	defer func() { _ = os.Remove(tmp) }()
	if err := stampApplied(tmp, index, term); err != nil {
		return fmt.Errorf("raft storage: restore: %w", err)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	// Close waits for open read transactions, including a snapshot still
	// being persisted from the old file.
	if err := f.db.Close(); err != nil {
		return fmt.Errorf("raft storage: restore: close %s: %w", f.path, err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		err = fmt.Errorf("raft storage: restore: replace %s: %w", f.path, err)
		f.reopenLocked(err)
		return err
	}
	if err := syncDir(f.path); err != nil {
		f.logger.Warn("raft storage: fsync data directory after restore", "error", err)
	}
	if !f.reopenLocked(nil) {
		return fmt.Errorf("raft storage: restore: %w", f.failure())
	}
	f.applied.Store(index)
	f.term.Store(term)
	f.restores.Add(1)
	f.logger.Info("raft storage: snapshot installed", "applied_index", index, "term", term, "bytes", h.size)
	if fn := f.installed.Load(); fn != nil {
		(*fn)()
	}
	return nil
}

// reopenLocked reopens vault.db after Restore closed it; if that fails the
// FSM is marked failed (cause, if set, explains why it was being reopened).
func (f *fsm) reopenLocked(cause error) bool {
	db, err := openFSMFile(f.path)
	if err != nil {
		f.fail(errors.Join(cause, err))
		// Keep a closed handle rather than nil: reads fail with bbolt's
		// "database not open" behind the sticky error.
		return false
	}
	f.db = db
	return true
}

// view runs fn in a read transaction on the current file.
func (f *fsm) view(fn func(tx *bolt.Tx) error) error {
	if err := f.failure(); err != nil {
		return err
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.db.View(fn)
}

// get returns the value at key and whether it exists (an empty value
// exists; bbolt's plain Get cannot tell it from a missing key).
func (f *fsm) get(key string) (value []byte, ok bool, err error) {
	err = f.view(func(tx *bolt.Tx) error {
		k, v := tx.Bucket(dataBucket).Cursor().Seek([]byte(key))
		if k != nil && string(k) == key {
			value, ok = bytes.Clone(v), true
			if value == nil {
				value = []byte{}
			}
		}
		return nil
	})
	return value, ok, err
}

// list returns the immediate children of prefix, sorted, skipping each child
// folder's subtree with one seek.
func (f *fsm) list(prefix string) ([]string, error) {
	out := []string{}
	err := f.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(dataBucket).Cursor()
		p := []byte(prefix)
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); {
			rest := k[len(p):]
			i := bytes.IndexByte(rest, '/')
			switch {
			case len(rest) == 0:
				k, _ = c.Next()
			case i < 0:
				out = append(out, string(rest))
				k, _ = c.Next()
			default:
				out = append(out, string(rest[:i+1]))
				// Every key in the folder sorts below prefix+name+"0" ('/'+1).
				next := append(append(bytes.Clone(p), rest[:i]...), '/'+1)
				k, _ = c.Seek(next)
			}
		}
		return nil
	})
	// Keys come in byte order and a folder's keys are contiguous, so out is
	// sorted and free of duplicates.
	return out, err
}

func (f *fsm) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.db.Close(); err != nil {
		return fmt.Errorf("raft storage: close %s: %w", f.path, err)
	}
	return nil
}
