package seal

import (
	"context"
	"time"
)

// BlobInfo is a value encrypted by a key service, with what is needed to
// decrypt it later (the key that was used, the mechanism, the IV).
type BlobInfo struct {
	Ciphertext []byte `json:"ciphertext"`
	IV         []byte `json:"iv,omitempty"`
	// KeyID names the key-service key that encrypted it, so a rotated key
	// can still decrypt older blobs.
	KeyID     string `json:"key_id,omitempty"`
	Mechanism string `json:"mechanism,omitempty"`
	// WrappedKey holds an envelope key when the service wraps a data key
	// instead of encrypting the value itself.
	WrappedKey []byte `json:"wrapped_key,omitempty"`
}

// Wrapper is an auto-unseal key service (an HSM over PKCS#11, a KMS): it
// encrypts and decrypts the root key so a node can unseal without
// operators. Implementations are safe for concurrent use.
type Wrapper interface {
	// Type is the seal type as configured ("pkcs11", "awskms").
	Type() string
	// KeyID returns the current key's identifier.
	KeyID(ctx context.Context) (string, error)
	// Encrypt encrypts plaintext with the current key.
	Encrypt(ctx context.Context, plaintext []byte) (*BlobInfo, error)
	// Decrypt returns the plaintext of a blob. A blob that does not
	// decrypt (wrong key, tampering) is an error wrapping ErrInvalidKey;
	// an unreachable service is any other error, and callers retry.
	Decrypt(ctx context.Context, blob *BlobInfo) ([]byte, error)
	// Close releases sessions and connections.
	Close() error
}

// RetryPacer is implemented by a Wrapper whose key service the core
// retries at a steady interval when it fails (down, sealed, refusing),
// instead of its growing backoff. A zero interval keeps the backoff.
type RetryPacer interface {
	RetryInterval() time.Duration
}
