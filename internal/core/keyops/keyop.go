package keyops

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"

	"github.com/strongbox/strongbox/internal/core/token"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/pgp"
	"github.com/strongbox/strongbox/internal/seal"
)

// msgNotInitialized is core's ErrNotInitialized, in Vault's words.
const msgNotInitialized = "Vault is not initialized"

// keyOpConfig checks what sys/rekey and sys/generate-root need, in Vault's
// order (initialized: 400, unsealed: 503, active: forwarded), and returns
// the configuration of the keys that authorize them (the seal's, or under
// an auto seal the recovery key's) and the active term's token store. The
// caller holds the state lock (read).
func (o *Ops) keyOpConfig(ctx context.Context) (*seal.Config, *token.Store, error) {
	conf, err := seal.LoadConfig(ctx, o.physical)
	switch {
	case errors.Is(err, seal.ErrNotInitialized):
		return nil, nil, logical.BadRequest("%s", msgNotInitialized)
	case err != nil:
		return nil, nil, err
	}
	tokens, err := o.host.Active()
	switch {
	case err != nil:
		return nil, nil, err
	case conf.Type != o.sealType():
		// A node left running with the old seal's configuration after a
		// seal migration must not rewrite the seal's keys.
		return nil, nil, logical.BadRequest("storage is under the %q seal but this node is configured with the %q seal (a seal migration is pending or was done without it): restart it with the new seal configuration",
			conf.Type, o.sealType())
	case o.autoSeal != nil:
		rconf, err := o.recoveryConfig(ctx)
		return rconf, tokens, err
	}
	return conf, tokens, nil
}

// authorizeShares checks that shares are a quorum of the keys that
// authorize key operations: the unseal keys under the Shamir seal, the
// recovery keys under an auto seal. A mismatch is seal.ErrInvalidKey.
func (o *Ops) authorizeShares(ctx context.Context, shares [][]byte) error {
	if o.autoSeal != nil {
		return o.verifyRecoveryShares(ctx, shares)
	}
	root, err := o.rootKeyFromShares(ctx, shares)
	if err != nil {
		return err
	}
	clear(root)
	return nil
}

// authorizingKeys names the keys authorizeShares takes, for messages.
func (o *Ops) authorizingKeys() string {
	if o.autoSeal != nil {
		return "recovery"
	}
	return "unseal"
}

// rootKeyFromShares unwraps the stored root key with a threshold of
// current shares and checks it is the key the barrier runs on, so a
// quorum of shares (never anything less) authorizes the operation.
func (o *Ops) rootKeyFromShares(ctx context.Context, shares [][]byte) ([]byte, error) {
	root, err := o.shamir.RootKey(ctx, shares)
	if err != nil {
		return nil, err
	}
	if err := o.matchesBarrier(root); err != nil {
		clear(root)
		return nil, err
	}
	return root, nil
}

// matchesBarrier compares a candidate root key with the barrier's, in
// constant time; a mismatch is seal.ErrInvalidKey.
func (o *Ops) matchesBarrier(root []byte) error {
	live, err := o.barrier.RootKey()
	if err != nil {
		return fmt.Errorf("read root key: %w", err)
	}
	defer clear(live)
	if subtle.ConstantTimeCompare(root, live) != 1 {
		return seal.ErrInvalidKey
	}
	return nil
}

// Share lengths accepted by rekey and generate-root: a share is the
// 32-byte unseal key plus one byte of x coordinate; 16 leaves room for
// shorter keys, as Vault does.
const (
	minShareLen = 16
	maxShareLen = 33
)

// checkShareLen is rekey's and generate-root's length check, in Vault's words.
func checkShareLen(key []byte) error {
	switch {
	case len(key) < minShareLen:
		return logical.BadRequest("key is shorter than minimum %d bytes", minShareLen)
	case len(key) > maxShareLen:
		return logical.BadRequest("key is longer than maximum %d bytes", maxShareLen)
	}
	return nil
}

// EncryptShares encrypts each share, hex-encoded as Vault does, to its PGP
// key (keys[i] for shares[i]), and wipes the plain shares. Init uses it
// too.
func EncryptShares(keys []*pgp.PublicKey, shares [][]byte) ([][]byte, error) {
	defer seal.WipeShares(shares)
	enc := make([][]byte, len(shares))
	for i, s := range shares {
		var err error
		if enc[i], err = keys[i].Encrypt([]byte(hex.EncodeToString(s))); err != nil {
			return nil, logical.Errorf(http.StatusInternalServerError, "failed to encrypt shares: %v", err)
		}
	}
	return enc, nil
}
