// Package physical defines the storage contract every backend (inmem, file,
// raft, postgresql) fulfils. The barrier is its only caller in the request path:
// values reaching a Backend are already encrypted.
package physical
