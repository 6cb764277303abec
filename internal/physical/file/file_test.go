package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/physical/physicaltest"
)

func open(t testing.TB, dir string) *Backend {
	t.Helper()
	b, err := New(context.Background(), map[string]string{"path": dir}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func TestConformance(t *testing.T) {
	physicaltest.Run(t, func(t *testing.T) physical.Backend {
		b := open(t, t.TempDir())
		t.Cleanup(func() {
			if err := b.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return b
	})
}

func TestNewRequiresPath(t *testing.T) {
	for _, conf := range []map[string]string{nil, {}, {"path": "  "}} {
		_, err := New(context.Background(), conf, nil)
		if err == nil || !strings.Contains(err.Error(), `"path" is required`) {
			t.Fatalf("New(%v) = %v, want a missing-path error", conf, err)
		}
	}
}

func TestNewRejectsUnknownSettings(t *testing.T) {
	_, err := New(context.Background(), map[string]string{"path": t.TempDir(), "paht": "x"}, nil)
	if err == nil || !strings.Contains(err.Error(), `unknown setting "paht"`) {
		t.Fatalf("New = %v, want an unknown-setting error", err)
	}
}

func TestNewCreatesDirectoryAndFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	b := open(t, dir)
	defer b.Close()
	if b.Path() != filepath.Join(dir, FileName) {
		t.Fatalf("Path() = %q", b.Path())
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, b.Path(): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got&^want != 0 {
			t.Errorf("%s has mode %v, want at most %v", path, got, want)
		}
	}
}

func TestNewFailsOnFileAsDirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(context.Background(), map[string]string{"path": f}, nil); err == nil {
		t.Fatal("New on a path that is a regular file succeeded")
	}
}

func TestNewCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New(ctx, map[string]string{"path": t.TempDir()}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("New with cancelled context = %v", err)
	}
}

func TestPersistenceAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := open(t, dir)
	big := bytes.Repeat([]byte("0123456789"), 100_000)
	for i := range 50 {
		if err := b.Put(ctx, &physical.Entry{Key: fmt.Sprintf("p/%02d", i), Value: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Put(ctx, &physical.Entry{Key: "big", Value: big}); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "p/07"); err != nil {
		t.Fatal(err)
	}
	if err := b.Transaction(ctx, []*physical.TxnOp{
		{Op: physical.PutOp, Entry: &physical.Entry{Key: "txn", Value: []byte("t")}},
		{Op: physical.DeleteOp, Entry: &physical.Entry{Key: "p/08"}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b = open(t, dir)
	defer b.Close()
	keys, err := b.List(ctx, "p/")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 48 {
		t.Fatalf("after reopen List(p/) has %d keys, want 48", len(keys))
	}
	for _, k := range []string{"p/07", "p/08"} {
		if e, err := b.Get(ctx, k); err != nil || e != nil {
			t.Fatalf("Get(%s) after reopen = %v, %v; want deleted", k, e, err)
		}
	}
	for k, want := range map[string][]byte{"p/42": {42}, "txn": []byte("t"), "big": big} {
		e, err := b.Get(ctx, k)
		if err != nil || e == nil || !bytes.Equal(e.Value, want) {
			t.Fatalf("Get(%s) after reopen = %v, %v", k, e, err)
		}
	}
}

func TestSecondOpenFailsFast(t *testing.T) {
	dir := t.TempDir()
	b := open(t, dir)
	defer b.Close()
	start := time.Now()
	_, err := New(context.Background(), map[string]string{"path": dir}, nil)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second New = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Fatalf("error %q does not name the path", err)
	}
	// Not a timing assertion on speed, only a guard against a hang: the lock
	// wait is bounded by lockTimeout.
	if elapsed := time.Since(start); elapsed > 30*time.Second {
		t.Fatalf("second New took %s", elapsed)
	}
}

func TestTransactionRejectsBadOpsAtomically(t *testing.T) {
	ctx := context.Background()
	b := open(t, t.TempDir())
	defer b.Close()
	good := &physical.TxnOp{Op: physical.PutOp, Entry: &physical.Entry{Key: "good", Value: []byte("v")}}
	for name, bad := range map[string]*physical.TxnOp{
		"nil op":     nil,
		"nil entry":  {Op: physical.PutOp},
		"unknown op": {Op: 99, Entry: &physical.Entry{Key: "x"}},
		"empty key":  {Op: physical.PutOp, Entry: &physical.Entry{Key: ""}},
		"huge key":   {Op: physical.DeleteOp, Entry: &physical.Entry{Key: strings.Repeat("k", 40000)}},
	} {
		if err := b.Transaction(ctx, []*physical.TxnOp{good, bad}); err == nil {
			t.Errorf("%s: Transaction succeeded", name)
		}
		if e, _ := b.Get(ctx, "good"); e != nil {
			t.Fatalf("%s: a failed transaction left its first op applied", name)
		}
	}
}

func TestPutRejectsBadKeys(t *testing.T) {
	ctx := context.Background()
	b := open(t, t.TempDir())
	defer b.Close()
	for _, k := range []string{"", strings.Repeat("k", 40000)} {
		if err := b.Put(ctx, &physical.Entry{Key: k, Value: []byte("v")}); err == nil {
			t.Errorf("Put with a %d-byte key succeeded", len(k))
		}
	}
}

func TestClosedBackendErrors(t *testing.T) {
	ctx := context.Background()
	b := open(t, t.TempDir())
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "k"); err == nil {
		t.Error("Get after Close succeeded")
	}
	if err := b.Put(ctx, &physical.Entry{Key: "k"}); err == nil {
		t.Error("Put after Close succeeded")
	}
}

// TestConcurrentWritersAllDurable checks that coalesced writes are each
// acknowledged only once committed: every acknowledged key is there after
// reopening.
func TestConcurrentWritersAllDurable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := open(t, dir)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if err := b.Put(ctx, &physical.Entry{Key: fmt.Sprintf("w%d/%02d", w, i), Value: []byte("v")}); err != nil {
					t.Errorf("Put: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// Writers that queue while a commit runs share the next one; with 8
	// writers blocking on fsync, not every Put can have had its own.
	if commits := b.group.commits.Load(); commits >= 200 {
		t.Errorf("200 concurrent Puts took %d commits; writes were not coalesced", commits)
	} else {
		t.Logf("200 concurrent Puts in %d commits", commits)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = open(t, dir)
	defer b.Close()
	for w := range 8 {
		keys, err := b.List(ctx, fmt.Sprintf("w%d/", w))
		if err != nil || len(keys) != 25 {
			t.Fatalf("writer %d: %d keys after reopen (%v), want 25", w, len(keys), err)
		}
	}
}

// TestGroupCommitIsolatesFailures checks that one failing write fails only
// its own caller, even when it shares a batch with good writes.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	b := open(t, t.TempDir())
	defer b.Close()
	errBad := errors.New("bad write")
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				key := []byte(fmt.Sprintf("g%d/%02d", w, i))
				bad := (w+i)%5 == 0
				err := b.write(func(tx *bolt.Tx) error {
					if err := tx.Bucket(bucketName).Put(key, []byte("v")); err != nil {
						return err
					}
					if bad {
						return errBad
					}
					return nil
				})
				if bad != errors.Is(err, errBad) || (!bad && err != nil) {
					t.Errorf("write %s (bad=%v) = %v", key, bad, err)
				}
			}
		}()
	}
	wg.Wait()
	for w := range 8 {
		for i := range 30 {
			key := fmt.Sprintf("g%d/%02d", w, i)
			e, err := b.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if bad := (w+i)%5 == 0; bad != (e == nil) {
				t.Fatalf("%s: present=%v, but bad=%v", key, e != nil, bad)
			}
		}
	}
}
