// Package pkcs11 is the "pkcs11" auto-unseal seal: it encrypts the root key
// with a key held in an HSM reached through a PKCS#11 module, configured as
// Vault's seal "pkcs11" stanza. The core's seal layer calls it at init and at
// every unseal.
//
// CKM_AES_GCM (0x1087) is the default mechanism and CKM_RSA_PKCS_OAEP
// (0x0009) the other one supported. The module is loaded once per process
// and shared by every Wrapper using it; each Wrapper keeps a small pool of
// logged-in sessions and reopens them (logging in again) when the HSM drops
// them. The package needs cgo; without it New reports so.
package pkcs11
