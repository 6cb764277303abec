package logical

import (
	"context"
	"sync"

	"github.com/strongbox/strongbox/internal/physical"
)

// InmemStorage is a Storage in memory, for engine tests.
type InmemStorage struct {
	mu   sync.RWMutex
	data map[string][]byte
}

// NewInmemStorage returns an empty InmemStorage.
func NewInmemStorage() *InmemStorage { return &InmemStorage{data: map[string][]byte{}} }

// Get implements Storage.
func (s *InmemStorage) Get(_ context.Context, key string) (*StorageEntry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.data[key]
	if !ok {
		return nil, nil
	}
	return &StorageEntry{Key: key, Value: append([]byte(nil), v...)}, nil
}

// Put implements Storage.
func (s *InmemStorage) Put(_ context.Context, e *StorageEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[e.Key] = append([]byte(nil), e.Value...)
	return nil
}

// Delete implements Storage.
func (s *InmemStorage) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.data, key)
	return nil
}

// List implements Storage.
func (s *InmemStorage) List(_ context.Context, prefix string) ([]string, error) {
	s.mu.RLock()
	keys := make([]string, 0, len(s.data))
	for k := range s.data {
		keys = append(keys, k)
	}
	s.mu.RUnlock()
	return physical.ChildrenOf(prefix, keys), nil
}

// Transaction implements Transactional: all ops apply under one lock.
func (s *InmemStorage) Transaction(_ context.Context, ops []*TxnOp) error {
	for _, op := range ops {
		if op == nil || op.Entry == nil || op.Entry.Key == "" {
			return BadRequest("invalid transaction operation")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, op := range ops {
		if op.Delete {
			delete(s.data, op.Entry.Key)
		} else {
			s.data[op.Entry.Key] = append([]byte(nil), op.Entry.Value...)
		}
	}
	return nil
}
