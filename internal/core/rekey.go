package core

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/strongbox/strongbox/internal/core/token"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/pgp"
	"github.com/strongbox/strongbox/internal/seal"
)

// rekeyCancelGrace is how old a rekey attempt must be before it can be
// cancelled without its nonce (Vault's rule): a fresh attempt can't be
// cancelled by accident, a forgotten one can't block rekeys forever.
const rekeyCancelGrace = 10 * time.Minute

// Share lengths accepted by unseal, rekey and generate-root: a share is
// the 32-byte unseal key plus one byte of x coordinate; 16 leaves room for
// shorter keys, as Vault does.
const (
	minShareLen = 16
	maxShareLen = 33
)

// RekeyRequest is sys/rekey/init's input: the new shares to produce.
type RekeyRequest struct {
	SecretShares    int
	SecretThreshold int
	// PGPKeys, one per share, encrypt each new share (Vault's pgp_keys).
	PGPKeys []string
	// Backup asks to keep the encrypted shares in storage; refused.
	Backup bool
	// RequireVerification holds the new shares back until a threshold of
	// them is given to RekeyVerify.
	RequireVerification bool
}

// RekeyStatus is sys/rekey/init's answer.
type RekeyStatus struct {
	Started bool
	Nonce   string
	// T and N are the new threshold and shares.
	T, N int
	// Progress counts the current shares given; Required is the current
	// threshold.
	Progress, Required   int
	PGPFingerprints      []string
	Backup               bool
	VerificationRequired bool
	VerificationNonce    string
}

// RekeyResult is RekeyUpdate's answer once the threshold of current shares
// was reached.
type RekeyResult struct {
	Nonce string
	// Keys are the new shares, or with PGPFingerprints set, OpenPGP
	// messages holding each share hex-encoded (as Vault does).
	Keys                 [][]byte
	PGPFingerprints      []string
	Backup               bool
	VerificationRequired bool
	VerificationNonce    string
}

// RekeyVerifyStatus is sys/rekey/verify's answer.
type RekeyVerifyStatus struct {
	Started  bool
	Nonce    string
	T, N     int
	Progress int
}

// RekeyVerifyResult is RekeyVerify's answer once the new shares proved
// themselves and replaced the old ones.
type RekeyVerifyResult struct {
	Complete bool
	Nonce    string
}

// rekeyAttempt is the one rekey in progress.
type rekeyAttempt struct {
	// epoch is the token store of the active term the attempt started in:
	// a seal or step-down replaces it, which ends the attempt.
	epoch        *token.Store
	nonce        string
	created      time.Time
	config       seal.Config
	pgpKeys      []*pgp.PublicKey
	fingerprints []string
	verify       bool
	progress     [][]byte

	// Set once the current shares were accepted and verification is
	// required: the new seal state, not yet stored.
	staged         *seal.Staged
	verifyNonce    string
	verifyProgress [][]byte
}

func (a *rekeyAttempt) wipe() {
	wipeShares(a.progress)
	wipeShares(a.verifyProgress)
	a.progress, a.verifyProgress, a.staged = nil, nil, nil
}

// RekeyStatus reports the rekey attempt in progress, if any.
func (c *Core) RekeyStatus(ctx context.Context) (*RekeyStatus, error) {
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	conf, err := c.keyOpConfig(ctx)
	if err != nil {
		return nil, err
	}
	c.rekeyMu.Lock()
	defer c.rekeyMu.Unlock()
	return rekeyStatusOf(c.rekeyLocked(), conf), nil
}

func rekeyStatusOf(a *rekeyAttempt, current *seal.Config) *RekeyStatus {
	st := &RekeyStatus{Required: current.SecretThreshold}
	if a == nil {
		return st
	}
	st.Started, st.Nonce = true, a.nonce
	st.T, st.N = a.config.SecretThreshold, a.config.SecretShares
	st.Progress = len(a.progress)
	st.PGPFingerprints = a.fingerprints
	st.VerificationRequired = a.verify
	if a.staged != nil {
		st.VerificationNonce = a.verifyNonce
	}
	return st
}

