// Package keyops is the key-ceremony room of the core, which calls it: rekey
// and recovery-key rekey (with verification and PGP), generate-root, seal
// migration, the recovery key records of an auto seal, seal re-wrap
// (sys/sealwrap/rewrap) and barrier key rotation (sys/rotate,
// sys/rotate/config, automatic rotation, sys/key-status).
//
// The init/unseal/seal state machine stays in core; this package asks core
// for what it needs through Host (the state lock, the active term, an
// unseal with a root key) and never imports core.
package keyops
