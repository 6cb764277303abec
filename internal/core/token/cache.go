package token

import "sync"

// maxCachedEntries bounds the entry cache; past it the cache starts over.
const maxCachedEntries = 100_000

// entryCache keeps decoded entries by ID so that the lookup on every request
// skips storage, decryption and JSON decoding. Every write of an entry goes
// through save or deleteEntry, which keep the cache in step with storage.
//
// A lookup that read storage fills the cache only if no write happened since
// it took its generation snapshot, so a slow reader can never put back an
// entry that a concurrent write replaced or deleted.
type entryCache struct {
	mu  sync.RWMutex
	gen uint64
	m   map[string]*Entry
}

func (c *entryCache) get(id string) (*Entry, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if e, ok := c.m[id]; ok {
		return e.clone(), c.gen
	}
	return nil, c.gen
}

// fill caches e unless a write happened after gen was read.
func (c *entryCache) fill(id string, e *Entry, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	c.ensure()
	c.m[id] = e.clone()
}

// set records a write of e.
func (c *entryCache) set(e *Entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.ensure()
	c.m[e.ID] = e.clone()
}

// invalidate records a write or delete of id.
func (c *entryCache) invalidate(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, id)
}

func (c *entryCache) ensure() {
	if c.m == nil || len(c.m) >= maxCachedEntries {
		c.m = make(map[string]*Entry)
	}
}

func (c *entryCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = nil
}

// InvalidateCache drops every cached entry, for when storage changed under
// the store (a standby following the active node).
func (s *Store) InvalidateCache() { s.cache.clear() }
