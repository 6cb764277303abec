// Package transit is the transit secrets engine: encryption as a service,
// as Vault's. Named keys (AES-GCM, ChaCha20-Poly1305, Ed25519, ECDSA, RSA,
// HMAC) are versioned and rotated; clients encrypt, decrypt, rewrap, sign,
// verify and HMAC with them without ever holding them, alone or in
// batches (batch_input, answered in order with per-item errors).
// Ciphertexts, signatures and HMACs read "vault:v<N>:<base64>".
//
// Keys are stored whole in the mount's storage (the barrier encrypts them)
// and held decrypted in memory (cache-config sizes the cache, 0 for no
// limit) so that encrypt and decrypt do no storage read; the cache holds
// immutable snapshots that every change replaces, under a per-key lock.
// A new backend (and so an empty cache) is built each time the node
// becomes active. The periodic hook rotates keys whose auto_rotate_period
// has passed.
//
// Cryptography is crypto/* and golang.org/x/crypto only: HKDF-SHA256 for
// derived keys, a MAC of the context and plaintext for the nonce of
// convergent encryption.
package transit
