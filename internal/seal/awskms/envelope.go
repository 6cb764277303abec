package awskms

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"

	"github.com/strongbox/strongbox/internal/seal"
)

const (
	dataKeySize = 32 // AES-256
	nonceSize   = 12
	tagSize     = 16
)

// envelope is a plaintext sealed under a fresh data key.
type envelope struct {
	dataKey    []byte
	iv         []byte
	ciphertext []byte
}

// sealEnvelope encrypts plaintext with a new random AES-256-GCM key.
func sealEnvelope(plaintext []byte) (*envelope, error) {
	key := make([]byte, dataKeySize)
	iv := make([]byte, nonceSize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("awskms seal: data key: %w", err)
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, fmt.Errorf("awskms seal: IV: %w", err)
	}
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return &envelope{dataKey: key, iv: iv, ciphertext: gcm.Seal(nil, iv, plaintext, nil)}, nil
}

// checkEnvelope rejects blobs that cannot be AES-GCM output before KMS is
// asked anything.
func checkEnvelope(iv, ciphertext []byte) error {
	if len(iv) != nonceSize || len(ciphertext) < tagSize {
		return fmt.Errorf("%w: malformed AES-GCM envelope", seal.ErrInvalidKey)
	}
	return nil
}

// openEnvelope decrypts an envelope with its unwrapped data key.
func openEnvelope(dataKey, iv, ciphertext []byte) ([]byte, error) {
	if len(dataKey) != dataKeySize {
		return nil, fmt.Errorf("%w: unwrapped data key is %d bytes, not %d", seal.ErrInvalidKey, len(dataKey), dataKeySize)
	}
	if err := checkEnvelope(iv, ciphertext); err != nil {
		return nil, err
	}
	gcm, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	pt, err := gcm.Open(nil, iv, ciphertext, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: envelope does not decrypt: %v", seal.ErrInvalidKey, err)
	}
	return pt, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("awskms seal: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("awskms seal: %w", err)
	}
	return gcm, nil
}
