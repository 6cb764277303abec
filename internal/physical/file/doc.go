// Package file is the `file` storage backend: one bbolt database at
// <path>/strongbox.db holding every entry in a single bucket. The server
// builds it from a `storage "file"` stanza; the barrier is its only caller.
//
// Every write is fsync'd before it returns. Concurrent writers are coalesced
// with bbolt's Batch, so N goroutines writing at once share one commit and
// one fsync instead of queueing for N of them.
package file
