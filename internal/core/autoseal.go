package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/strongbox/strongbox/internal/barrier"
	"github.com/strongbox/strongbox/internal/core/keyops"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/pgp"
	"github.com/strongbox/strongbox/internal/seal"
)

// Under an auto seal (Config.Seal set) a key service wraps the root key and
// the node unseals itself: at init, at start (RunAutoUnseal) and when a
// raft join completes. Operators hold recovery key shares instead of
// unseal key shares; as in Vault, they authorize generate-root, both
// rekeys, and an unseal through the seal after a manual sys/seal, but they
// decrypt nothing: without the key service the node stays sealed.

// Auto-unseal retry pacing: a node that is not initialized polls as
// Vault's does, so it notices another node's init on shared storage; a key
// service that fails is retried with a capped exponential backoff.
const (
	autoUnsealUninitPoll  = 5 * time.Second
	autoUnsealMinBackoff  = time.Second
	autoUnsealMaxBackoff  = 30 * time.Second
	autoUnsealCallTimeout = 30 * time.Second
)

// ErrSealMismatch means storage was initialized with another seal than the
// one configured; changing seals is a seal migration.
var ErrSealMismatch = keyops.ErrSealMismatch

// initAuto is Init under an auto seal: it validates the recovery
// configuration as Vault does, has the key service wrap a new root key
// (before anything is stored, so an unreachable service changes nothing),
// stores the recovery key through the barrier, then unseals.
func (c *Core) initAuto(ctx context.Context, req InitRequest) (*InitResult, error) {
	rconf := &seal.Config{Type: seal.RecoveryType, SecretShares: req.RecoveryShares, SecretThreshold: req.RecoveryThreshold}
	switch {
	case rconf.SecretShares < 1:
		return nil, logical.BadRequest("recovery configuration must specify a positive number of shares")
	case len(req.RecoveryPGPKeys) > 0 && len(req.RecoveryPGPKeys) != rconf.SecretShares:
		return nil, logical.BadRequest("incorrect number of PGP keys for recovery")
	}
	if err := rconf.Validate(); err != nil {
		return nil, logical.BadRequest("invalid recovery configuration: %s", seal.ConfigMessage(err))
	}
	pgpKeys, err := pgp.ParsePublicKeys(req.RecoveryPGPKeys)
	if err != nil {
		return nil, logical.BadRequest("error parsing PGP key: %s", err)
	}
	rootPGP, err := parseRootTokenPGPKey(req.RootTokenPGPKey)
	if err != nil {
		return nil, err
	}

	c.stateLock.Lock()
	res, rootKey, err := c.initAutoLocked(ctx, rconf, pgpKeys)
	c.stateLock.Unlock()
	if err != nil {
		return nil, err
	}
	defer clear(rootKey)
	if res.RootToken, err = encryptRootToken(rootPGP, res.RootToken); err != nil {
		return nil, err
	}
	// Vault unseals an auto-sealed node at the end of init. If that fails
	// the keys must still reach the operator: the node stays sealed and the
	// auto-unseal loop retries.
	if err := c.unsealWithRootKey(ctx, rootKey); err != nil {
		c.logger.Error("unseal after init failed; the node stays sealed and auto-unseal retries", "error", err)
	}
	return res, nil
}

