package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/strongbox/strongbox/internal/core/keyops"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/seal"
)

// Seal migration lives in package keyops; what stays here is sys/unseal's
// side of it: the migrate option, and the shares of the old seal's keys,
// which sys/unseal collects as it collects any.

// ErrSealMigrationPending is AutoUnseal's answer in migration mode: the
// node waits for an operator to unseal it with the old seal's keys.
var ErrSealMigrationPending = keyops.ErrSealMigrationPending

// Vault's words for sys/unseal in and out of migration mode. Vault answers
// the first with a 500, and so do we.
const (
	msgMigrateMissing  = "migrate option not provided and seal migration is pending"
	msgNoMigrationSeal = "can't perform a seal migration, no migration seal found"
	msgMigrateJoining  = "can't perform a seal migration while joining a raft cluster"
)

// UnsealOptions are sys/unseal's options beyond the key.
type UnsealOptions struct {
	// Migrate marks the key as the old seal's during a seal migration.
	Migrate bool
}

// UnsealWithOptions is Unseal with sys/unseal's options: in migration mode
// every key must come with Migrate, and out of it none may.
func (c *Core) UnsealWithOptions(ctx context.Context, key []byte, opts UnsealOptions) error {
	if !c.keyops.MigrationConfigured() && !opts.Migrate {
		return c.unsealKey(ctx, key)
	}
	conf, err := seal.LoadConfig(ctx, c.physical)
	switch {
	case errors.Is(err, seal.ErrNotInitialized):
		conf = nil
	case err != nil:
		return err
	}
	sealed := c.Sealed()
	pending := false
	if sealed {
		if pending, err = c.keyops.MigrationPending(ctx, conf); err != nil {
			return fmt.Errorf("unseal: check for a seal migration: %w", err)
		}
	}
	c.unsealMu.Lock()
	joining := c.join != nil
	c.unsealMu.Unlock()
	switch {
	case opts.Migrate && !c.keyops.MigrationConfigured():
		return logical.BadRequest(msgNoMigrationSeal)
	case opts.Migrate && joining:
		return logical.BadRequest(msgMigrateJoining)
	case opts.Migrate && conf == nil:
		return logical.BadRequest("%s", ErrNotInitialized.Error())
	case opts.Migrate && !sealed:
		return nil
	case opts.Migrate && !pending:
		return logical.BadRequest("the seal migration is already complete: storage is under the %s seal; unseal without the migrate option", conf.Type)
	case opts.Migrate:
		return c.unsealMigrate(ctx, key, conf)
	case pending:
		return logical.Errorf(http.StatusInternalServerError, msgMigrateMissing)
	}
	return c.unsealKey(ctx, key)
}

// unsealMigrate is sys/unseal with migrate: true in migration mode. The
// key shares are the old seal's; at the threshold keyops.MigrateUnseal
// has them prove a quorum before the node unseals. Wrong keys reset
// progress and change nothing. Without HA the node is active at once and
// migrates before this returns; in a cluster the node serves as a standby
// and migrates when it becomes active.
func (c *Core) unsealMigrate(ctx context.Context, key []byte, conf *seal.Config) error {
	if err := checkUnsealKeyLen(key); err != nil {
		return err
	}
	threshold, err := c.keyops.MigrationThreshold(ctx, conf)
	if err != nil {
		return err
	}
	shares, ok := c.addUnsealShare(key, threshold)
	if !ok {
		return nil
	}
	combined, err := seal.CombineShares(shares)
	seal.WipeShares(shares)
	if err != nil {
		return logical.BadRequest("failed to compute combined key: %s; progress was reset", seal.ConfigMessage(err))
	}
	if err := c.keyops.MigrateUnseal(ctx, combined); err != nil {
		return err
	}
	if c.ha == nil {
		c.keyops.RunWork(ctx)
	}
	return nil
}

// migrationStatus marks st when a seal migration is pending: T, N and
// RecoverySeal then describe the old seal's keys, which sys/unseal wants.
func (c *Core) migrationStatus(ctx context.Context, conf *seal.Config, st *SealStatus) error {
	mk, err := c.keyops.PendingMigration(ctx, conf)
	if err != nil || mk == nil {
		return err
	}
	st.Migration = true
	st.RecoverySeal, st.RecoverySealType = mk.Recovery, ""
	if mk.Recovery {
		st.RecoverySealType = seal.RecoveryType
	}
	if mk.Config != nil {
		st.T, st.N = mk.Config.SecretThreshold, mk.Config.SecretShares
	}
	return nil
}
