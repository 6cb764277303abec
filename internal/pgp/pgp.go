package pgp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Errors callers branch on (and report as 400s: they are the user's input).
var (
	// ErrInvalidKey means the value is not a usable OpenPGP public key.
	ErrInvalidKey = errors.New("pgp: invalid public key")
	// ErrKeybase means a "keybase:<user>" name was given; Strongbox does
	// not look keys up over the network.
	ErrKeybase = errors.New("pgp: keybase lookups are not supported; give the public key itself (base64 of the binary key)")
)

// maxKeyBytes bounds one decoded key; real public keys are a few KiB.
const maxKeyBytes = 1 << 20

// armorPrefix starts every ASCII-armored OpenPGP block.
const armorPrefix = "-----BEGIN PGP"

// PublicKey is a parsed recipient key.
type PublicKey struct {
	entity *openpgp.Entity
	// Fingerprint is the primary key's fingerprint in lowercase hex, as
	// Vault reports it in pgp_fingerprints.
	Fingerprint string
}

// ParsePublicKey reads one key in Vault's pgp_keys format: the base64 of a
// binary OpenPGP public key. The base64 of an armored key and an armored
// key itself are accepted too. Only the first key of a key ring is used, as
// Vault does. The key must be able to encrypt now (not expired or revoked,
// with an encryption-capable key).
func ParsePublicKey(s string) (*PublicKey, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, fmt.Errorf("%w: empty key", ErrInvalidKey)
	case strings.HasPrefix(strings.ToLower(s), "keybase:"):
		return nil, ErrKeybase
	}
	raw := []byte(s)
	if !strings.HasPrefix(s, armorPrefix) {
		dec, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%w: not base64 (give the base64 of the binary key, or an armored key): %v", ErrInvalidKey, err)
		}
		raw = dec
	}
	if len(raw) > maxKeyBytes {
		return nil, fmt.Errorf("%w: key larger than %d bytes", ErrInvalidKey, maxKeyBytes)
	}
	var r io.Reader = bytes.NewReader(raw)
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte(armorPrefix)) {
		block, err := armor.Decode(bytes.NewReader(bytes.TrimSpace(raw)))
		if err != nil {
			return nil, fmt.Errorf("%w: armor: %v", ErrInvalidKey, err)
		}
		if block.Type != openpgp.PublicKeyType && block.Type != openpgp.PrivateKeyType {
			return nil, fmt.Errorf("%w: armored block is %q, not a public key", ErrInvalidKey, block.Type)
		}
		r = block.Body
	}
	entity, err := openpgp.ReadEntity(packet.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	fp := hex.EncodeToString(entity.PrimaryKey.Fingerprint)
	if _, ok := entity.EncryptionKey(time.Now()); !ok {
		return nil, fmt.Errorf("%w: key %s has no valid encryption key (expired, revoked, or signing-only)", ErrInvalidKey, fp)
	}
	return &PublicKey{entity: entity, Fingerprint: fp}, nil
}

// ParsePublicKeys parses each key; the error names the position of the
// first bad one (1-based, as operators count their key files).
func ParsePublicKeys(keys []string) ([]*PublicKey, error) {
	out := make([]*PublicKey, 0, len(keys))
	for i, k := range keys {
		pk, err := ParsePublicKey(k)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		out = append(out, pk)
	}
	return out, nil
}

// Encrypt returns plaintext as a binary OpenPGP message to the key.
func (k *PublicKey) Encrypt(plaintext []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := openpgp.Encrypt(&buf, []*openpgp.Entity{k.entity}, nil, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("pgp: encrypt to %s: %w", k.Fingerprint, err)
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, fmt.Errorf("pgp: encrypt to %s: %w", k.Fingerprint, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("pgp: encrypt to %s: %w", k.Fingerprint, err)
	}
	return buf.Bytes(), nil
}

// EncryptBase64 is Encrypt with the message base64-encoded, the form Vault
// returns an encrypted root token in.
func (k *PublicKey) EncryptBase64(plaintext []byte) (string, error) {
	ct, err := k.Encrypt(plaintext)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}
