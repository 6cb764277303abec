package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/strongbox/strongbox/internal/barrier"
	"github.com/strongbox/strongbox/internal/core/mount"
	"github.com/strongbox/strongbox/internal/core/token"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/tokenutil"
)

// loginTokenType settles the type of a login's token as Vault does: a
// mount set to "service" or "batch" decides alone; a mount set to a
// default ("default-service", the default, or "default-batch") gives its
// type to logins that ask for none ("default", or the mount's own
// default) and otherwise lets the role or user decide.
func loginTokenType(mountType, asked string) (string, error) {
	switch asked {
	case "", tokenutil.TypeDefault, tokenutil.TypeDefaultService, tokenutil.TypeDefaultBatch,
		tokenutil.TypeService, tokenutil.TypeBatch:
	default:
		return "", logical.BadRequest("invalid token type %q", asked)
	}
	switch mountType {
	case tokenutil.TypeService, tokenutil.TypeBatch:
		return mountType, nil
	case tokenutil.TypeDefaultBatch:
		switch asked {
		case "", tokenutil.TypeDefault, tokenutil.TypeDefaultBatch, tokenutil.TypeBatch:
			return token.TypeBatch, nil
		}
		return token.TypeService, nil
	case "", mount.TokenTypeDefaultService, tokenutil.TypeDefault:
		switch asked {
		case tokenutil.TypeBatch, tokenutil.TypeDefaultBatch:
			return token.TypeBatch, nil
		}
		return token.TypeService, nil
	}
	return "", logical.BadRequest("the auth mount has an invalid token_type %q", mountType)
}

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
