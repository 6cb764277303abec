// Package seal protects the barrier's root key. The core calls it at init and
// unseal: a seal stores the root key wrapped (never in the clear) in the
// unencrypted area of physical storage and unwraps it from what an operator
// (key shares) or a key service (auto-unseal) provides.
//
// Under the Shamir seal the shares combine to an unseal key (a key-encryption
// key), not to the root key itself, so a rekey can replace every share by
// re-wrapping the same root key: old shares stop working and no data is
// re-encrypted.
//
// A seal migration (driven by the core) moves the same root key under
// another seal: CommitSwitch replaces the wrapped root key, the seal
// configuration and the recovery configuration in one transaction.
package seal
