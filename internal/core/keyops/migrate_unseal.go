package keyops

import (
	"context"
	"errors"
	"fmt"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/seal"
)

// MigrationThreshold is how many of the old seal's key shares a migrate
// unseal wants over storage whose seal configuration is conf: the unseal
// key threshold from Shamir, the recovery key threshold from an auto seal.
func (o *Ops) MigrationThreshold(ctx context.Context, conf *seal.Config) (int, error) {
	if o.work.oldSeal == nil {
		return conf.SecretThreshold, nil
	}
	rconf, err := seal.LoadRecoveryConfig(ctx, o.physical)
	if err != nil {
		return 0, fmt.Errorf("unseal: %w", err)
	}
	return rconf.SecretThreshold, nil
}

// MigrateUnseal is the end of sys/unseal with migrate: true in migration
// mode: combined is the key core combined from a threshold of the old
// seal's shares, and MigrateUnseal owns it. The key must prove a quorum
// (unwrap the root key from Shamir, rebuild the recovery key of an auto
// seal) before the node unseals, through Host.Unseal; wrong keys change
// nothing. The node then migrates when it is active (RunWork).
func (o *Ops) MigrateUnseal(ctx context.Context, combined []byte) error {
	var err error
	if old := o.work.oldSeal; old == nil {
		err = o.unsealMigrateShamir(ctx, combined)
	} else {
		err = o.unsealMigrateAuto(ctx, old, combined)
		clear(combined)
	}
	if err != nil {
		return err
	}
	o.logger.Info("unsealed with the old seal's keys for the seal migration",
		"from_barrier_type", o.oldSealType(), "to_barrier_type", o.sealType())
	return nil
}

// unsealMigrateShamir unseals with the old Shamir unseal key, which it
// keeps (owning combined) for the migration to an auto seal.
func (o *Ops) unsealMigrateShamir(ctx context.Context, combined []byte) error {
	root, err := o.shamir.RootKey(ctx, [][]byte{combined})
	if err != nil {
		clear(combined)
		if errors.Is(err, seal.ErrInvalidKey) {
			o.logger.Warn("migrate unseal failed: key shares do not unwrap the root key")
			return logical.BadRequest("invalid key: the key shares do not unseal this Vault; progress was reset")
		}
		return fmt.Errorf("unseal: %w", err)
	}
	defer clear(root)
	// Kept before the node unseals: its background work may migrate as
	// soon as it is active.
	o.work.setMigration(combined)
	if err := o.host.Unseal(ctx, root, nil); err != nil {
		o.work.clearMigration()
		return err
	}
	return nil
}

// unsealMigrateAuto unseals with the root key the old auto seal decrypts,
// once the combined key proves to be the recovery key.
func (o *Ops) unsealMigrateAuto(ctx context.Context, old *seal.AutoSeal, combined []byte) error {
	root, err := old.RootKey(ctx)
	if err != nil {
		o.logger.Warn("migrate unseal refused: the old seal cannot decrypt the root key", "seal", old.Type(), "error", err)
		return logical.BadRequest("failed to verify recovery key: the %s seal cannot decrypt the root key: %v", old.Type(), err)
	}
	defer clear(root)
	o.work.setMigration(nil)
	err = o.host.Unseal(ctx, root, func(ctx context.Context) error {
		return o.MatchRecoveryKey(ctx, combined)
	})
	if err != nil {
		o.work.clearMigration()
		if errors.Is(err, seal.ErrInvalidKey) {
			o.logger.Warn("migrate unseal failed: the key shares are not a quorum of the recovery keys")
			return logical.BadRequest("failed to verify recovery key: the key shares do not combine to the recovery key; progress was reset")
		}
		return err
	}
	return nil
}

