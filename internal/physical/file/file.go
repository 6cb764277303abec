package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/strongbox/strongbox/internal/physical"
)

// FileName is the name of the database file inside the configured path.
const FileName = "strongbox.db"

// lockTimeout bounds how long New waits for the file lock, so a second
// server pointed at the same path fails at once instead of hanging.
const lockTimeout = time.Second

var (
	bucketName = []byte("strongbox")

	// ErrLocked is returned by New when another process (or another Backend
	// in this process) holds the database file.
	ErrLocked = errors.New("database file is locked by another process")
)

// Backend is the bbolt-backed physical.Transactional. All methods are safe
// for concurrent use; none may be called after Close.
type Backend struct {
	db     *bolt.DB
	path   string
	logger *slog.Logger
	group  groupCommit
}

var (
	_ physical.Transactional = (*Backend)(nil)
	_ physical.Closer        = (*Backend)(nil)
)

// New opens (creating if needed) <conf["path"]>/strongbox.db. The directory
// is created with mode 0700 and the file with 0600. A nil logger discards.
func New(ctx context.Context, conf map[string]string, logger *slog.Logger) (*Backend, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	for k := range conf {
		if k != "path" {
			return nil, fmt.Errorf("file storage: unknown setting %q (the only setting is \"path\")", k)
		}
	}
	dir := strings.TrimSpace(conf["path"])
	if dir == "" {
		return nil, errors.New(`file storage: "path" is required: the directory that holds ` + FileName)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("file storage: create directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("file storage: %s: %w (no lock within %s; is another server using this path?)", path, ErrLocked, lockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("file storage: open %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketName)
		return err
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("file storage: create bucket in %s: %w", path, err)
	}
	logger.Info("file storage opened", "path", path)
	return &Backend{db: db, path: path, logger: logger}, nil
}

// Path returns the database file's path.
func (b *Backend) Path() string { return b.path }

// Get implements physical.Backend.
func (b *Backend) Get(ctx context.Context, key string) (*physical.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("file storage: get: %w", err)
	}
	var out *physical.Entry
	err := b.db.View(func(tx *bolt.Tx) error {
		// A cursor tells an empty value from a missing key, which a plain
		// Get (nil for both) does not.
		k, v := tx.Bucket(bucketName).Cursor().Seek([]byte(key))
		if k != nil && string(k) == key {
			out = &physical.Entry{Key: key, Value: bytes.Clone(v)}
			if out.Value == nil {
				out.Value = []byte{}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("file storage: get %q: %w", key, err)
	}
	return out, nil
}

// Put implements physical.Backend; it returns after the write is fsync'd.
func (b *Backend) Put(ctx context.Context, entry *physical.Entry) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("file storage: put: %w", err)
	}
	if err := checkKey(entry.Key); err != nil {
		return err
	}
	// bbolt keeps a reference to the value until commit; copy it so the
	// caller may reuse its buffer as soon as Put returns, and so the batch
	// function is idempotent (bbolt may run it twice).
	value := bytes.Clone(entry.Value)
	if value == nil {
		value = []byte{}
	}
	key := []byte(entry.Key)
	err := b.write(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketName).Put(key, value)
	})
	if err != nil {
		return fmt.Errorf("file storage: put %q: %w", entry.Key, err)
	}
	return nil
}

// Delete implements physical.Backend; it returns after the write is fsync'd.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("file storage: delete: %w", err)
	}
	if key == "" {
		return nil
	}
	k := []byte(key)
	err := b.write(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketName).Delete(k)
	})
	if err != nil {
		return fmt.Errorf("file storage: delete %q: %w", key, err)
	}
	return nil
}

// List implements physical.Backend. It seeks to prefix and walks only the
// keys under it; a child folder's subtree is skipped with one seek.
func (b *Backend) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("file storage: list: %w", err)
	}
	out := []string{}
	err := b.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketName).Cursor()
		p := []byte(prefix)
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); {
			rest := k[len(p):]
			if len(rest) == 0 {
				k, _ = c.Next()
				continue
			}
			i := bytes.IndexByte(rest, '/')
			if i < 0 {
				out = append(out, string(rest))
				k, _ = c.Next()
				continue
			}
			folder := rest[:i+1]
			out = append(out, string(folder))
			// Every key in the folder sorts below prefix+name+"0" ('/'+1).
			next := make([]byte, 0, len(p)+i+1)
			next = append(append(append(next, p...), rest[:i]...), '/'+1)
			k, _ = c.Seek(next)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("file storage: list %q: %w", prefix, err)
	}
	// The cursor yields keys in byte order, and cutting keys after their
	// first slash keeps that order (a folder's keys are contiguous), so out
	// is already sorted and free of duplicates.
	return out, nil
}

// Transaction implements physical.Transactional: all ops commit in one bbolt
// transaction (and one fsync) or none do.
func (b *Backend) Transaction(ctx context.Context, ops []*physical.TxnOp) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("file storage: transaction: %w", err)
	}
	if len(ops) == 0 {
		return nil
	}
	type write struct {
		del        bool
		key, value []byte
	}
	writes := make([]write, 0, len(ops))
	for i, op := range ops {
		if op == nil || op.Entry == nil {
			return fmt.Errorf("file storage: transaction: op %d has no entry", i)
		}
		if err := checkKey(op.Entry.Key); err != nil {
			return fmt.Errorf("file storage: transaction: op %d: %w", i, err)
		}
		switch op.Op {
		case physical.PutOp:
			v := bytes.Clone(op.Entry.Value)
			if v == nil {
				v = []byte{}
			}
			writes = append(writes, write{key: []byte(op.Entry.Key), value: v})
		case physical.DeleteOp:
			writes = append(writes, write{del: true, key: []byte(op.Entry.Key)})
		default:
			return fmt.Errorf("file storage: transaction: op %d: unknown operation %d", i, op.Op)
		}
	}
	err := b.write(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketName)
		for _, w := range writes {
			var err error
			if w.del {
				err = bk.Delete(w.key)
			} else {
				err = bk.Put(w.key, w.value)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("file storage: transaction: %w", err)
	}
	return nil
}

// Close implements physical.Closer: it waits for running transactions and
// releases the file lock.
func (b *Backend) Close() error {
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("file storage: close %s: %w", b.path, err)
	}
	return nil
}

func checkKey(key string) error {
	switch {
	case key == "":
		return errors.New("file storage: empty key")
	case len(key) > bolt.MaxKeySize:
		return fmt.Errorf("file storage: key of %d bytes exceeds the %d-byte limit", len(key), bolt.MaxKeySize)
	}
	return nil
}
