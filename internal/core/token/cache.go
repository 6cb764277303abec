package token

// maxCachedEntries bounds the entry cache; past it the cache starts over.
const maxCachedEntries = 100_000

// InvalidateCache drops every cached entry, for when storage changed under
// the store (a standby following the active node).
func (s *Store) InvalidateCache() { s.cache.Clear() }