// RekeyInit starts a rekey. Only one can be in progress.
func (c *Core) RekeyInit(ctx context.Context, req RekeyRequest) (*RekeyStatus, error) {
	switch {
	case req.Backup && len(req.PGPKeys) == 0:
		return nil, logical.BadRequest("cannot request a backup of the new keys without providing PGP keys for encryption")
	case len(req.PGPKeys) > 0 && len(req.PGPKeys) != req.SecretShares:
		return nil, logical.BadRequest("incorrect number of PGP keys for rekey")
	case req.Backup:
		return nil, logical.BadRequest("backup of the PGP-encrypted keys (backup=true) is not supported")
	case req.SecretThreshold > req.SecretShares:
		return nil, logical.BadRequest("provided threshold greater than the total shares")
	}
	conf := seal.Config{SecretShares: req.SecretShares, SecretThreshold: req.SecretThreshold}
	if err := conf.Validate(); err != nil {
		return nil, logical.BadRequest("invalid rekey seal configuration: %s", trimSealErr(err))
	}
	keys, err := pgp.ParsePublicKeys(req.PGPKeys)
	if err != nil {
		return nil, logical.BadRequest("error parsing PGP key: %s", err)
	}
	var fps []string
	for _, k := range keys {
		fps = append(fps, k.Fingerprint)
	}

	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	current, err := c.keyOpConfig(ctx)
	if err != nil {
		return nil, err
	}
	if current.Type != "" && current.Type != "shamir" {
		return nil, logical.BadRequest("rekey of the unseal keys is supported only for the shamir seal, not %q", current.Type)
	}
	c.rekeyMu.Lock()
	defer c.rekeyMu.Unlock()
	if c.rekeyLocked() != nil {
		return nil, logical.BadRequest("rekey already in progress")
	}
	c.rekey = &rekeyAttempt{
		epoch: c.tokens, nonce: newUUID(), created: time.Now(), config: conf,
		pgpKeys: keys, fingerprints: fps, verify: req.RequireVerification,
	}
	c.logger.Info("rekey initialized", "nonce", c.rekey.nonce, "shares", conf.SecretShares,
		"threshold", conf.SecretThreshold, "verification_required", req.RequireVerification)
	return rekeyStatusOf(c.rekey, current), nil
}

// RekeyCancel ends the rekey attempt and forgets the shares given. The
// nonce must match unless the attempt is older than ten minutes.
func (c *Core) RekeyCancel(ctx context.Context, nonce string) error {
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	if _, err := c.keyOpConfig(ctx); err != nil {
		return err
	}
	c.rekeyMu.Lock()
	defer c.rekeyMu.Unlock()
	a := c.rekeyLocked()
	if a == nil {
		return nil
	}
	if nonce != a.nonce && time.Since(a.created) < rekeyCancelGrace {
		return logical.BadRequest("invalid request: the nonce does not match the rekey in progress")
	}
	a.wipe()
	c.rekey = nil
	c.logger.Info("rekey canceled", "nonce", a.nonce)
	return nil
}

