package transit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"time"
)

// Key types, as Vault names them.
const (
	typeAES128   = "aes128-gcm96"
	typeAES256   = "aes256-gcm96"
	typeChaCha   = "chacha20-poly1305"
	typeEd25519  = "ed25519"
	typeECDSA256 = "ecdsa-p256"
	typeECDSA384 = "ecdsa-p384"
	typeECDSA521 = "ecdsa-p521"
	typeRSA2048  = "rsa-2048"
	typeRSA3072  = "rsa-3072"
	typeRSA4096  = "rsa-4096"
	typeHMAC     = "hmac"
)

var keyTypes = []string{typeAES128, typeAES256, typeChaCha, typeEd25519, typeECDSA256, typeECDSA384,
	typeECDSA521, typeRSA2048, typeRSA3072, typeRSA4096, typeHMAC}

func symmetric(t string) bool { return t == typeAES128 || t == typeAES256 || t == typeChaCha }

func asymmetric(t string) bool {
	switch t {
	case typeEd25519, typeECDSA256, typeECDSA384, typeECDSA521, typeRSA2048, typeRSA3072, typeRSA4096:
		return true
	}
	return false
}

func isRSA(t string) bool { return t == typeRSA2048 || t == typeRSA3072 || t == typeRSA4096 }

func isECDSA(t string) bool { return t == typeECDSA256 || t == typeECDSA384 || t == typeECDSA521 }

// keyEntry is one version of a key.
type keyEntry struct {
	// Key is the symmetric key, or the HMAC key of an hmac-type key.
	Key []byte `json:"key,omitempty"`
	// HMACKey is the version's key for the hmac endpoint (every type has
	// one, as in Vault).
	HMACKey []byte `json:"hmac_key"`
	// Private is an asymmetric private key, PKCS #8 DER.
	Private      []byte    `json:"private,omitempty"`
	CreationTime time.Time `json:"creation_time"`
}

// policy is a named key with all its versions and settings, as stored.
// A policy held by the cache is never modified: writers change a copy
// (clone) and swap it in.
type policy struct {
	Name                 string               `json:"name"`
	Type                 string               `json:"type"`
	Keys                 map[string]*keyEntry `json:"keys"`
	LatestVersion        int                  `json:"latest_version"`
	MinDecryptionVersion int                  `json:"min_decryption_version"`
	MinEncryptionVersion int                  `json:"min_encryption_version"`
	MinAvailableVersion  int                  `json:"min_available_version"`
	DeletionAllowed      bool                 `json:"deletion_allowed"`
	Derived              bool                 `json:"derived"`
	KDF                  string               `json:"kdf,omitempty"`
	ConvergentEncryption bool                 `json:"convergent_encryption"`
	Exportable           bool                 `json:"exportable"`
	AllowPlaintextBackup bool                 `json:"allow_plaintext_backup"`
	AutoRotatePeriod     time.Duration        `json:"auto_rotate_period"`
	KeySize              int                  `json:"key_size,omitempty"`

	// signers caches parsed private keys by version.
	signers sync.Map
}

const kdfHKDF = "hkdf_sha256"

// clone returns a copy the caller may change (key entries are shared:
// they are never modified once made).
func (p *policy) clone() *policy {
	c := &policy{}
	*c = policy{
		Name: p.Name, Type: p.Type, Keys: maps.Clone(p.Keys), LatestVersion: p.LatestVersion,
		MinDecryptionVersion: p.MinDecryptionVersion, MinEncryptionVersion: p.MinEncryptionVersion,
		MinAvailableVersion: p.MinAvailableVersion, DeletionAllowed: p.DeletionAllowed, Derived: p.Derived,
		KDF: p.KDF, ConvergentEncryption: p.ConvergentEncryption, Exportable: p.Exportable,
		AllowPlaintextBackup: p.AllowPlaintextBackup, AutoRotatePeriod: p.AutoRotatePeriod, KeySize: p.KeySize,
	}
	return c
}

