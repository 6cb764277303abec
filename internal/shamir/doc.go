// Package shamir splits a secret into shares with Shamir's secret sharing over
// GF(2^8) and combines them back; the seal layer (internal/seal) calls it to
// protect the root key and recovery keys.
//
// Shares use the same layout and field as HashiCorp Vault's shamir package, so
// unseal keys are interchangeable between the two: a share is the polynomial's
// y values, one per secret byte, followed by a single x-coordinate byte. The
// field is GF(2^8) reduced by the AES polynomial x^8+x^4+x^3+x+1 (0x11b), and
// x coordinates are distinct, non-zero and chosen at random.
//
// Field arithmetic runs without secret-dependent branches or table lookups, so
// the time taken does not depend on share or secret bytes.
package shamir
