// Package inmem is a physical.Backend held in memory: for dev mode and tests.
// It is transactional and safe for concurrent use; nothing survives a restart.
package inmem

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/strongbox/strongbox/internal/physical"
)

// Backend is an in-memory physical.Transactional.
type Backend struct {
	mu   sync.RWMutex
	data map[string][]byte
}

// New returns an empty backend.
func New() *Backend { return &Backend{data: make(map[string][]byte)} }

// Get implements physical.Backend.
func (b *Backend) Get(ctx context.Context, key string) (*physical.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	v, ok := b.data[key]
	if !ok {
		return nil, nil
	}
	return &physical.Entry{Key: key, Value: append([]byte(nil), v...)}, nil
}

// Put implements physical.Backend.
func (b *Backend) Put(ctx context.Context, e *physical.Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data[e.Key] = append([]byte(nil), e.Value...)
	return nil
}

// Delete implements physical.Backend.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.data, key)
	return nil
}

// List implements physical.Backend.
func (b *Backend) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.RLock()
	keys := make([]string, 0)
	for k := range b.data {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	b.mu.RUnlock()
	sort.Strings(keys)
	return physical.ChildrenOf(prefix, keys), nil
}

// Transaction implements physical.Transactional.
func (b *Backend) Transaction(ctx context.Context, ops []*physical.TxnOp) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, op := range ops {
		if op == nil || op.Entry == nil || (op.Op != physical.PutOp && op.Op != physical.DeleteOp) {
			return fmt.Errorf("inmem: invalid transaction operation %+v", op)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, op := range ops {
		switch op.Op {
		case physical.PutOp:
			b.data[op.Entry.Key] = append([]byte(nil), op.Entry.Value...)
		case physical.DeleteOp:
			delete(b.data, op.Entry.Key)
		}
	}
	return nil
}

// Dump returns a copy of every raw value, for tests that check what reaches storage.
func (b *Backend) Dump() map[string][]byte {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make(map[string][]byte, len(b.data))
	for k, v := range b.data {
		out[k] = append([]byte(nil), v...)
	}
	return out
}
