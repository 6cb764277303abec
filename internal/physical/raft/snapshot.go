package raft

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"
)

// A snapshot, raft's or a user's, is one stream:
//
//	magic "SBXRAFT\x01" | index u64 | term u64 | size u64   (header, 32 bytes)
//	size bytes: the bbolt file as of one read transaction
//	SHA-256 of header and file                               (32 bytes)
//
// index/term is the last log entry the file reflects; 0 means unknown (a
// user restore, whose position in this cluster's log raft assigns). The
// checksum lets a restore reject a damaged stream before touching vault.db.
var snapshotMagic = [8]byte{'S', 'B', 'X', 'R', 'A', 'F', 'T', 1}

const (
	snapshotHeaderSize  = 32
	snapshotTrailerSize = sha256.Size
	// userSpoolName names the spools of user restores, in <Path>/raft.
	userSpoolName = "user-snapshot"
)

type snapshotHeader struct {
	index, term, size uint64
}

func (h snapshotHeader) bytes() []byte {
	b := make([]byte, snapshotHeaderSize)
	copy(b, snapshotMagic[:])
	binary.BigEndian.PutUint64(b[8:], h.index)
	binary.BigEndian.PutUint64(b[16:], h.term)
	binary.BigEndian.PutUint64(b[24:], h.size)
	return b
}

func readSnapshotHeader(r io.Reader) (snapshotHeader, error) {
	var b [snapshotHeaderSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return snapshotHeader{}, fmt.Errorf("%w: reading header: %w", ErrInvalidSnapshot, err)
	}
	if !bytes.Equal(b[:8], snapshotMagic[:]) {
		return snapshotHeader{}, fmt.Errorf("%w: not a Strongbox raft snapshot (bad magic)", ErrInvalidSnapshot)
	}
	return snapshotHeader{
		index: binary.BigEndian.Uint64(b[8:]),
		term:  binary.BigEndian.Uint64(b[16:]),
		size:  binary.BigEndian.Uint64(b[24:]),
	}, nil
}

// writeSnapshot streams tx's database in the snapshot format.
func writeSnapshot(w io.Writer, tx *bolt.Tx) error {
	index, term := appliedIn(tx)
	h := snapshotHeader{index: index, term: term, size: uint64(tx.Size())}
	hb := h.bytes()
	sum := sha256.New()
	sum.Write(hb)
	if _, err := w.Write(hb); err != nil {
		return err
	}
	n, err := tx.WriteTo(io.MultiWriter(w, sum))
	if err != nil {
		return err
	}
	if uint64(n) != h.size {
		return fmt.Errorf("wrote %d bytes of a %d-byte database", n, h.size)
	}
	_, err = w.Write(sum.Sum(nil))
	return err
}

// spoolSnapshotDB copies the database that follows h in body into a new
// temporary file next to fsmPath, verifies the checksum and that bbolt can
// open it, fsyncs it and returns its path. extra, if set, also receives the
// database bytes. On error nothing is left behind.
func spoolSnapshotDB(h snapshotHeader, body io.Reader, fsmPath string, extra io.Writer) (path string, err error) {
	f, err := os.CreateTemp(filepath.Dir(fsmPath), filepath.Base(fsmPath)+".restore-*")
	if err != nil {
		return "", fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if f != nil {
			_ = f.Close()
		}
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	sum := sha256.New()
	sum.Write(h.bytes())
	dst := io.MultiWriter(f, sum)
	if extra != nil {
		dst = io.MultiWriter(f, sum, extra)
	}
	if n, err := io.CopyN(dst, body, int64(h.size)); err != nil {
		return "", fmt.Errorf("%w: database truncated after %d of %d bytes: %w", ErrInvalidSnapshot, n, h.size, err)
	}
	var want [snapshotTrailerSize]byte
	if _, err := io.ReadFull(body, want[:]); err != nil {
		return "", fmt.Errorf("%w: reading checksum: %w", ErrInvalidSnapshot, err)
	}
	if !bytes.Equal(sum.Sum(nil), want[:]) {
		return "", fmt.Errorf("%w: checksum mismatch", ErrInvalidSnapshot)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("fsync %s: %w", f.Name(), err)
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		f = nil
		return "", fmt.Errorf("close %s: %w", name, err)
	}
	f = nil
	if err := checkSnapshotDB(name); err != nil {
		_ = os.Remove(name)
		return "", err
	}
	return name, nil
}

// checkSnapshotDB makes sure bbolt opens path and finds the data bucket.
func checkSnapshotDB(path string) error {
	opts := boltOptions()
	opts.ReadOnly = true
	db, err := bolt.Open(path, 0o600, opts)
	if err != nil {
		return fmt.Errorf("%w: not a valid database: %w", ErrInvalidSnapshot, err)
	}
	defer func() { _ = db.Close() }()
	return db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(dataBucket) == nil {
			return fmt.Errorf("%w: database has no data bucket", ErrInvalidSnapshot)
		}
		return nil
	})
}