// migrateSeal performs a pending migration on the active node. The caller
// holds the state lock (read) and has checked that the node is active.
// Storage already under the new seal (another node migrated) just ends
// migration mode.
func (o *Ops) migrateSeal(ctx context.Context) error {
	if !o.work.configured {
		return nil
	}
	conf, err := seal.LoadConfig(ctx, o.physical)
	if err != nil {
		return fmt.Errorf("seal migration: %w", err)
	}
	pending, err := o.MigrationPending(ctx, conf)
	if err != nil {
		return fmt.Errorf("seal migration: %w", err)
	}
	key, ready := o.work.migration()
	defer clear(key)
	if !pending {
		if ready {
			o.logger.Info("seal migration is already complete", "barrier_type", conf.Type)
			o.work.clearMigration()
		}
		return nil
	}
	if !ready {
		o.logger.Warn("seal migration is pending but this node was not unsealed with the migrate option; it does not migrate")
		return nil
	}
	from, to := o.oldSealType(), o.sealType()
	o.logger.Info("seal migration initiated", "from_barrier_type", from, "to_barrier_type", to)
	root, err := o.barrier.RootKey()
	if err != nil {
		return fmt.Errorf("seal migration: %w", err)
	}
	defer clear(root)
	sw, err := o.sealSwitch(ctx, conf, key, root)
	if err != nil {
		return fmt.Errorf("seal migration from %s to %s: %w", from, to, err)
	}
	if err := seal.CommitSwitch(ctx, o.physical, sw); err != nil {
		return fmt.Errorf("seal migration from %s to %s: %w", from, to, err)
	}
	if o.autoSeal == nil {
		// The recovery key is the unseal key now; no copy stays behind.
		if err := o.barrier.Delete(ctx, seal.RecoveryKeyPath); err != nil {
			o.logger.Warn("seal migration: removing the old recovery key failed", "error", err)
		}
	}
	o.work.clearMigration()
	o.logger.Info("seal migration complete", "from_barrier_type", from, "to_barrier_type", to)
	return nil
}

// sealSwitch prepares what the migration writes: the root key wrapped by
// the new seal and the configurations. Shamir → auto stores the recovery
// key (through the barrier) first: harmless while Shamir still reads
// storage, and a crash before the switch leaves a retryable migration.
func (o *Ops) sealSwitch(ctx context.Context, conf *seal.Config, key, root []byte) (*seal.Switch, error) {
	switch {
	case o.work.oldSeal == nil && o.autoSeal != nil:
		if len(key) == 0 {
			return nil, errors.New("the old unseal key is not known: unseal this node again with the migrate option")
		}
		wrapped, err := o.autoSeal.Wrap(ctx, root)
		if err != nil {
			return nil, err
		}
		rec := &recoveryRecord{Key: key, Shares: conf.SecretShares, Threshold: conf.SecretThreshold}
		if err := o.putRecoveryRecord(ctx, rec); err != nil {
			return nil, err
		}
		return &seal.Switch{
			Config:   seal.Config{Type: o.autoSeal.Type(), SecretShares: 1, SecretThreshold: 1},
			Wrapped:  wrapped,
			Recovery: rec.config(),
		}, nil
	case o.work.oldSeal != nil && o.autoSeal == nil:
		rec, err := o.getRecoveryRecord(ctx)
		if err != nil {
			return nil, err
		}
		defer clear(rec.Key)
		wrapped, err := seal.WrapWithUnsealKey(rec.Key, root)
		if err != nil {
			return nil, err
		}
		return &seal.Switch{
			Config:  seal.Config{Type: o.shamir.Type(), SecretShares: rec.Shares, SecretThreshold: rec.Threshold},
			Wrapped: wrapped,
		}, nil
	case o.work.oldSeal != nil && o.autoSeal != nil:
		rec, err := o.getRecoveryRecord(ctx)
		if err != nil {
			return nil, err
		}
		clear(rec.Key)
		wrapped, err := o.autoSeal.Wrap(ctx, root)
		if err != nil {
			return nil, err
		}
		return &seal.Switch{
			Config:   seal.Config{Type: o.autoSeal.Type(), SecretShares: 1, SecretThreshold: 1},
			Wrapped:  wrapped,
			Recovery: rec.config(),
		}, nil
	}
	return nil, errors.New("unhandled migration case (shamir to shamir)")
}
