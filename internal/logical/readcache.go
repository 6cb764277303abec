package logical

import "sync"

// ReadCache keeps decoded values of a storage that its owner alone writes
// (the active node's engines and token store), so hot reads skip
// decryption and decoding. Every write of a key must go through Set or
// Invalidate. A value read from storage is cached with Fill only if no write
// happened since the reader took its generation from Get, so a slow reader
// never puts back a value that a concurrent write replaced or deleted.
//
// Values are cloned in and out: callers may change what they get.
type ReadCache[V any] struct {
	mu    sync.RWMutex
	gen   uint64
	m     map[string]V
	max   int
	clone func(V) V
}

// NewReadCache returns a cache holding at most max values (it starts over
// when full) that copies values with clone.
func NewReadCache[V any](max int, clone func(V) V) *ReadCache[V] {
	return &ReadCache[V]{max: max, clone: clone}
}

// Get returns a copy of the cached value and the current generation.
func (c *ReadCache[V]) Get(key string) (V, bool, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[key]
	if ok {
		v = c.clone(v)
	}
	return v, ok, c.gen
}

// Fill caches a value read from storage unless a write happened after gen.
func (c *ReadCache[V]) Fill(key string, v V, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	c.ensure()
	c.m[key] = c.clone(v)
}

// Set records a write of key.
func (c *ReadCache[V]) Set(key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.ensure()
	c.m[key] = c.clone(v)
}

// Invalidate records a write or delete of key.
func (c *ReadCache[V]) Invalidate(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, key)
}

// Clear drops everything (storage changed under the owner).
func (c *ReadCache[V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = nil
}

func (c *ReadCache[V]) ensure() {
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[string]V)
	}
}
