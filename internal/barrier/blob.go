package barrier

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// blobAADPrefix starts the additional data of every blob. Storage paths
// never hold a NUL byte, so a blob can never be passed off as a stored
// value, nor a stored value as a blob.
const blobAADPrefix = "\x00blob:"

// blobReloadEvery bounds how often OpenBlob reloads the keyring for a blob
// naming a term this node does not know. Blobs come from clients: without
// the bound, a forged term would make every request read the keyring.
const blobReloadEvery = time.Second

// SealBlob encrypts plaintext under the active keyring term for a value
// kept outside storage (a batch token), bound to purpose: OpenBlob with
// another purpose refuses it. The term travels in the blob, so the blob
// opens on every node sharing the keyring, and after Rotate, for as long
// as the keyring holds that term (terms are never removed).
func (b *Barrier) SealBlob(purpose string, plaintext []byte) ([]byte, error) {
	return b.encrypt(blobAADPrefix+purpose, plaintext)
}

// OpenBlob authenticates and decrypts a blob made by SealBlob with the same
// purpose. A blob that is damaged, forged or made for another purpose
// returns an error wrapping ErrDecrypt, and no plaintext. A blob sealed
// under a term newer than this node's keyring (another node rotated) makes
// it reload the keyring first, at most once per second.
func (b *Barrier) OpenBlob(ctx context.Context, purpose string, blob []byte) ([]byte, error) {
	aad := blobAADPrefix + purpose
	pt, newer, err := b.decrypt(aad, blob)
	if newer && b.mayReloadForBlob() {
		if rerr := b.ReloadKeyring(ctx); rerr != nil {
			if errors.Is(rerr, ErrSealed) {
				return nil, ErrSealed
			}
			return nil, fmt.Errorf("barrier: open blob: reloading the keyring for a newer term failed: %w", rerr)
		}
		pt, _, err = b.decrypt(aad, blob)
	}
	if err != nil {
		return nil, fmt.Errorf("barrier: open blob: %w", err)
	}
	return pt, nil
}

// mayReloadForBlob reports whether enough time has passed since the last
// blob-driven keyring reload, and claims the next one if so.
func (b *Barrier) mayReloadForBlob() bool {
	now := time.Now().UnixNano()
	last := b.blobReload.Load()
	if now-last < int64(blobReloadEvery) {
		return false
	}
	return b.blobReload.CompareAndSwap(last, now)
}
