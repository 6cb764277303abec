package snapshot

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Key is a cluster's snapshot key. Snapshots carry an HMAC-SHA256 of their
// checksums under it, and the key is stored inside the barrier, so only a
// cluster holding the same keyring and data can verify a snapshot: a
// snapshot from another cluster is recognized before it replaces anything.
// The key travels inside snapshots (it is part of the data), so a cluster
// restored from another's snapshot verifies that cluster's snapshots.
type Key struct {
	ID     string `json:"id"`
	Secret []byte `json:"secret"`
}

// NewKey returns a fresh random key.
func NewKey() (*Key, error) {
	b := make([]byte, 32+8)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("snapshot key: %w", err)
	}
	return &Key{ID: hex.EncodeToString(b[32:]), Secret: b[:32]}, nil
}

// sealedSums is SHA256SUMS.sealed.
type sealedSums struct {
	KeyID string `json:"key_id"`
	HMAC  string `json:"hmac"`
}

func (k *Key) mac(sums []byte) []byte {
	m := hmac.New(sha256.New, k.Secret)
	m.Write(sums)
	return m.Sum(nil)
}

func (k *Key) seal(sums []byte) []byte {
	b, _ := json.Marshal(sealedSums{KeyID: k.ID, HMAC: hex.EncodeToString(k.mac(sums))})
	return b
}

// Verify checks the archive's sealed checksums with key: nil when the
// snapshot was taken by the cluster that holds key, an error wrapping
// ErrKeyMismatch otherwise (including when key is nil: this cluster never
// took a snapshot, so none can be its own).
func (a *Archive) Verify(key *Key) error {
	var s sealedSums
	if err := json.Unmarshal(a.sealed, &s); err != nil {
		return fmt.Errorf("%w: unreadable %s", ErrKeyMismatch, fileSealed)
	}
	if key == nil {
		return fmt.Errorf("%w: this cluster has no snapshot key", ErrKeyMismatch)
	}
	got, err := hex.DecodeString(s.HMAC)
	if err != nil || s.KeyID != key.ID || !hmac.Equal(got, key.mac(a.sums)) {
		return ErrKeyMismatch
	}
	return nil
}