func (c *Core) initAutoLocked(ctx context.Context, rconf *seal.Config, pgpKeys []*pgp.PublicKey) (*InitResult, []byte, error) {
	if inited, err := c.initializedLocked(ctx); err != nil {
		return nil, nil, err
	} else if inited {
		return nil, nil, ErrAlreadyInitialized
	}
	rootKey, err := c.generateKey()
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*InitResult, []byte, error) {
		clear(rootKey)
		return nil, nil, err
	}
	wrapped, err := c.autoSeal.Wrap(ctx, rootKey)
	if err != nil {
		return fail(fmt.Errorf("init: %w", err))
	}
	recKey, shares, err := seal.NewRecoveryKey(rconf)
	if err != nil {
		return fail(fmt.Errorf("init: %w", err))
	}
	defer clear(recKey)
	if len(pgpKeys) > 0 {
		// Encrypt before storing anything: keys nobody can read are worse
		// than no init at all.
		if shares, err = keyops.EncryptShares(pgpKeys, shares); err != nil {
			return fail(err)
		}
	}
	root, err := c.initBarrier(ctx, rootKey, func(ctx context.Context) error { return c.keyops.StoreRecoveryKey(ctx, recKey, rconf) })
	if err != nil {
		return fail(err)
	}
	// The seal config is written last: it is what marks the node initialized.
	if err := c.autoSeal.Initialize(ctx, rconf, wrapped); err != nil {
		return fail(fmt.Errorf("init: %w", err))
	}
	c.logger.Info("core initialized", "seal", c.autoSeal.Type(),
		"recovery_shares", rconf.SecretShares, "recovery_threshold", rconf.SecretThreshold)
	return &InitResult{RecoveryKeys: shares, RootToken: root}, rootKey, nil
}

// AutoUnseal makes one attempt to unseal with the root key the seal's key
// service decrypts. It does nothing under the Shamir seal or when the node
// is unsealed. It returns ErrNotInitialized before init,
// ErrSealMigrationPending in seal migration mode (an operator unseals with
// the old seal's keys), an error wrapping seal.ErrInvalidKey when the
// stored blob does not decrypt to the key that opens the barrier,
// ErrSealMismatch when storage holds another seal, one wrapping
// seal.ErrCredentialsRefused when the key service refuses this server, and
// any other error when the key service (or storage) failed.
func (c *Core) AutoUnseal(ctx context.Context) error {
	if c.autoSeal == nil || !c.Sealed() {
		return nil
	}
	conf, err := seal.LoadConfig(ctx, c.physical)
	if err != nil {
		if errors.Is(err, seal.ErrNotInitialized) {
			return ErrNotInitialized
		}
		return fmt.Errorf("auto-unseal: %w", err)
	}
	pending, err := c.keyops.MigrationPending(ctx, conf)
	if err != nil {
		return fmt.Errorf("auto-unseal: check for a seal migration: %w", err)
	}
	if pending {
		c.keyops.AnnounceMigration()
		return ErrSealMigrationPending
	}
	if conf.Type != c.autoSeal.Type() {
		return fmt.Errorf("auto-unseal: %w: storage was initialized with the %q seal but this server is configured with the %q seal",
			ErrSealMismatch, conf.Type, c.autoSeal.Type())
	}
	root, err := c.autoSeal.RootKey(ctx)
	if err != nil {
		return fmt.Errorf("auto-unseal: %w", err)
	}
	defer clear(root)
	if err := c.unsealWithRootKey(ctx, root); err != nil {
		if errors.Is(err, barrier.ErrInvalidKey) {
			return fmt.Errorf("auto-unseal: %w: the key the %s seal decrypted does not open the barrier", seal.ErrInvalidKey, c.autoSeal.Type())
		}
		return err
	}
	c.logger.Info("unsealed with the seal's stored key", "seal", c.autoSeal.Type())
	return nil
}

