// Package snapshot is the file format of Strongbox's raft snapshots and the
// places automated snapshots are kept. The core (internal/core) writes and
// reads the format when it serves sys/storage/raft/snapshot, the CLI
// (internal/command) inspects snapshot files with it offline, and the
// automated snapshot scheduler writes through its Targets.
//
// A snapshot is a gzip-compressed tar archive, the shape Vault's API clients
// expect (they check that SHA256SUMS.sealed is present and non-empty):
//
//	meta.json           Meta: format version, raft index and term, size, cluster
//	state.bin           the raft snapshot stream (internal/physical/raft):
//	                    header | bbolt file | SHA-256; values stay
//	                    barrier-encrypted, nothing in the archive is plaintext
//	SHA256SUMS          "<sha256>  <file>" for meta.json and state.bin
//	SHA256SUMS.sealed   an HMAC-SHA256 of SHA256SUMS under the cluster's
//	                    snapshot Key, which is kept inside the barrier
//
// The checksums let a restore refuse a truncated or corrupted file before it
// changes anything; the sealed checksum lets it refuse a snapshot taken by
// another cluster (another keyring), unless forced. Write and Read stream:
// nothing is held whole in memory, whatever the snapshot's size.
//
// Targets (LocalTarget, S3Target) store automated snapshots atomically: an
// object appears whole or not at all.
package snapshot
