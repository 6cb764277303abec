// Package sealtest starts the real key services that the auto-unseal seal
// tests run against: a SoftHSM2 token for internal/seal/pkcs11 and the
// local-kms AWS KMS emulator for internal/seal/awskms. Only tests import it.
//
// Missing tools are a test failure that names scripts/test-deps.sh, never a
// skip: a green run must mean the seals were exercised.
package sealtest