// RunAutoUnseal retries AutoUnseal until the node is unsealed or ctx ends:
// every 5s while the node is not initialized, with a backoff from 1s to 30s
// while the key service fails, or at the seal's steady interval when it
// has one (seal.RetryPacer: the transit seal). Every failure is logged with its reason
// (never key material). It returns at once under the Shamir seal. Like
// Vault's, the loop does not restart after a later sys/seal: the node then
// stays sealed until restarted, or until a quorum of recovery key shares
// is given to sys/unseal.
func (c *Core) RunAutoUnseal(ctx context.Context) {
	if c.autoSeal == nil {
		return
	}
	backoff := autoUnsealMinBackoff
	for {
		actx, cancel := context.WithTimeout(ctx, autoUnsealCallTimeout)
		err := c.AutoUnseal(actx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		var wait time.Duration
		switch {
		case err == nil:
			return
		case errors.Is(err, ErrNotInitialized):
			c.logger.Debug("auto-unseal: not initialized yet", "retry_in", autoUnsealUninitPoll)
			wait, backoff = autoUnsealUninitPoll, autoUnsealMinBackoff
		case errors.Is(err, ErrSealMigrationPending):
			// Storage shared with other nodes may be migrated by them.
			wait, backoff = autoUnsealUninitPoll, autoUnsealMinBackoff
		case errors.Is(err, seal.ErrInvalidKey), errors.Is(err, ErrSealMismatch), errors.Is(err, seal.ErrCredentialsRefused):
			c.logger.Error("auto-unseal failed; the node stays sealed", "seal", c.autoSeal.Type(),
				"error", err, "retry_in", autoUnsealMaxBackoff)
			wait = autoUnsealMaxBackoff
		default:
			wait, backoff = backoff, min(2*backoff, autoUnsealMaxBackoff)
			if steady := c.autoSeal.RetryInterval(); steady > 0 {
				wait = steady
			}
			c.logger.Warn("auto-unseal failed: the seal's key service is unavailable; the node stays sealed",
				"seal", c.autoSeal.Type(), "error", err, "retry_in", wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// CheckSeal reports ErrSealMismatch when storage is under another seal
// type than the configured one (Shamir counts) and not the one a seal
// migration moves away from, so a server fails at start instead of never
// unsealing. Storage under the old seal of a configured migration puts the
// node in migration mode, which it logs. Storage errors are returned as
// they are; uninitialized storage is fine.
func (c *Core) CheckSeal(ctx context.Context) error {
	return c.keyops.CheckSeal(ctx)
}

// unsealRecovery answers sys/unseal under an auto seal, as Vault does for
// a node sealed by hand: a quorum of recovery key shares authorizes the
// unseal and the seal's key service decrypts the root key. Recovery keys
// never decrypt anything by themselves: with the key service unreachable
// the node stays sealed and the error says why. The shares are checked
// against the recovery key stored in the barrier once the root key has
// opened it; a mismatch seals it again before anything else runs.
func (c *Core) unsealRecovery(ctx context.Context, key []byte) error {
	rconf, err := seal.LoadRecoveryConfig(ctx, c.physical)
	if errors.Is(err, seal.ErrNotInitialized) {
		return logical.BadRequest("Vault is not initialized")
	} else if err != nil {
		return err
	}
	if !c.Sealed() {
		return nil
	}
	if err := checkUnsealKeyLen(key); err != nil {
		return err
	}
	shares, ok := c.addUnsealShare(key, rconf.SecretThreshold)
	if !ok {
		return nil
	}
	defer seal.WipeShares(shares)
	combined, err := seal.CombineShares(shares)
	if err != nil {
		c.logger.Warn("unseal with recovery keys failed: the shares do not combine")
		return logical.BadRequest("invalid key: the recovery key shares do not combine; progress was reset")
	}
	defer clear(combined)
	root, err := c.autoSeal.RootKey(ctx)
	if err != nil {
		c.logger.Warn("unseal with recovery keys failed: the seal's key service did not decrypt the root key",
			"seal", c.autoSeal.Type(), "error", err)
		return logical.Errorf(http.StatusServiceUnavailable,
			"unseal with recovery keys failed: the %s seal's key service could not decrypt the root key: %v; recovery keys only authorize the unseal, the key service must decrypt the root key (progress was reset)",
			c.autoSeal.Type(), err)
	}
	defer clear(root)
	err = c.unsealVerified(ctx, root, func(ctx context.Context) error {
		return c.keyops.MatchRecoveryKey(ctx, combined)
	})
	switch {
	case errors.Is(err, seal.ErrRecoveryMismatch):
		c.logger.Warn("unseal with recovery keys failed: the shares are not a quorum of the current recovery keys")
		return logical.BadRequest("invalid key: the recovery key shares are not a quorum of the current recovery keys; progress was reset")
	case errors.Is(err, barrier.ErrInvalidKey):
		return fmt.Errorf("unseal: %w: the key the %s seal decrypted does not open the barrier", seal.ErrInvalidKey, c.autoSeal.Type())
	case err != nil:
		return err
	}
	c.logger.Info("unsealed with recovery keys and the seal's key service", "seal", c.autoSeal.Type())
	return nil
}
