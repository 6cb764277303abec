package keyops

import (
	"context"
	"errors"
	"fmt"
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

// RekeyRequest is sys/rekey/init's input: the new shares to produce.
type RekeyRequest struct {
	SecretShares    int
	SecretThreshold int
	// StoredShares is Vault's stored_shares: meaningless to a recovery key
	// (refused there when set), forced to 1 for a barrier rekey.
	StoredShares int
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
	// messages holding each share hex-encoded (as Vault does). A barrier
	// rekey under an auto seal returns none: the seal stores the key.
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

// rekeyTarget is what a rekey replaces: the unseal key shares (the
// barrier target; under an auto seal, the wrapped root key) or the
// recovery key shares.
type rekeyTarget int

const (
	barrierTarget rekeyTarget = iota
	recoveryTarget
)

// rekeyAttempt is the one rekey in progress for a target.
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
	// required: the new key material, not yet stored.
	staged         stagedKeys
	verifyNonce    string
	verifyProgress [][]byte
}

// stagedKeys is a rekey's new key material held back until a threshold of
// the new shares proves the operators hold them.
type stagedKeys interface {
	// matches checks that shares rebuild the new key; seal.ErrInvalidKey
	// when they do not.
	matches(shares [][]byte) error
	// commit makes the new shares the only ones that work.
	commit(ctx context.Context) error
	wipe()
}

// shamirStaged is a staged rekey of the Shamir unseal keys.
type shamirStaged struct {
	o  *Ops
	st *seal.Staged
}

func (s shamirStaged) matches(shares [][]byte) error {
	root, err := s.st.RootKey(shares)
	if err != nil {
		return err
	}
	defer clear(root)
	return s.o.matchesBarrier(root)
}

func (s shamirStaged) commit(ctx context.Context) error { return s.st.Commit(ctx) }
func (s shamirStaged) wipe()                            {}

func (a *rekeyAttempt) wipe() {
	seal.WipeShares(a.progress)
	seal.WipeShares(a.verifyProgress)
	if a.staged != nil {
		a.staged.wipe()
	}
	a.progress, a.verifyProgress, a.staged = nil, nil, nil
}

// RekeyStatus reports the rekey attempt in progress, if any.
func (o *Ops) RekeyStatus(ctx context.Context) (*RekeyStatus, error) {
	return o.rekeyStatus(ctx, barrierTarget)
}

// RekeyInit starts a rekey. Only one can be in progress. Under an auto
// seal the recovery keys authorize it and it re-wraps the root key with
// the seal: Vault's rules apply (one share, no PGP keys, no backup, no
// verification) and no shares come back.
func (o *Ops) RekeyInit(ctx context.Context, req RekeyRequest) (*RekeyStatus, error) {
	return o.rekeyInit(ctx, req, barrierTarget)
}

// RekeyCancel ends the rekey attempt and forgets the shares given. The
// nonce must match unless the attempt is older than ten minutes.
func (o *Ops) RekeyCancel(ctx context.Context, nonce string) error {
	return o.rekeyCancel(ctx, nonce, barrierTarget)
}

// RekeyUpdate adds one current share (a recovery key share under an auto
// seal). Below the threshold it returns (nil, nil). At the threshold the
// shares must prove a quorum (else progress resets and nothing changes);
// then the new shares are made and, unless verification is required,
// replace the old ones at once.
func (o *Ops) RekeyUpdate(ctx context.Context, key []byte, nonce string) (*RekeyResult, error) {
	return o.rekeyUpdate(ctx, key, nonce, barrierTarget)
}

// RekeyVerifyStatus reports the verification of the new shares.
func (o *Ops) RekeyVerifyStatus(ctx context.Context) (*RekeyVerifyStatus, error) {
	return o.rekeyVerifyStatus(ctx, barrierTarget)
}

// RekeyVerifyRestart discards the new shares given for verification and
// issues a new verification nonce.
func (o *Ops) RekeyVerifyRestart(ctx context.Context) (*RekeyVerifyStatus, error) {
	return o.rekeyVerifyRestart(ctx, barrierTarget)
}

// RekeyVerify adds one NEW share. At the new threshold the shares must
// rebuild the new key; then they replace the old shares. A failed
// verification resets its progress and changes its nonce.
func (o *Ops) RekeyVerify(ctx context.Context, key []byte, nonce string) (*RekeyVerifyResult, error) {
	return o.rekeyVerify(ctx, key, nonce, barrierTarget)
}

func (o *Ops) rekeyStatus(ctx context.Context, t rekeyTarget) (*RekeyStatus, error) {
	o.host.RLockState()
	defer o.host.RUnlockState()
	conf, tokens, err := o.keyOpConfig(ctx)
	if err != nil {
		return nil, err
	}
	o.rekeyMu.Lock()
	defer o.rekeyMu.Unlock()
	return rekeyStatusOf(o.rekeyLocked(t, tokens), conf), nil
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

func (o *Ops) rekeyInit(ctx context.Context, req RekeyRequest, t rekeyTarget) (*RekeyStatus, error) {
	switch {
	case req.Backup && len(req.PGPKeys) == 0:
		return nil, logical.BadRequest("cannot request a backup of the new keys without providing PGP keys for encryption")
	case len(req.PGPKeys) > 0 && len(req.PGPKeys) != req.SecretShares:
		return nil, logical.BadRequest("incorrect number of PGP keys for rekey")
	case req.SecretThreshold > req.SecretShares:
		return nil, logical.BadRequest("provided threshold greater than the total shares")
	}
	conf := seal.Config{Type: "shamir", SecretShares: req.SecretShares, SecretThreshold: req.SecretThreshold}
	what := "rekey seal"
	switch {
	case t == barrierTarget && o.autoSeal != nil:
		// Vault's rules for a seal that stores the key.
		switch {
		case len(req.PGPKeys) > 0:
			return nil, logical.BadRequest("PGP key encryption not supported when using stored keys")
		case req.Backup:
			return nil, logical.BadRequest("key backup not supported when using stored keys")
		case req.RequireVerification:
			return nil, logical.BadRequest("requiring verification not supported when rekeying the barrier key with recovery keys")
		}
		conf = seal.Config{Type: o.autoSeal.Type(), SecretShares: 1, SecretThreshold: 1}
	case t == recoveryTarget && req.StoredShares > 0:
		return nil, logical.BadRequest("stored shares not supported by recovery key")
	case req.Backup:
		return nil, logical.BadRequest("backup of the PGP-encrypted keys (backup=true) is not supported")
	}
	if t == recoveryTarget {
		what = "recovery"
	}
	if err := conf.Validate(); err != nil {
		return nil, logical.BadRequest("invalid %s configuration: %s", what, seal.ConfigMessage(err))
	}
	keys, err := pgp.ParsePublicKeys(req.PGPKeys)
	if err != nil {
		return nil, logical.BadRequest("error parsing PGP key: %s", err)
	}
	var fps []string
	for _, k := range keys {
		fps = append(fps, k.Fingerprint)
	}

	o.host.RLockState()
	defer o.host.RUnlockState()
	current, tokens, err := o.keyOpConfig(ctx)
	if err != nil {
		return nil, err
	}
	o.rekeyMu.Lock()
	defer o.rekeyMu.Unlock()
	if o.rekeyLocked(t, tokens) != nil {
		return nil, logical.BadRequest("rekey already in progress")
	}
	a := &rekeyAttempt{
		epoch: tokens, nonce: newUUID(), created: o.now(), config: conf,
		pgpKeys: keys, fingerprints: fps, verify: req.RequireVerification,
	}
	*o.rekeySlot(t) = a
	o.logger.Info("rekey initialized", "target", t.String(), "nonce", a.nonce, "shares", conf.SecretShares,
		"threshold", conf.SecretThreshold, "verification_required", req.RequireVerification)
	return rekeyStatusOf(a, current), nil
}

func (o *Ops) rekeyCancel(ctx context.Context, nonce string, t rekeyTarget) error {
	o.host.RLockState()
	defer o.host.RUnlockState()
	_, tokens, err := o.keyOpConfig(ctx)
	if err != nil {
		return err
	}
	o.rekeyMu.Lock()
	defer o.rekeyMu.Unlock()
	a := o.rekeyLocked(t, tokens)
	if a == nil {
		return nil
	}
	if age := o.now().Sub(a.created); nonce != a.nonce && age < rekeyCancelGrace {
		// Vault 1.20+ (CVE-2025-4656): a fresh attempt can only be
		// cancelled by whoever holds its nonce.
		if nonce == "" {
			what := "rekey"
			if t == recoveryTarget {
				what = "recovery-key rekey"
			}
			return logical.BadRequest("invalid request: missing nonce: a %s can be cancelled without its nonce only %s after it started (this one started %s ago)",
				what, rekeyCancelGrace, age.Round(time.Second))
		}
		return logical.BadRequest("invalid request: the nonce does not match the rekey in progress")
	}
	a.wipe()
	*o.rekeySlot(t) = nil
	o.logger.Info("rekey canceled", "target", t.String(), "nonce", a.nonce)
	return nil
}

func (o *Ops) rekeyUpdate(ctx context.Context, key []byte, nonce string, t rekeyTarget) (*RekeyResult, error) {
	if err := checkShareLen(key); err != nil {
		return nil, err
	}
	o.host.RLockState()
	defer o.host.RUnlockState()
	current, tokens, err := o.keyOpConfig(ctx)
	if err != nil {
		return nil, err
	}
	o.rekeyMu.Lock()
	defer o.rekeyMu.Unlock()
	a := o.rekeyLocked(t, tokens)
	switch {
	case a == nil:
		return nil, logical.BadRequest("no %s rekey in progress", t.String())
	case a.staged != nil:
		return nil, logical.BadRequest("rekey operation already finished; verification must be performed; nonce for the verification operation is %q", a.verifyNonce)
	case nonce != a.nonce:
		return nil, logical.BadRequest("incorrect nonce supplied; nonce for this rekey operation is %q", a.nonce)
	case seal.ContainsShare(a.progress, key):
		return nil, logical.BadRequest("given key has already been provided during this rekey operation")
	}
	a.progress = append(a.progress, append([]byte(nil), key...))
	if len(a.progress) < current.SecretThreshold {
		return nil, nil
	}
	shares := a.progress
	a.progress = nil
	defer seal.WipeShares(shares)
	if err := o.authorizeShares(ctx, shares); err != nil {
		if errors.Is(err, seal.ErrInvalidKey) {
			o.logger.Warn("rekey: key shares are not a quorum; progress reset", "target", t.String(), "nonce", a.nonce)
			return nil, logical.BadRequest("rekey failed: the key shares are not a quorum of the current %s keys; progress was reset", o.authorizingKeys())
		}
		return nil, fmt.Errorf("rekey: %w", err)
	}
	if t == barrierTarget && o.autoSeal != nil {
		return o.rewrapRootKey(ctx, a)
	}

	staged, newShares, err := o.stageRekey(a.config, t)
	if err != nil {
		return nil, fmt.Errorf("rekey: %w", err)
	}
	res := &RekeyResult{Nonce: a.nonce, Keys: newShares, PGPFingerprints: a.fingerprints, VerificationRequired: a.verify}
	if len(a.pgpKeys) > 0 {
		enc, err := EncryptShares(a.pgpKeys, newShares)
		if err != nil {
			staged.wipe()
			return nil, err
		}
		res.Keys = enc
	}
	if a.verify {
		a.staged, a.verifyNonce = staged, newUUID()
		res.VerificationNonce = a.verifyNonce
		o.logger.Info("rekey: new shares issued; waiting for verification", "target", t.String(), "nonce", a.nonce)
		return res, nil
	}
	defer staged.wipe()
	if err := staged.commit(ctx); err != nil {
		return nil, fmt.Errorf("rekey: %w", err)
	}
	*o.rekeySlot(t) = nil
	o.logger.Info("keys rekeyed", "target", t.String(), "nonce", a.nonce, "shares", a.config.SecretShares, "threshold", a.config.SecretThreshold)
	return res, nil
}

// stageRekey makes the new key and its shares for a target, storing
// nothing.
func (o *Ops) stageRekey(conf seal.Config, t rekeyTarget) (stagedKeys, [][]byte, error) {
	if t == recoveryTarget {
		return o.stageRecoveryRekey(conf)
	}
	root, err := o.barrier.RootKey()
	if err != nil {
		return nil, nil, err
	}
	defer clear(root)
	st, shares, err := o.shamir.Stage(&conf, root)
	if err != nil {
		return nil, nil, err
	}
	return shamirStaged{o: o, st: st}, shares, nil
}

func (o *Ops) rekeyVerifyStatus(ctx context.Context, t rekeyTarget) (*RekeyVerifyStatus, error) {
	return o.withVerifyAttempt(ctx, t, func(*rekeyAttempt) {})
}

// withVerifyAttempt runs fn on the target's rekey attempt under the locks a
// verification needs, and reports the verification status afterwards.
func (o *Ops) withVerifyAttempt(ctx context.Context, t rekeyTarget, fn func(a *rekeyAttempt)) (*RekeyVerifyStatus, error) {
	o.host.RLockState()
	defer o.host.RUnlockState()
	_, tokens, err := o.keyOpConfig(ctx)
	if err != nil {
		return nil, err
	}
	o.rekeyMu.Lock()
	defer o.rekeyMu.Unlock()
	a := o.rekeyLocked(t, tokens)
	if a == nil {
		return nil, logical.BadRequest("no rekey configuration found")
	}
	fn(a)
	return verifyStatusOf(a), nil
}

func verifyStatusOf(a *rekeyAttempt) *RekeyVerifyStatus {
	st := &RekeyVerifyStatus{Started: a.staged != nil, T: a.config.SecretThreshold, N: a.config.SecretShares}
	if a.staged != nil {
		st.Nonce, st.Progress = a.verifyNonce, len(a.verifyProgress)
	}
	return st
}

func (o *Ops) rekeyVerifyRestart(ctx context.Context, t rekeyTarget) (*RekeyVerifyStatus, error) {
	return o.withVerifyAttempt(ctx, t, func(a *rekeyAttempt) {
		if a.staged != nil {
			seal.WipeShares(a.verifyProgress)
			a.verifyProgress, a.verifyNonce = nil, newUUID()
		}
	})
}

func (o *Ops) rekeyVerify(ctx context.Context, key []byte, nonce string, t rekeyTarget) (*RekeyVerifyResult, error) {
	if err := checkShareLen(key); err != nil {
		return nil, err
	}
	o.host.RLockState()
	defer o.host.RUnlockState()
	_, tokens, err := o.keyOpConfig(ctx)
	if err != nil {
		return nil, err
	}
	o.rekeyMu.Lock()
	defer o.rekeyMu.Unlock()
	a := o.rekeyLocked(t, tokens)
	switch {
	case a == nil:
		return nil, logical.BadRequest("no rekey in progress")
	case a.staged == nil:
		return nil, logical.BadRequest("no rekey verification in progress")
	case nonce != a.verifyNonce:
		return nil, logical.BadRequest("incorrect nonce supplied; nonce for this verify operation is %q", a.verifyNonce)
	case seal.ContainsShare(a.verifyProgress, key):
		return nil, logical.BadRequest("given key has already been provided during this verify operation")
	}
	a.verifyProgress = append(a.verifyProgress, append([]byte(nil), key...))
	if len(a.verifyProgress) < a.config.SecretThreshold {
		return nil, nil
	}
	shares := a.verifyProgress
	a.verifyProgress = nil
	defer seal.WipeShares(shares)
	if err := a.staged.matches(shares); err != nil {
		a.verifyNonce = newUUID()
		if errors.Is(err, seal.ErrInvalidKey) {
			o.logger.Warn("rekey verification failed: incorrect key shares", "target", t.String(), "nonce", a.nonce)
			return nil, logical.BadRequest("rekey verification failed; incorrect key shares supplied")
		}
		return nil, fmt.Errorf("rekey verify: %w", err)
	}
	if err := a.staged.commit(ctx); err != nil {
		a.verifyNonce = newUUID()
		return nil, fmt.Errorf("rekey verify: %w", err)
	}
	a.wipe()
	*o.rekeySlot(t) = nil
	o.logger.Info("keys rekeyed after verification", "target", t.String(), "nonce", a.nonce,
		"shares", a.config.SecretShares, "threshold", a.config.SecretThreshold)
	return &RekeyVerifyResult{Complete: true, Nonce: a.verifyNonce}, nil
}

func (t rekeyTarget) String() string {
	if t == recoveryTarget {
		return "recovery"
	}
	return "barrier"
}

// rekeySlot is where the attempt for a target lives (under rekeyMu).
func (o *Ops) rekeySlot(t rekeyTarget) **rekeyAttempt {
	if t == recoveryTarget {
		return &o.recoveryRekey
	}
	return &o.rekey
}

// rekeyLocked returns the attempt in progress for a target, dropping one
// left from an earlier active term (tokens is the current one's). The
// caller holds the state lock (read) and rekeyMu.
func (o *Ops) rekeyLocked(t rekeyTarget, tokens *token.Store) *rekeyAttempt {
	slot := o.rekeySlot(t)
	if a := *slot; a != nil && a.epoch != tokens {
		a.wipe()
		*slot = nil
	}
	return *slot
}
