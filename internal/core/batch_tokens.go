package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/strongbox/strongbox/internal/barrier"
	"github.com/strongbox/strongbox/internal/core/token"
)

// batchTokenPurpose binds batch tokens' blobs to their use.
const batchTokenPurpose = "token/batch"

// sealBatchToken seals a batch token's entry under the barrier's active
// keyring term: every node of the cluster holds the keyring, so the token
// works on all of them, and after a key rotation.
func (c *Core) sealBatchToken(plaintext []byte) ([]byte, error) {
	return c.barrier.SealBlob(batchTokenPurpose, plaintext)
}

// openBatchToken opens what sealBatchToken made; a blob that does not
// authenticate is an invalid token, not a failure.
func (c *Core) openBatchToken(ctx context.Context, blob []byte) ([]byte, error) {
	pt, err := c.barrier.OpenBlob(ctx, batchTokenPurpose, blob)
	if errors.Is(err, barrier.ErrDecrypt) {
		return nil, fmt.Errorf("%w: %w", token.ErrBatchUnreadable, err)
	}
	return pt, err
}
