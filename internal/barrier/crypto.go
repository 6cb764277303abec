package barrier

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
)

const (
	// KeySize is the length of the root key and of every keyring key:
	// AES-256.
	KeySize = 32

	// valueVersion is the format byte after the term. Version 1: AES-256-GCM,
	// 12-byte nonce, storage path as additional data.
	valueVersion = 1

	termSize   = 4
	nonceSize  = 12
	tagSize    = 16
	headerSize = termSize + 1

	// rootTerm marks a value sealed under the root key (only the keyring);
	// keyring terms start at 1.
	rootTerm = 0
)

// GenerateKey returns KeySize random bytes from crypto/rand, suitable as a
// root key or a keyring key.
func GenerateKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("barrier: generate key: %w", err)
	}
	return key, nil
}

// newAEAD returns AES-256-GCM under key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("barrier: key is %d bytes, want %d: %w", len(key), KeySize, ErrInvalidKey)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("barrier: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("barrier: %w", err)
	}
	return aead, nil
}

// Encrypt seals plaintext with AES-256-GCM under a 32-byte key, binding aad,
// and returns nonce|ciphertext with a fresh random 12-byte nonce. The seal
// layer uses it to wrap the root key.
func Encrypt(key, aad, plaintext []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("barrier: nonce: %w", err)
	}
	return aead.Seal(out, out, plaintext, aad), nil
}

// Decrypt opens the output of Encrypt made with the same key and aad. Any
// mismatch or damage returns an error wrapping ErrDecrypt and no plaintext.
func Decrypt(key, aad, ciphertext []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(ciphertext) < nonceSize+tagSize {
		return nil, fmt.Errorf("%w: ciphertext truncated to %d bytes", ErrDecrypt, len(ciphertext))
	}
	pt, err := aead.Open(nil, ciphertext[:nonceSize], ciphertext[nonceSize:], aad)
	if err != nil {
		return nil, fmt.Errorf("%w: message authentication failed", ErrDecrypt)
	}
	return pt, nil
}

// sealValue returns term|version|nonce|AES-GCM(plaintext) with path as
// additional data.
func sealValue(aead cipher.AEAD, term uint32, path string, plaintext []byte) ([]byte, error) {
	out := make([]byte, headerSize+nonceSize, headerSize+nonceSize+len(plaintext)+tagSize)
	binary.BigEndian.PutUint32(out, term)
	out[termSize] = valueVersion
	nonce := out[headerSize:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("barrier: nonce: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, []byte(path)), nil
}

// parseHeader returns the term of a stored value after checking its length
// and version.
func parseHeader(value []byte) (uint32, error) {
	if len(value) < headerSize+nonceSize+tagSize {
		return 0, fmt.Errorf("%w: value truncated to %d bytes", ErrDecrypt, len(value))
	}
	if v := value[termSize]; v != valueVersion {
		return 0, fmt.Errorf("%w: unknown format version %d", ErrDecrypt, v)
	}
	return binary.BigEndian.Uint32(value), nil
}

// openValue authenticates and decrypts a value whose header parseHeader
// accepted.
func openValue(aead cipher.AEAD, path string, value []byte) ([]byte, error) {
	nonce := value[headerSize : headerSize+nonceSize]
	pt, err := aead.Open(nil, nonce, value[headerSize+nonceSize:], []byte(path))
	if err != nil {
		return nil, fmt.Errorf("%w: message authentication failed", ErrDecrypt)
	}
	return pt, nil
}
