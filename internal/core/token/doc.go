// Package token is the token store: it creates, looks up, renews and revokes
// the service tokens every request carries, and serves Vault's auth/token/
// API. The core calls it on every request (Lookup, UseToken), for logins
// (Create) and at init (CreateRoot); it mounts Backend at "auth/token/".
//
// Tokens never reach storage in the clear. A token's storage name is
// hex(HMAC-SHA256(salt, token)), where the salt is 32 random bytes kept at
// "salt"; the accessor is indexed by its HMAC and kept inside the entry
// sealed with AES-256-GCM under a key derived from the salt. Layout:
//
//	salt                           32 random bytes
//	id/<hash>                      JSON entry of one token
//	accessor/<hmac(accessor)>      the token's hash
//	parent/<parenthash>/<hash>     empty; the revocation tree
//	roles/<name>                   JSON token role (auth/token/roles/<name>)
//
// Revocation marks an entry pending first (it stops being valid at once),
// then revokes children before parents, so a crash part-way leaves nothing
// usable and Tidy (auth/token/tidy) finishes the work.
//
// Expiry is not swept here: the core keeps a lease for every token with a
// TTL (Options.OnExpiry, on create and renew), and the expiration manager
// revokes the token when the lease expires. A token past its ExpireTime is
// invalid from that instant whether or not that has happened yet.
//
// Batch tokens ("hvb." + base64url) are not stored at all: the token is its
// entry (policies, path, parent ID, times, metadata, bound CIDRs...),
// sealed by Options.SealBatch with the barrier's keyring, so any node of the
// cluster opens it and a key rotation leaves it valid. Lookup opens it and
// checks its expiry and its parent; it has no accessor, no lease and no
// children, and cannot be renewed or revoked (as in Vault).
package token
