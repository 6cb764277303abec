package audit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// batchWriter is a device's buffered writer. Concurrent callers append their
// line to a shared buffer; whoever finds no write in progress writes the
// whole buffer with one call and wakes the others (group commit). Each
// caller returns only once the batch holding its line has been written, so
// every entry is on the OS file before the request it describes is
// answered, and under load many entries share one write(2).
type batchWriter struct {
	out   entryWriter
	chain *chain // nil: lines are written as they come

	mu       sync.Mutex
	cond     sync.Cond
	cur      *batch // lines not yet taken by a writer; nil when none
	writing  bool
	spareBuf []byte
}

// batch is a group of lines written together, and the outcome all their
// callers share.
type batch struct {
	buf  []byte
	done bool
	err  error
}

func newBatchWriter(out entryWriter) *batchWriter {
	w := &batchWriter{out: out}
	w.cond.L = &w.mu
	return w
}

// write appends line (a whole entry) and returns when it has been written.
func (w *batchWriter) write(line []byte) error {
	w.mu.Lock()
	b := w.cur
	if b == nil {
		b = &batch{buf: w.spareBuf[:0]}
		w.spareBuf = nil
		w.cur = b
	}
	if w.chain != nil {
		b.buf = w.chain.seal(b.buf, line)
	} else {
		b.buf = append(b.buf, line...)
	}
	for !b.done {
		if w.writing {
			w.cond.Wait()
			continue
		}
		// No write in progress, so b is still w.cur: take it and write it
		// (with every line appended since) outside the lock.
		w.writing = true
		w.cur = nil
		w.mu.Unlock()
		err := w.out.write(b.buf)
		w.mu.Lock()
		b.err, b.done = err, true
		if cap(b.buf) <= maxPooledLine {
			w.spareBuf = b.buf[:0]
		}
		b.buf = nil
		w.writing = false
		w.cond.Broadcast()
	}
	err := b.err
	w.mu.Unlock()
	return err
}

// fileSink owns the output file of a file device.
type fileSink struct {
	path string      // file path, or "" for stdout/discard
	out  io.Writer   // os.Stdout or io.Discard when path is ""
	mode os.FileMode // 0: leave the file's mode alone

	mu     sync.Mutex // guards f and closed; held across writes
	f      *os.File
	closed bool

	// Writes reach the OS at once; fsync follows in groups, at most
	// fileSyncDelay after a write, off the request path.
	dirty    atomic.Bool
	syncs    atomic.Int64 // fsyncs done, for tests
	stopSync chan struct{}
	syncDone chan struct{}
	stopOnce sync.Once
}

// fileSyncDelay bounds how long an entry written to a file device stays
// in the page cache only.
const fileSyncDelay = 100 * time.Millisecond

// startSyncer runs the group fsync of a file sink until close.
func (s *fileSink) startSyncer() {
	s.stopSync, s.syncDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.syncDone)
		t := time.NewTicker(fileSyncDelay)
		defer t.Stop()
		for {
			select {
			case <-s.stopSync:
				return
			case <-t.C:
				s.sync()
			}
		}
	}()
}

// sync fsyncs the file if anything was written since the last one. The
// lock is not held across the fsync, so writes go on meanwhile; a file
// closed by a reopen in between just fails this round.
func (s *fileSink) sync() {
	if !s.dirty.Swap(false) {
		return
	}
	s.mu.Lock()
	f := s.f
	s.mu.Unlock()
	if f != nil && f.Sync() == nil {
		s.syncs.Add(1)
	}
}

// defaultFileMode is the mode of a new audit file, as in Vault.
const defaultFileMode os.FileMode = 0o600

// open opens the file for appending, creating it and its directory, and
// sets its mode. Callers hold s.mu.
func (s *fileSink) open() error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("audit: create directory of %q: %w", s.path, err)
	}
	createMode := s.mode
	if createMode == 0 {
		createMode = defaultFileMode
	}
	f, err := os.OpenFile(s.path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, createMode)
	if err != nil {
		return fmt.Errorf("audit: open %q: %w", s.path, err)
	}
	// The file may predate us, with another mode; only regular files are
	// chmod'ed (not /dev/null or a named pipe).
	if s.mode != 0 {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm() != s.mode {
			if err := f.Chmod(s.mode); err != nil {
				_ = f.Close()
				return fmt.Errorf("audit: set mode %#o on %q: %w", s.mode, s.path, err)
			}
		}
	}
	s.f = f
	return nil
}

// write writes p with a single call. On a file, a failed write is retried
// once on a freshly opened file (the old one may have been removed).
func (s *fileSink) write(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.path == "" {
		if _, err := s.out.Write(p); err != nil {
			return fmt.Errorf("audit: write: %w", err)
		}
		return nil
	}
	if s.f == nil {
		if err := s.open(); err != nil {
			return err
		}
	}
	_, err := s.f.Write(p)
	if err == nil {
		s.dirty.Store(true)
		return nil
	}
	_ = s.f.Close()
	s.f = nil
	if oerr := s.open(); oerr != nil {
		return errors.Join(fmt.Errorf("audit: write %q: %w", s.path, err), oerr)
	}
	if _, err := s.f.Write(p); err != nil {
		return fmt.Errorf("audit: write %q: %w", s.path, err)
	}
	s.dirty.Store(true)
	return nil
}

// reopen closes and reopens the file (log rotation). If the new open fails
// the next write tries again.
func (s *fileSink) reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.path == "" {
		return nil
	}
	if s.f != nil {
		err := s.f.Close()
		s.f = nil
		if err != nil {
			return fmt.Errorf("audit: close %q for reopening: %w", s.path, err)
		}
	}
	return s.open()
}

// close syncs and closes the file; stdout is left open.
func (s *fileSink) close() error {
	if s.stopSync != nil {
		s.stopOnce.Do(func() { close(s.stopSync) })
		<-s.syncDone
		s.sync()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if err != nil {
		return fmt.Errorf("audit: close %q: %w", s.path, err)
	}
	return nil
}
