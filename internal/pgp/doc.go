// Package pgp protects the secrets Strongbox hands to operators: key shares
// and generated root tokens. The core calls it to encrypt a share or token to
// an operator's OpenPGP public key (Vault's `pgp_keys` / `pgp_key` format)
// and to encode a generated root token with a one-time pad (OTP); the CLI
// calls it to decode such a token (`operator generate-root -decode`).
//
// Keys are never fetched from the network: "keybase:<user>" names are
// refused with ErrKeybase.
package pgp
