package pgp

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// PrivateKey decrypts what Encrypt produced. Tests use it, and so can an
// operator's tooling; the server never holds one.
type PrivateKey struct {
	ring openpgp.EntityList
}

// NewKeyPair generates an unprotected Ed25519/X25519 key pair: the public
// half in pgp_keys format (base64 of the binary key) and the private half.
func NewKeyPair(name string) (string, *PrivateKey, error) {
	e, err := openpgp.NewEntity(name, "", "", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		return "", nil, fmt.Errorf("pgp: generate key: %w", err)
	}
	var buf bytes.Buffer
	if err := e.Serialize(&buf); err != nil {
		return "", nil, fmt.Errorf("pgp: serialize key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), &PrivateKey{ring: openpgp.EntityList{e}}, nil
}

// ParsePrivateKey reads an unprotected secret key: armored, binary, or the
// base64 of binary.
func ParsePrivateKey(s string) (*PrivateKey, error) {
	s = strings.TrimSpace(s)
	var ring openpgp.EntityList
	var err error
	switch {
	case strings.HasPrefix(s, armorPrefix):
		ring, err = openpgp.ReadArmoredKeyRing(strings.NewReader(s))
	default:
		raw, decErr := base64.StdEncoding.DecodeString(s)
		if decErr != nil {
			raw = []byte(s)
		}
		ring, err = openpgp.ReadKeyRing(bytes.NewReader(raw))
	}
	if err != nil {
		return nil, fmt.Errorf("pgp: read private key: %w", err)
	}
	if len(ring) == 0 || ring[0].PrivateKey == nil {
		return nil, errors.New("pgp: read private key: no secret key found")
	}
	return &PrivateKey{ring: ring}, nil
}

// Decrypt returns the plaintext of a binary OpenPGP message.
func (k *PrivateKey) Decrypt(msg []byte) ([]byte, error) {
	md, err := openpgp.ReadMessage(bytes.NewReader(msg), k.ring, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("pgp: decrypt: %w", err)
	}
	out, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		return nil, fmt.Errorf("pgp: decrypt: %w", err)
	}
	return out, nil
}

// DecryptBase64 decrypts a base64-encoded message (an encrypted root token,
// or a key share from keys_base64).
func (k *PrivateKey) DecryptBase64(s string) ([]byte, error) {
	msg, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("pgp: decrypt: not base64: %w", err)
	}
	return k.Decrypt(msg)
}