// RekeyUpdate adds one current share. Below the threshold it returns
// (nil, nil). At the threshold the shares must unwrap the root key (else
// progress resets and nothing changes); then the new shares are made and,
// unless verification is required, replace the old ones at once.
func (c *Core) RekeyUpdate(ctx context.Context, key []byte, nonce string) (*RekeyResult, error) {
	if err := checkShareLen(key); err != nil {
		return nil, err
	}
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	current, err := c.keyOpConfig(ctx)
	if err != nil {
		return nil, err
	}
	c.rekeyMu.Lock()
	defer c.rekeyMu.Unlock()
	a := c.rekeyLocked()
	switch {
	case a == nil:
		return nil, logical.BadRequest("no barrier rekey in progress")
	case a.staged != nil:
		return nil, logical.BadRequest("rekey operation already finished; verification must be performed; nonce for the verification operation is %q", a.verifyNonce)
	case nonce != a.nonce:
		return nil, logical.BadRequest("incorrect nonce supplied; nonce for this rekey operation is %q", a.nonce)
	case containsShare(a.progress, key):
		return nil, logical.BadRequest("given key has already been provided during this rekey operation")
	}
	a.progress = append(a.progress, append([]byte(nil), key...))
	if len(a.progress) < current.SecretThreshold {
		return nil, nil
	}
	shares := a.progress
	a.progress = nil
	defer wipeShares(shares)
	rootKey, err := c.rootKeyFromShares(ctx, shares)
	if err != nil {
		if errors.Is(err, seal.ErrInvalidKey) {
			c.logger.Warn("rekey: key shares do not unwrap the root key; progress reset", "nonce", a.nonce)
			return nil, logical.BadRequest("rekey failed: the key shares are not a quorum of the current unseal keys; progress was reset")
		}
		return nil, fmt.Errorf("rekey: %w", err)
	}
	defer wipe(rootKey)

	conf := a.config
	staged, newShares, err := c.seal.Stage(&conf, rootKey)
	if err != nil {
		return nil, fmt.Errorf("rekey: %w", err)
	}
	res := &RekeyResult{Nonce: a.nonce, Keys: newShares, PGPFingerprints: a.fingerprints, VerificationRequired: a.verify}
	if len(a.pgpKeys) > 0 {
		enc := make([][]byte, len(newShares))
		for i, s := range newShares {
			if enc[i], err = a.pgpKeys[i].Encrypt([]byte(hex.EncodeToString(s))); err != nil {
				return nil, logical.Errorf(http.StatusInternalServerError, "failed to encrypt shares: %v", err)
			}
		}
		wipeShares(newShares)
		res.Keys = enc
	}
	if a.verify {
		a.staged, a.verifyNonce = staged, newUUID()
		res.VerificationNonce = a.verifyNonce
		c.logger.Info("rekey: new shares issued; waiting for verification", "nonce", a.nonce)
		return res, nil
	}
	if err := staged.Commit(ctx); err != nil {
		return nil, fmt.Errorf("rekey: %w", err)
	}
	c.rekey = nil
	c.logger.Info("unseal keys rekeyed", "nonce", a.nonce, "shares", conf.SecretShares, "threshold", conf.SecretThreshold)
	return res, nil
}

// RekeyVerifyStatus reports the verification of the new shares.
func (c *Core) RekeyVerifyStatus(ctx context.Context) (*RekeyVerifyStatus, error) {
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	if _, err := c.keyOpConfig(ctx); err != nil {
		return nil, err
	}
	c.rekeyMu.Lock()
	defer c.rekeyMu.Unlock()
	a := c.rekeyLocked()
	if a == nil {
		return nil, logical.BadRequest("no rekey configuration found")
	}
	return verifyStatusOf(a), nil
}

func verifyStatusOf(a *rekeyAttempt) *RekeyVerifyStatus {
	st := &RekeyVerifyStatus{Started: a.staged != nil, T: a.config.SecretThreshold, N: a.config.SecretShares}
	if a.staged != nil {
		st.Nonce, st.Progress = a.verifyNonce, len(a.verifyProgress)
	}
	return st
}

// RekeyVerifyRestart discards the new shares given for verification and
// issues a new verification nonce.
func (c *Core) RekeyVerifyRestart(ctx context.Context) (*RekeyVerifyStatus, error) {
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	if _, err := c.keyOpConfig(ctx); err != nil {
		return nil, err
	}
	c.rekeyMu.Lock()
	defer c.rekeyMu.Unlock()
	a := c.rekeyLocked()
	if a == nil {
		return nil, logical.BadRequest("no rekey configuration found")
	}
	if a.staged != nil {
		wipeShares(a.verifyProgress)
		a.verifyProgress, a.verifyNonce = nil, newUUID()
	}
	return verifyStatusOf(a), nil
}

