// Package file is the `file` storage backend: one bbolt database at
// <path>/strongbox.db holding every entry in a single bucket. The server
// builds it from a `storage "file"` stanza; the barrier is its only caller.
//
// Every write is fsync'd before it returns. Concurrent writers are
// coalesced by a group commit (group.go): writers arriving while a commit
// runs share the next transaction and its fsync, so N goroutines writing
// at once pay for far fewer than N fsyncs, and a lone writer never waits.
package file