// stampApplied records (index, term) as the applied position in the
// database file at path.
func stampApplied(path string, index, term uint64) error {
	db, err := bolt.Open(path, 0o600, boltOptions())
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(metaBucket); err != nil {
			return err
		}
		return putApplied(tx, index, term)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("record applied index in %s: %w", path, err)
	}
	return nil
}

// syncDir fsyncs the directory holding path, so a rename in it is durable.
func syncDir(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}

// ctxWriter fails writes once ctx is done, so a long stream stops early.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Snapshot writes a consistent snapshot of this node's data to w, streamed
// from one bbolt read transaction (never held whole in memory). On the
// leader it first waits, as ConsistentRead does, for every committed write
// to be applied, so the snapshot holds every acknowledged write; on a
// follower it holds what that node has applied. Restore accepts the stream.
func (b *Backend) Snapshot(ctx context.Context, w io.Writer) error {
	if err := b.checkOpen(ctx); err != nil {
		return fmt.Errorf("raft storage: snapshot: %w", err)
	}
	if b.IsLeader() {
		if err := b.ConsistentRead(ctx); err != nil {
			return fmt.Errorf("raft storage: snapshot: %w", err)
		}
	}
	s, err := b.fsm.Snapshot()
	if err != nil {
		return fmt.Errorf("raft storage: snapshot: %w", err)
	}
	defer s.Release()
	if err := writeSnapshot(ctxWriter{ctx, w}, s.(*fsmSnapshot).tx); err != nil {
		return fmt.Errorf("raft storage: snapshot: %w", err)
	}
	return nil
}

// Restore replaces the whole cluster's data with a snapshot made by
// Snapshot. It must run on the leader (else ErrNotLeader). The stream is
// first spooled to disk and verified (checksum, database), so a damaged or
// foreign stream fails with ErrInvalidSnapshot and changes nothing; then
// raft installs it on the leader and ships it to the followers. Writes in
// flight at that moment fail. Restore returns once the leader has installed
// it and a following entry is committed.
func (b *Backend) Restore(ctx context.Context, r io.Reader) error {
	if err := b.checkOpen(ctx); err != nil {
		return fmt.Errorf("raft storage: restore: %w", err)
	}
	if !b.IsLeader() {
		return fmt.Errorf("raft storage: restore: %w", ErrNotLeader)
	}
	r = ctxReader{ctx, r}
	h, err := readSnapshotHeader(r)
	if err != nil {
		return fmt.Errorf("raft storage: restore: %w", err)
	}
	// The snapshot's index belongs to the log it came from; raft gives the
	// restored state a new index, unknown here, so the header says 0.
	nh := snapshotHeader{size: h.size}
	hb := nh.bytes()
	sum := sha256.New()
	sum.Write(hb)
	spooled, err := spoolSnapshotDB(h, r, filepath.Join(b.dir, "raft", userSpoolName), sum)
	if err != nil {
		return fmt.Errorf("raft storage: restore: %w", err)
	}
	defer func() { _ = os.Remove(spooled) }()
	f, err := os.Open(spooled)
	if err != nil {
		return fmt.Errorf("raft storage: restore: %w", err)
	}
	defer func() { _ = f.Close() }()

	meta := &raft.SnapshotMeta{
		Version: raft.SnapshotVersionMax,
		Size:    int64(snapshotHeaderSize + h.size + snapshotTrailerSize),
	}
	stream := io.MultiReader(bytes.NewReader(hb), f, bytes.NewReader(sum.Sum(nil)))
	// Not abandoned on ctx once started: raft panics if its FSM fails to
	// install a snapshot it has accepted, so it must read the file to the end.
	if err := b.raft.Restore(meta, stream, restoreTimeout(b.conf.ApplyTimeout, meta.Size)); err != nil {
		return fmt.Errorf("raft storage: restore: %w", mapRaftErr(err))
	}
	b.logger.Info("raft storage: snapshot restored", "bytes", h.size)
	return nil
}

