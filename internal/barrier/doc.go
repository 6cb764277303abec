// Package barrier is the encryption layer between the core and physical
// storage: every value the core (internal/core) writes passes through a
// Barrier, which seals it with AES-256-GCM before it reaches the
// physical.Backend, and every value read back is authenticated and decrypted.
//
// A stored value is
//
//	term (4 bytes, big-endian) | version (1 byte) | nonce (12 bytes) | ciphertext+tag
//
// with the storage path as GCM additional data, so a value copied to another
// path no longer decrypts. The term names the key in the keyring that sealed
// it: Rotate adds a term and new writes use it, while values written under
// older terms keep decrypting.
//
// The keyring lives at "core/keyring", sealed in the same format (term 0)
// under the root key. The root key is given to Initialize and Unseal by the
// seal layer (internal/seal) and is held only in memory; the barrier never
// writes it anywhere. Seal forgets every key.
//
// SealBlob and OpenBlob seal values that live outside storage (batch
// tokens) in the same format under the active term, bound to a purpose
// instead of a path (the additional data starts with a NUL byte, which no
// path holds), so every node sharing the keyring opens them.
//
// The Barrier is itself a physical.Backend, so storage views and engines use
// it like any other storage. All methods are safe for concurrent use.
package barrier
