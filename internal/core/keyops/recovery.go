package keyops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/seal"
)

// Under an auto seal operators hold recovery key shares instead of unseal
// key shares; as in Vault, they authorize generate-root, both rekeys, and
// an unseal through the seal after a manual sys/seal (core), but they
// decrypt nothing.

// recoveryRecord is the recovery key and its configuration, stored
// through the barrier at seal.RecoveryKeyPath. The configuration is also
// kept in the clear (seal.LoadRecoveryConfig) for seal-status; this copy
// is the authoritative one, written first, so a crash between the two
// writes leaves a stale clear copy that recoveryConfig repairs.
type recoveryRecord struct {
	Key       []byte `json:"key"`
	Shares    int    `json:"shares"`
	Threshold int    `json:"threshold"`
}

func (r *recoveryRecord) config() *seal.Config {
	return &seal.Config{Type: seal.RecoveryType, SecretShares: r.Shares, SecretThreshold: r.Threshold}
}

// StoreRecoveryKey writes the recovery key and its configuration through
// the barrier, which must be open (init under an auto seal does it while
// the new barrier is). The caller keeps key and wipes it.
func (o *Ops) StoreRecoveryKey(ctx context.Context, key []byte, conf *seal.Config) error {
	return o.putRecoveryRecord(ctx, &recoveryRecord{Key: key, Shares: conf.SecretShares, Threshold: conf.SecretThreshold})
}

// MatchRecoveryKey checks combined, a recovery key combined from shares,
// against the recovery key stored in the barrier, which must be open: nil
// when they match, seal.ErrRecoveryMismatch (which is seal.ErrInvalidKey)
// when they do not, another error when the record cannot be read.
func (o *Ops) MatchRecoveryKey(ctx context.Context, combined []byte) error {
	rec, err := o.getRecoveryRecord(ctx)
	if err != nil {
		return err
	}
	defer clear(rec.Key)
	return seal.MatchRecoveryKey(combined, rec.Key)
}

// putRecoveryRecord stores the recovery record through the barrier.
func (o *Ops) putRecoveryRecord(ctx context.Context, rec *recoveryRecord) error {
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	defer clear(raw)
	if err := o.barrier.Put(ctx, &physical.Entry{Key: seal.RecoveryKeyPath, Value: raw}); err != nil {
		return fmt.Errorf("store recovery key: %w", err)
	}
	return nil
}

// getRecoveryRecord reads the recovery record; the barrier must be open.
// The caller wipes rec.Key.
func (o *Ops) getRecoveryRecord(ctx context.Context) (*recoveryRecord, error) {
	e, err := o.barrier.Get(ctx, seal.RecoveryKeyPath)
	if err != nil {
		return nil, fmt.Errorf("read recovery key: %w", err)
	}
	if e == nil {
		return nil, errors.New("read recovery key: no recovery key is stored")
	}
	defer clear(e.Value)
	var rec recoveryRecord
	if err := json.Unmarshal(e.Value, &rec); err != nil {
		return nil, fmt.Errorf("decode recovery key: %w", err)
	}
	return &rec, nil
}

// recoveryConfig returns the recovery configuration from the barrier and
// repairs the clear copy when a crash left it stale. The caller holds
// state lock (read) on an active node.
func (o *Ops) recoveryConfig(ctx context.Context) (*seal.Config, error) {
	rec, err := o.getRecoveryRecord(ctx)
	if err != nil {
		return nil, err
	}
	clear(rec.Key)
	conf := rec.config()
	clearConf, err := seal.LoadRecoveryConfig(ctx, o.physical)
	if err != nil || clearConf.SecretShares != conf.SecretShares || clearConf.SecretThreshold != conf.SecretThreshold {
		if err := seal.StoreRecoveryConfig(ctx, o.physical, conf); err != nil {
			o.logger.Warn("repairing the stored recovery configuration failed", "error", err)
		}
	}
	return conf, nil
}

// verifyRecoveryShares checks that shares rebuild the recovery key.
func (o *Ops) verifyRecoveryShares(ctx context.Context, shares [][]byte) error {
	combined, err := seal.CombineShares(shares)
	if err != nil {
		return err
	}
	defer clear(combined)
	return o.MatchRecoveryKey(ctx, combined)
}

// recoveryStaged is a staged rekey of the recovery key.
type recoveryStaged struct {
	o   *Ops
	rec *recoveryRecord
}