// SnapshotInfo is what a snapshot stream's header states: the last log
// entry it reflects (zeros when unknown) and the size of its database.
type SnapshotInfo struct {
	Index, Term uint64
	DBSize      uint64
}

// SnapshotHeaderSize is the length of a snapshot stream's header, all that
// ReadSnapshotInfo reads.
const SnapshotHeaderSize = snapshotHeaderSize

// StreamSize is the length of the whole stream: header, database, checksum.
func (i SnapshotInfo) StreamSize() int64 {
	return int64(snapshotHeaderSize + i.DBSize + snapshotTrailerSize)
}

// ReadSnapshotInfo reads and checks the header of a snapshot stream made by
// Snapshot. Callers that wrap the stream in their own format use it to
// learn the stream's length and position before the rest arrives.
func ReadSnapshotInfo(r io.Reader) (SnapshotInfo, error) {
	h, err := readSnapshotHeader(r)
	if err != nil {
		return SnapshotInfo{}, err
	}
	return SnapshotInfo{Index: h.index, Term: h.term, DBSize: h.size}, nil
}

// InspectSnapshot reads a whole snapshot stream from r and verifies it as
// Restore does (checksum, database), with the database spooled to a
// temporary file in dir that is removed before it returns; then it calls fn
// for every entry in key order. Only one entry at a time is in memory; fn
// must not keep value. It opens no raft node: tools read snapshot files
// with it offline.
func InspectSnapshot(ctx context.Context, r io.Reader, dir string, fn func(key string, value []byte) error) (SnapshotInfo, error) {
	r = ctxReader{ctx, r}
	h, err := readSnapshotHeader(r)
	if err != nil {
		return SnapshotInfo{}, err
	}
	info := SnapshotInfo{Index: h.index, Term: h.term, DBSize: h.size}
	spooled, err := spoolSnapshotDB(h, r, filepath.Join(dir, "inspect"), nil)
	if err != nil {
		return info, err
	}
	defer func() { _ = os.Remove(spooled) }()
	opts := boltOptions()
	opts.ReadOnly = true
	db, err := bolt.Open(spooled, 0o600, opts)
	if err != nil {
		return info, fmt.Errorf("%w: not a valid database: %w", ErrInvalidSnapshot, err)
	}
	defer func() { _ = db.Close() }()
	err = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(dataBucket).ForEach(func(k, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return fn(string(k), v)
		})
	})
	return info, err
}

// OnSnapshotInstalled registers fn to run each time this node installs a
// snapshot in place of its data: a Restore on the leader, or a snapshot the
// leader sent to catch this node up. The core uses it to drop what it
// cached of the old data. fn runs on raft's FSM goroutine, which waits for
// it: it must return quickly (start a goroutine for real work).
func (b *Backend) OnSnapshotInstalled(fn func()) {
	if fn == nil {
		b.fsm.installed.Store(nil)
		return
	}
	b.fsm.installed.Store(&fn)
}

// restoreTimeout bounds a user restore: raft's timeout covers copying the
// snapshot into its store and installing it, so it grows with the size
// (at a pessimistic 8 MB/s) on top of the usual commit timeout. A 1.4 GB
// snapshot of 1M keys needs minutes, not ApplyTimeout's seconds.
func restoreTimeout(apply time.Duration, size int64) time.Duration {
	return apply + time.Duration(size/(8<<20)+1)*time.Second
}
