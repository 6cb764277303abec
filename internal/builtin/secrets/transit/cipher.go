package transit

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/strongbox/strongbox/internal/logical"
)

// errBadInput is a 400 the client can act on.
func errBadInput(format string, args ...any) error { return logical.BadRequest(format, args...) }

// prefix is the ciphertext, signature and HMAC prefix: vault:v<N>:.
const prefix = "vault:v"

// splitVersioned parses "vault:v<N>:<rest>".
func splitVersioned(s, what string) (int, string, error) {
	if !strings.HasPrefix(s, prefix) {
		return 0, "", errBadInput("invalid %s: no prefix", what)
	}
	rest := s[len(prefix):]
	i := strings.IndexByte(rest, ':')
	if i < 0 {
		return 0, "", errBadInput("invalid %s: wrong number of fields", what)
	}
	v, err := strconv.Atoi(rest[:i])
	if err != nil || v <= 0 {
		return 0, "", errBadInput("invalid %s: invalid version", what)
	}
	return v, rest[i+1:], nil
}

// aead returns the cipher of a symmetric key's version for context (the
// derived key for a derived policy).
func (p *policy) aead(v int, context []byte) (cipher.AEAD, error) {
	e := p.entry(v)
	if e == nil {
		return nil, errBadInput("invalid key version %d", v)
	}
	key := e.Key
	if p.Derived {
		if len(context) == 0 {
			return nil, errBadInput("missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key")
		}
		var err error
		if key, err = deriveKey(e.Key, context, len(e.Key)); err != nil {
			return nil, fmt.Errorf("derive key: %w", err)
		}
	}
	switch p.Type {
	case typeAES128, typeAES256:
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(block)
	case typeChaCha:
		return chacha20poly1305.New(key)
	}
	return nil, errBadInput("key type %s does not support encryption", p.Type)
}

// encrypt seals plaintext with version v (0: per policy) into a
// "vault:v<N>:" ciphertext: base64 of nonce, sealed data and tag.
func (p *policy) encrypt(v int, context, plaintext, ad, nonce []byte) (string, int, error) {
	if !symmetric(p.Type) {
		return "", 0, errBadInput("key type %s does not support encryption", p.Type)
	}
	v, err := p.encryptionVersion(v)
	if err != nil {
		return "", 0, err
	}
	a, err := p.aead(v, context)
	if err != nil {
		return "", 0, err
	}
	switch {
	case p.ConvergentEncryption:
		// The same plaintext under the same context gives the same
		// ciphertext: the nonce is a MAC of both.
		mac := hmac.New(sha256.New, p.entry(v).HMACKey)
		mac.Write(context)
		mac.Write([]byte{0})
		mac.Write(plaintext)
		nonce = mac.Sum(nil)[:a.NonceSize()]
	case len(nonce) > 0:
		return "", 0, errBadInput("provided nonce not allowed for this key")
	default:
		nonce = randomBytes(a.NonceSize())
	}
	out := make([]byte, 0, len(nonce)+len(plaintext)+a.Overhead())
	out = append(out, nonce...)
	out = a.Seal(out, nonce, plaintext, ad)
	return prefix + strconv.Itoa(v) + ":" + base64.StdEncoding.EncodeToString(out), v, nil
}

// errDecrypt is the message of a ciphertext that does not open.
var errDecrypt = errors.New("cipher: message authentication failed")

// decrypt opens a "vault:v<N>:" ciphertext; it returns the plaintext and
// the version that sealed it.
func (p *policy) decrypt(ciphertext string, context, ad []byte) ([]byte, int, error) {
	if !symmetric(p.Type) {
		return nil, 0, errBadInput("key type %s does not support decryption", p.Type)
	}
	v, body, err := splitVersioned(ciphertext, "ciphertext")
	if err != nil {
		return nil, 0, err
	}
	if err := p.decryptionVersionOK(v); err != nil {
		return nil, 0, err
	}
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, 0, errBadInput("invalid ciphertext: could not decode base64")
	}
	a, err := p.aead(v, context)
	if err != nil {
		return nil, 0, err
	}
	if len(raw) < a.NonceSize()+a.Overhead() {
		return nil, 0, errBadInput("invalid ciphertext length")
	}
	pt, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], ad)
	if err != nil {
		return nil, 0, errBadInput("%v", errDecrypt)
	}
	return pt, v, nil
}