// RekeyVerify adds one NEW share. At the new threshold the shares must
// unwrap the root key; then they replace the old shares. A failed
// verification resets its progress and changes its nonce.
func (c *Core) RekeyVerify(ctx context.Context, key []byte, nonce string) (*RekeyVerifyResult, error) {
	if err := checkShareLen(key); err != nil {
		return nil, err
	}
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	if _, err := c.keyOpConfig(ctx); err != nil {
		return nil, err
	}
	c.rekeyMu.Lock()
	defer c.rekeyMu.Unlock()
	a := c.rekeyLocked()
	switch {
	case a == nil:
		return nil, logical.BadRequest("no rekey in progress")
	case a.staged == nil:
		return nil, logical.BadRequest("no rekey verification in progress")
	case nonce != a.verifyNonce:
		return nil, logical.BadRequest("incorrect nonce supplied; nonce for this verify operation is %q", a.verifyNonce)
	case containsShare(a.verifyProgress, key):
		return nil, logical.BadRequest("given key has already been provided during this verify operation")
	}
	a.verifyProgress = append(a.verifyProgress, append([]byte(nil), key...))
	if len(a.verifyProgress) < a.config.SecretThreshold {
		return nil, nil
	}
	shares := a.verifyProgress
	a.verifyProgress = nil
	defer wipeShares(shares)
	staged, err := a.staged.RootKey(shares)
	if err == nil {
		err = c.matchesBarrier(staged)
		wipe(staged)
	}
	if err != nil {
		a.verifyNonce = newUUID()
		if errors.Is(err, seal.ErrInvalidKey) {
			c.logger.Warn("rekey verification failed: incorrect key shares", "nonce", a.nonce)
			return nil, logical.BadRequest("rekey verification failed; incorrect key shares supplied")
		}
		return nil, fmt.Errorf("rekey verify: %w", err)
	}
	if err := a.staged.Commit(ctx); err != nil {
		a.verifyNonce = newUUID()
		return nil, fmt.Errorf("rekey verify: %w", err)
	}
	c.rekey = nil
	c.logger.Info("unseal keys rekeyed after verification", "nonce", a.nonce,
		"shares", a.config.SecretShares, "threshold", a.config.SecretThreshold)
	return &RekeyVerifyResult{Complete: true, Nonce: a.verifyNonce}, nil
}

// rekeyLocked returns the attempt in progress, dropping one left from an
// earlier active term. The caller holds stateLock (read) and rekeyMu.
func (c *Core) rekeyLocked() *rekeyAttempt {
	if c.rekey != nil && c.rekey.epoch != c.tokens {
		c.rekey.wipe()
		c.rekey = nil
	}
	return c.rekey
}

// keyOpConfig checks what sys/rekey and sys/generate-root need, in Vault's
// order (initialized: 400, unsealed: 503, active: forwarded), and returns
// the current seal configuration. The caller holds stateLock (read).
func (c *Core) keyOpConfig(ctx context.Context) (*seal.Config, error) {
	conf, err := seal.LoadConfig(ctx, c.physical)
	switch {
	case errors.Is(err, seal.ErrNotInitialized):
		return nil, logical.BadRequest("%s", ErrNotInitialized.Error())
	case err != nil:
		return nil, err
	case c.sealed:
		return nil, ErrSealed
	case c.standby || c.tokens == nil:
		return nil, ErrStandby
	}
	return conf, nil
}

// rootKeyFromShares unwraps the stored root key with a threshold of
// current shares and checks it is the key the barrier runs on, so a
// quorum of shares (never anything less) authorizes the operation.
func (c *Core) rootKeyFromShares(ctx context.Context, shares [][]byte) ([]byte, error) {
	root, err := c.seal.RootKey(ctx, shares)
	if err != nil {
		return nil, err
	}
	if err := c.matchesBarrier(root); err != nil {
		wipe(root)
		return nil, err
	}
	return root, nil
}

// matchesBarrier compares a candidate root key with the barrier's, in
// constant time; a mismatch is seal.ErrInvalidKey.
func (c *Core) matchesBarrier(root []byte) error {
	live, err := c.barrier.RootKey()
	if err != nil {
		return fmt.Errorf("read root key: %w", err)
	}
	defer wipe(live)
	if subtle.ConstantTimeCompare(root, live) != 1 {
		return seal.ErrInvalidKey
	}
	return nil
}

func checkShareLen(key []byte) error {
	switch {
	case len(key) < minShareLen:
		return logical.BadRequest("key is shorter than minimum %d bytes", minShareLen)
	case len(key) > maxShareLen:
		return logical.BadRequest("key is longer than maximum %d bytes", maxShareLen)
	}
	return nil
}

func containsShare(shares [][]byte, key []byte) bool {
	for _, s := range shares {
		if subtle.ConstantTimeCompare(s, key) == 1 {
			return true
		}
	}
	return false
}

func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

func wipeShares(shares [][]byte) {
	for _, s := range shares {
		wipe(s)
	}
}
