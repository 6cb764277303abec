// Package awskms is the "awskms" auto-unseal seal: it protects the root key
// with an AWS KMS key, configured as Vault's seal "awskms" stanza. The
// core's seal layer calls it at init and at every unseal.
//
// It uses envelope encryption as Vault does: each Encrypt draws a random
// AES-256 data key, encrypts the plaintext with it under AES-GCM, and has
// KMS encrypt (wrap) the data key. The plaintext never reaches KMS, and a
// blob records the ARN of the KMS key that wrapped it, so blobs made before
// a key rotation or an alias change still decrypt.
package awskms