func (o *Ops) stageRecoveryRekey(conf seal.Config) (stagedKeys, [][]byte, error) {
	key, shares, err := seal.NewRecoveryKey(&conf)
	if err != nil {
		return nil, nil, err
	}
	return &recoveryStaged{o: o, rec: &recoveryRecord{Key: key, Shares: conf.SecretShares, Threshold: conf.SecretThreshold}}, shares, nil
}

func (s *recoveryStaged) matches(shares [][]byte) error {
	combined, err := seal.CombineShares(shares)
	if err != nil {
		return err
	}
	defer clear(combined)
	return seal.MatchRecoveryKey(combined, s.rec.Key)
}

func (s *recoveryStaged) commit(ctx context.Context) error {
	if err := s.o.putRecoveryRecord(ctx, s.rec); err != nil {
		return err
	}
	return seal.StoreRecoveryConfig(ctx, s.o.physical, s.rec.config())
}

func (s *recoveryStaged) wipe() { clear(s.rec.Key) }

// rewrapRootKey finishes a barrier rekey under an auto seal: the root key
// is wrapped anew with the key service's current key and no shares are
// returned. Vault generates a new root key here; Strongbox's rekey keeps
// the root key under every seal (see package seal), so standbys, which hold
// it in memory, keep reading the keyring.
func (o *Ops) rewrapRootKey(ctx context.Context, a *rekeyAttempt) (*RekeyResult, error) {
	root, err := o.barrier.RootKey()
	if err != nil {
		return nil, fmt.Errorf("rekey: %w", err)
	}
	defer clear(root)
	if err := o.autoSeal.Rewrap(ctx, root); err != nil {
		return nil, fmt.Errorf("rekey: %w", err)
	}
	a.wipe()
	o.rekey = nil
	o.logger.Info("root key re-wrapped by the seal", "seal", o.autoSeal.Type(), "nonce", a.nonce)
	return &RekeyResult{Nonce: a.nonce}, nil
}

var errNoRecoveryKeys = logical.BadRequest("recovery rekeying not supported: recovery keys are used only with auto-unseal seals")

func (o *Ops) recoveryOp() error {
	if o.autoSeal == nil {
		return errNoRecoveryKeys
	}
	return nil
}

// RecoveryRekeyStatus is RekeyStatus for sys/rekey-recovery-key.
func (o *Ops) RecoveryRekeyStatus(ctx context.Context) (*RekeyStatus, error) {
	if err := o.recoveryOp(); err != nil {
		return nil, err
	}
	return o.rekeyStatus(ctx, recoveryTarget)
}

// RecoveryRekeyInit starts a rekey of the recovery key; the current
// recovery key shares authorize it and it returns new recovery shares.
func (o *Ops) RecoveryRekeyInit(ctx context.Context, req RekeyRequest) (*RekeyStatus, error) {
	if err := o.recoveryOp(); err != nil {
		return nil, err
	}
	return o.rekeyInit(ctx, req, recoveryTarget)
}

// RecoveryRekeyCancel is RekeyCancel for the recovery key.
func (o *Ops) RecoveryRekeyCancel(ctx context.Context, nonce string) error {
	if err := o.recoveryOp(); err != nil {
		return err
	}
	return o.rekeyCancel(ctx, nonce, recoveryTarget)
}

// RecoveryRekeyUpdate is RekeyUpdate for the recovery key.
func (o *Ops) RecoveryRekeyUpdate(ctx context.Context, key []byte, nonce string) (*RekeyResult, error) {
	if err := o.recoveryOp(); err != nil {
		return nil, err
	}
	return o.rekeyUpdate(ctx, key, nonce, recoveryTarget)
}

// RecoveryRekeyVerifyStatus is RekeyVerifyStatus for the recovery key.
func (o *Ops) RecoveryRekeyVerifyStatus(ctx context.Context) (*RekeyVerifyStatus, error) {
	if err := o.recoveryOp(); err != nil {
		return nil, err
	}
	return o.rekeyVerifyStatus(ctx, recoveryTarget)
}

// RecoveryRekeyVerifyRestart is RekeyVerifyRestart for the recovery key.
func (o *Ops) RecoveryRekeyVerifyRestart(ctx context.Context) (*RekeyVerifyStatus, error) {
	if err := o.recoveryOp(); err != nil {
		return nil, err
	}
	return o.rekeyVerifyRestart(ctx, recoveryTarget)
}

// RecoveryRekeyVerify is RekeyVerify for the recovery key.
func (o *Ops) RecoveryRekeyVerify(ctx context.Context, key []byte, nonce string) (*RekeyVerifyResult, error) {
	if err := o.recoveryOp(); err != nil {
		return nil, err
	}
	return o.rekeyVerify(ctx, key, nonce, recoveryTarget)
}