func (p *policy) encode() ([]byte, error) { return json.Marshal(p) }

func decodePolicy(b []byte) (*policy, error) {
	var p policy
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decode key: %w", err)
	}
	if p.Keys == nil {
		p.Keys = map[string]*keyEntry{}
	}
	return &p, nil
}

// entry returns version v, nil when it does not exist (trimmed, future).
func (p *policy) entry(v int) *keyEntry { return p.Keys[strconv.Itoa(v)] }

// newKeyEntry makes a fresh version of a key of type typ.
func newKeyEntry(typ string, keySize int, now time.Time) (*keyEntry, error) {
	e := &keyEntry{CreationTime: now.UTC(), HMACKey: randomBytes(32)}
	switch typ {
	case typeAES128:
		e.Key = randomBytes(16)
	case typeAES256, typeChaCha:
		e.Key = randomBytes(32)
	case typeHMAC:
		e.Key = randomBytes(keySize)
	default:
		priv, err := generatePrivate(typ)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, fmt.Errorf("encode %s key: %w", typ, err)
		}
		e.Private = der
	}
	return e, nil
}

func generatePrivate(typ string) (crypto.Signer, error) {
	switch typ {
	case typeEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case typeECDSA256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case typeECDSA384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case typeECDSA521:
		return ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case typeRSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case typeRSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case typeRSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return nil, fmt.Errorf("unknown key type %q", typ)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("transit: the system's random source failed: " + err.Error())
	}
	return b
}

// rotate adds a new latest version.
func (p *policy) rotate(now time.Time) error {
	e, err := newKeyEntry(p.Type, p.KeySize, now)
	if err != nil {
		return err
	}
	p.LatestVersion++
	p.Keys[strconv.Itoa(p.LatestVersion)] = e
	return nil
}

// signer returns version v's private key, parsed once.
func (p *policy) signer(v int) (crypto.Signer, error) {
	if s, ok := p.signers.Load(v); ok {
		return s.(crypto.Signer), nil
	}
	e := p.entry(v)
	if e == nil || e.Private == nil {
		return nil, fmt.Errorf("key version %d has no private key", v)
	}
	k, err := x509.ParsePKCS8PrivateKey(e.Private)
	if err != nil {
		return nil, fmt.Errorf("parse key version %d: %w", v, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key version %d is not a signing key", v)
	}
	p.signers.Store(v, s)
	return s, nil
}

// deriveKey derives the per-context key of a derived key's version.
func deriveKey(key, context []byte, n int) ([]byte, error) {
	return hkdf.Key(sha256.New, key, nil, string(context), n)
}

// encryptionVersion resolves the version an encryption uses: the latest,
// or asked (which must be at least min_encryption_version).
func (p *policy) encryptionVersion(asked int) (int, error) {
	if asked == 0 {
		if p.MinEncryptionVersion > 0 && p.MinEncryptionVersion > p.LatestVersion {
			return 0, errBadInput("min_encryption_version is above the latest version")
		}
		return p.LatestVersion, nil
	}
	if asked < 0 || asked > p.LatestVersion {
		return 0, errBadInput("requested version for encryption is not valid: %d (latest is %d)", asked, p.LatestVersion)
	}
	if p.MinEncryptionVersion > 0 && asked < p.MinEncryptionVersion {
		return 0, errBadInput("requested version for encryption is less than the minimum encryption key version")
	}
	return asked, nil
}

// decryptionVersionOK checks that version v may decrypt (verify).
func (p *policy) decryptionVersionOK(v int) error {
	if v <= 0 || v > p.LatestVersion || p.entry(v) == nil {
		return errBadInput("invalid key version %d", v)
	}
	if v < p.MinDecryptionVersion {
		return errBadInput("ciphertext or signature version is disallowed by policy (too old)")
	}
	return nil
}
