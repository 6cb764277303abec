// Package kv is the key/value secrets engine (Vault's KV version 1, a plain
// pass-through store, and version 2, versioned secrets with metadata,
// check-and-set, soft delete, undelete and destroy) that the core mounts
// through Factory and calls through logical.Backend. The engine sees only its
// storage view.
//
// Version 2 keeps, per secret, one metadata entry at "metadata/<path>" (the
// version list, settings and custom metadata) and each version's data at
// "versions/<sha256(path)>/<n>". Listing "metadata/<folder>/" therefore
// yields Vault's list shape directly. Read-modify-write of a secret's
// metadata happens under a striped per-key lock so concurrent writers never
// lose a version.
package kv
