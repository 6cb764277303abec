package physical

import (
	"context"
	"errors"
)

// Entry is one key and its opaque value.
type Entry struct {
	Key   string
	Value []byte
}

// ErrReadOnly is returned by backends (or views) that refuse writes.
var ErrReadOnly = errors.New("storage is read-only")

// ErrInvalidSnapshot is returned by a backend that restores snapshots when
// the stream is damaged or not one of its own; nothing was changed.
var ErrInvalidSnapshot = errors.New("invalid raft snapshot")

// Backend is durable key/value storage.
//
// Keys are slash-separated paths. All methods are safe for concurrent use.
type Backend interface {
	// Get returns the entry at key, or (nil, nil) when there is none.
	Get(ctx context.Context, key string) (*Entry, error)
	// Put stores the entry; it is durable when Put returns nil.
	Put(ctx context.Context, entry *Entry) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns the immediate children of prefix, sorted: keys as their
	// remaining suffix and "folders" once each, with a trailing slash.
	List(ctx context.Context, prefix string) ([]string, error)
}

// OpType names a transaction operation.
type OpType int

const (
	// PutOp stores TxnOp.Entry.
	PutOp OpType = iota + 1
	// DeleteOp removes TxnOp.Entry.Key.
	DeleteOp
)

// TxnOp is one write inside a transaction.
type TxnOp struct {
	Op    OpType
	Entry *Entry
}

// Transactional is a Backend that can apply several writes atomically.
type Transactional interface {
	Backend
	// Transaction applies all ops or none; it is durable when it returns nil.
	Transaction(ctx context.Context, ops []*TxnOp) error
}

// Closer is implemented by backends holding files or connections.
type Closer interface {
	// Close releases resources; no method may be called afterwards.
	Close() error
}
