package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/core/token"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/seal"
)

// Seal migration moves the root key from one seal to another, as Vault's
// does (Vault 1.5.1 and later). The configuration names the new seal and
// the old one is the stanza marked disabled = "true"; from Shamir only the
// new auto stanza is given, and the Shamir seal found in storage is the old
// one. A node so configured over storage still under the old seal is in
// migration mode: seal-status says migration: true, it never auto-unseals,
// and sys/unseal wants migrate: true with the OLD seal's keys (unseal keys
// from Shamir, recovery keys from an auto seal). They unseal the node and
// prove a quorum; the node then serves, and the first such node to be
// active performs the migration (standbys first, then a step-down of the
// active node, is Vault's procedure):
//
//   - Shamir → auto: the combined unseal key becomes the recovery key (so
//     the old unseal key shares are the recovery key shares), and the new
//     seal wraps the root key.
//   - auto → Shamir: the recovery key becomes the unseal key (the recovery
//     shares unseal from now on); the recovery key is deleted.
//   - auto → auto: the new seal wraps the root key; the recovery key stays.
//
// No new keys are handed out, as in Vault. Unlike Vault's Shamir → auto,
// the root key itself is kept: standbys hold it in memory and keep reading
// the keyring through the switch. The wrapped root key, the seal
// configuration and the recovery configuration change in one storage
// transaction, so a crash leaves the old seal or the new one, never a mix.

// ErrSealMigrationPending is AutoUnseal's answer in migration mode: the
// node waits for an operator to unseal it with the old seal's keys.
var ErrSealMigrationPending = errors.New("seal migration is pending: unseal with the old seal's keys and the migrate option")

// Vault's words for sys/unseal in and out of migration mode. Vault answers
// the first with a 500, and so do we.
const (
	msgMigrateMissing  = "migrate option not provided and seal migration is pending"
	msgNoMigrationSeal = "can't perform a seal migration, no migration seal found"
	msgMigrateJoining  = "can't perform a seal migration while joining a raft cluster"
)

// sealWorkTick paces the active node's seal upkeep (migration, re-wrap,
// key rotation checks). Each tick is cheap: a lock and a pointer compare
// unless there is work.
const sealWorkTick = time.Second

// sealWorkRetry is how long a failed migration or re-wrap waits before the
// next try, so a key service that is down is not hammered.
const sealWorkRetry = 15 * time.Second

// sealCallTimeout bounds one round of work that calls the key service.
const sealCallTimeout = 30 * time.Second

// sealWork holds the seal work beyond unseal: the migration source and
// the key proved at a migrate unseal, the background loop of the active
// node, automatic key rotation and seal re-wrap status.
type sealWork struct {
	// configured: this node's configuration can migrate (a disabled seal
	// stanza, or an auto seal that Shamir storage would migrate to).
	configured bool
	// oldSeal is the auto seal migrated from; nil when that is Shamir.
	oldSeal *seal.AutoSeal

	mu sync.Mutex
	// migrateKey is the unseal key combined at a migrate unseal from
	// Shamir: the recovery key once the migration is done. Wiped then, or
	// when the node seals.
	migrateKey []byte
	// migrateReady: the node was unsealed with migrate: true.
	migrateReady bool
	// announced: migration mode was logged (once per process).
	announced bool

	// loopMu guards the background loop's handles.
	loopMu sync.Mutex
	stop   context.CancelFunc
	done   chan struct{}
	tick   time.Duration

	// tickMu serializes rounds of work; the fields below are its.
	tickMu sync.Mutex
	// epoch is the active term (its token store) the loop last set up.
	epoch     *token.Store
	retryAt   time.Time
	rotation  rotationTracker
	rewrapRun rewrapState
}

func (w *sealWork) init(conf Config) {
	if conf.MigrationSeal != nil {
		w.oldSeal = seal.NewAutoSeal(conf.Physical, conf.MigrationSeal)
	}
	w.configured = conf.MigrationSeal != nil || conf.Seal != nil
	w.tick = sealWorkTick
	w.rotation.init()
}

// setMigration records a migrate unseal: key (may be nil) is kept, the
// caller must not use it afterwards.
func (w *sealWork) setMigration(key []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wipe(w.migrateKey)
	w.migrateKey, w.migrateReady = key, true
}

// migration returns a copy of the migrate key and whether the node was
// unsealed for migration.
func (w *sealWork) migration() ([]byte, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]byte(nil), w.migrateKey...), w.migrateReady
}

func (w *sealWork) clearMigration() {
	w.mu.Lock()
	defer w.mu.Unlock()
	wipe(w.migrateKey)
	w.migrateKey, w.migrateReady = nil, false
}

// oldSealType names the seal a migration leaves.
func (c *Core) oldSealType() string {
	if c.sealWork.oldSeal != nil {
		return c.sealWork.oldSeal.Type()
	}
	return c.seal.Type()
}

// migrationPending reports whether storage, whose seal configuration is
// conf, is still under the seal this node migrates from. Between two auto
// seals of one type (two HSM keys) the stored root key's key id decides.
func (c *Core) migrationPending(ctx context.Context, conf *seal.Config) (bool, error) {
	if !c.sealWork.configured || conf == nil {
		return false, nil
	}
	from, to := c.oldSealType(), c.SealType()
	if from != to {
		return conf.Type == from, nil
	}
	if c.sealWork.oldSeal == nil || c.autoSeal == nil || conf.Type != from {
		return false, nil
	}
	stored, ok, err := c.autoSeal.StoredKeyID(ctx)
	if err != nil || !ok {
		return false, err
	}
	oldID, err := c.sealWork.oldSeal.KeyID(ctx)
	if err != nil {
		return false, err
	}
	newID, err := c.autoSeal.KeyID(ctx)
	if err != nil {
		return false, err
	}
	return stored == oldID && stored != newID, nil
}

// announceMigration logs migration mode once, as Vault does at start.
func (c *Core) announceMigration() {
	c.sealWork.mu.Lock()
	first := !c.sealWork.announced
	c.sealWork.announced = true
	c.sealWork.mu.Unlock()
	if first {
		c.logger.Warn("entering seal migration mode; Strongbox will not automatically unseal even if using an autoseal",
			"from_barrier_type", c.oldSealType(), "to_barrier_type", c.SealType())
	}
}

// UnsealOptions are sys/unseal's options beyond the key.
type UnsealOptions struct {
	// Migrate marks the key as the old seal's during a seal migration.
	Migrate bool
}

// UnsealWithOptions is Unseal with sys/unseal's options: in migration mode
// every key must come with Migrate, and out of it none may.
func (c *Core) UnsealWithOptions(ctx context.Context, key []byte, opts UnsealOptions) error {
	if !c.sealWork.configured && !opts.Migrate {
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
		if pending, err = c.migrationPending(ctx, conf); err != nil {
			return fmt.Errorf("unseal: check for a seal migration: %w", err)
		}
	}
	c.unsealMu.Lock()
	joining := c.join != nil
	c.unsealMu.Unlock()
	switch {
	case opts.Migrate && !c.sealWork.configured:
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
// key shares are the old seal's; at the threshold they must prove a
// quorum (unwrap the root key from Shamir, rebuild the recovery key of an
// auto seal) before the node unseals. Wrong keys reset progress and change
// nothing. Without HA the node is active at once and migrates before this
// returns; in a cluster the node serves as a standby and migrates when it
// becomes active.
func (c *Core) unsealMigrate(ctx context.Context, key []byte, conf *seal.Config) error {
	if err := checkUnsealKeyLen(key); err != nil {
		return err
	}
	old := c.sealWork.oldSeal
	threshold := conf.SecretThreshold
	if old != nil {
		rconf, err := seal.LoadRecoveryConfig(ctx, c.physical)
		if err != nil {
			return fmt.Errorf("unseal: %w", err)
		}
		threshold = rconf.SecretThreshold
	}
	shares, ok := c.addUnsealShare(key, threshold)
	if !ok {
		return nil
	}
	combined, err := seal.CombineShares(shares)
	wipeShares(shares)
	if err != nil {
		return logical.BadRequest("failed to compute combined key: %s; progress was reset", trimSealErr(err))
	}
	if old == nil {
		err = c.unsealMigrateShamir(ctx, combined)
	} else {
		err = c.unsealMigrateAuto(ctx, old, combined)
		wipe(combined)
	}
	if err != nil {
		return err
	}
	c.logger.Info("unsealed with the old seal's keys for the seal migration",
		"from_barrier_type", c.oldSealType(), "to_barrier_type", c.SealType())
	if c.ha == nil {
		c.runSealWork(ctx)
	}
	return nil
}

// unsealMigrateShamir unseals with the old Shamir unseal key, which it
// keeps (owning combined) for the migration to an auto seal.
func (c *Core) unsealMigrateShamir(ctx context.Context, combined []byte) error {
	root, err := c.seal.RootKey(ctx, [][]byte{combined})
	if err != nil {
		wipe(combined)
		if errors.Is(err, seal.ErrInvalidKey) {
			c.logger.Warn("migrate unseal failed: key shares do not unwrap the root key")
			return logical.BadRequest("invalid key: the key shares do not unseal this Vault; progress was reset")
		}
		return fmt.Errorf("unseal: %w", err)
	}
	defer wipe(root)
	// Kept before the node unseals: its background work may migrate as
	// soon as it is active.
	c.sealWork.setMigration(combined)
	if err := c.unsealWithRootKey(ctx, root); err != nil {
		c.sealWork.clearMigration()
		return err
	}
	return nil
}

// unsealMigrateAuto unseals with the root key the old auto seal decrypts,
// once the combined key proves to be the recovery key.
func (c *Core) unsealMigrateAuto(ctx context.Context, old *seal.AutoSeal, combined []byte) error {
	root, err := old.RootKey(ctx)
	if err != nil {
		c.logger.Warn("migrate unseal refused: the old seal cannot decrypt the root key", "seal", old.Type(), "error", err)
		return logical.BadRequest("failed to verify recovery key: the %s seal cannot decrypt the root key: %v", old.Type(), err)
	}
	defer wipe(root)
	c.sealWork.setMigration(nil)
	err = c.unsealVerified(ctx, root, func(ctx context.Context) error {
		rec, err := c.getRecoveryRecord(ctx)
		if err != nil {
			return err
		}
		defer wipe(rec.Key)
		return seal.MatchRecoveryKey(combined, rec.Key)
	})
	if err != nil {
		c.sealWork.clearMigration()
		if errors.Is(err, seal.ErrInvalidKey) {
			c.logger.Warn("migrate unseal failed: the key shares are not a quorum of the recovery keys")
			return logical.BadRequest("failed to verify recovery key: the key shares do not combine to the recovery key; progress was reset")
		}
		return err
	}
	return nil
}

// migrateSeal performs a pending migration on the active node. The caller
// holds stateLock (read) and has checked that the node is active. Storage
// already under the new seal (another node migrated) just ends migration
// mode.
func (c *Core) migrateSeal(ctx context.Context) error {
	if !c.sealWork.configured {
		return nil
	}
	conf, err := seal.LoadConfig(ctx, c.physical)
	if err != nil {
		return fmt.Errorf("seal migration: %w", err)
	}
	pending, err := c.migrationPending(ctx, conf)
	if err != nil {
		return fmt.Errorf("seal migration: %w", err)
	}
	key, ready := c.sealWork.migration()
	defer wipe(key)
	if !pending {
		if ready {
			c.logger.Info("seal migration is already complete", "barrier_type", conf.Type)
			c.sealWork.clearMigration()
		}
		return nil
	}
	if !ready {
		c.logger.Warn("seal migration is pending but this node was not unsealed with the migrate option; it does not migrate")
		return nil
	}
	from, to := c.oldSealType(), c.SealType()
	c.logger.Info("seal migration initiated", "from_barrier_type", from, "to_barrier_type", to)
	root, err := c.barrier.RootKey()
	if err != nil {
		return fmt.Errorf("seal migration: %w", err)
	}
	defer wipe(root)
	sw, err := c.sealSwitch(ctx, conf, key, root)
	if err != nil {
		return fmt.Errorf("seal migration from %s to %s: %w", from, to, err)
	}
	if err := seal.CommitSwitch(ctx, c.physical, sw); err != nil {
		return fmt.Errorf("seal migration from %s to %s: %w", from, to, err)
	}
	if c.autoSeal == nil {
		// The recovery key is the unseal key now; no copy stays behind.
		if err := c.barrier.Delete(ctx, seal.RecoveryKeyPath); err != nil {
			c.logger.Warn("seal migration: removing the old recovery key failed", "error", err)
		}
	}
	c.sealWork.clearMigration()
	c.logger.Info("seal migration complete", "from_barrier_type", from, "to_barrier_type", to)
	return nil
}

// sealSwitch prepares what the migration writes: the root key wrapped by
// the new seal and the configurations. Shamir → auto stores the recovery
// key (through the barrier) first: harmless while Shamir still reads
// storage, and a crash before the switch leaves a retryable migration.
func (c *Core) sealSwitch(ctx context.Context, conf *seal.Config, key, root []byte) (*seal.Switch, error) {
	switch {
	case c.sealWork.oldSeal == nil && c.autoSeal != nil:
		if len(key) == 0 {
			return nil, errors.New("the old unseal key is not known: unseal this node again with the migrate option")
		}
		wrapped, err := c.autoSeal.Wrap(ctx, root)
		if err != nil {
			return nil, err
		}
		rec := &recoveryRecord{Key: key, Shares: conf.SecretShares, Threshold: conf.SecretThreshold}
		if err := c.putRecoveryRecord(ctx, rec); err != nil {
			return nil, err
		}
		return &seal.Switch{
			Config:   seal.Config{Type: c.autoSeal.Type(), SecretShares: 1, SecretThreshold: 1},
			Wrapped:  wrapped,
			Recovery: rec.config(),
		}, nil
	case c.sealWork.oldSeal != nil && c.autoSeal == nil:
		rec, err := c.getRecoveryRecord(ctx)
		if err != nil {
			return nil, err
		}
		defer wipe(rec.Key)
		wrapped, err := seal.WrapWithUnsealKey(rec.Key, root)
		if err != nil {
			return nil, err
		}
		return &seal.Switch{
			Config:  seal.Config{Type: c.seal.Type(), SecretShares: rec.Shares, SecretThreshold: rec.Threshold},
			Wrapped: wrapped,
		}, nil
	case c.sealWork.oldSeal != nil && c.autoSeal != nil:
		rec, err := c.getRecoveryRecord(ctx)
		if err != nil {
			return nil, err
		}
		wipe(rec.Key)
		wrapped, err := c.autoSeal.Wrap(ctx, root)
		if err != nil {
			return nil, err
		}
		return &seal.Switch{
			Config:   seal.Config{Type: c.autoSeal.Type(), SecretShares: 1, SecretThreshold: 1},
			Wrapped:  wrapped,
			Recovery: rec.config(),
		}, nil
	}
	return nil, errors.New("unhandled migration case (shamir to shamir)")
}

// startSealWork starts the node's background seal upkeep once it is
// unsealed (runSealWork every tick; it does work only while active). The
// caller holds stateLock for writing: the loop's first round waits for it.
func (c *Core) startSealWork() {
	w := &c.sealWork
	w.loopMu.Lock()
	defer w.loopMu.Unlock()
	if w.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w.stop, w.done = cancel, done
	tick := w.tick
	go func() {
		defer close(done)
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			c.runSealWork(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// stopSealWork stops the loop and waits for it. The caller must not hold
// stateLock: a round in progress holds it for reading.
func (c *Core) stopSealWork() {
	w := &c.sealWork
	w.loopMu.Lock()
	cancel, done := w.stop, w.done
	w.stop, w.done = nil, nil
	w.loopMu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// runSealWork is one round of the active node's seal upkeep. On the first
// round of each active term it performs a pending seal migration, re-wraps
// the root key if the seal's current key is not the one that wrapped it,
// and loads the rotation state; every round it checks whether the barrier
// key is due for rotation. Standbys and sealed nodes do nothing.
func (c *Core) runSealWork(ctx context.Context) {
	w := &c.sealWork
	w.tickMu.Lock()
	defer w.tickMu.Unlock()
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	if c.sealed || c.standby || c.tokens == nil {
		w.epoch = nil
		return
	}
	if w.epoch != c.tokens {
		if time.Now().Before(w.retryAt) {
			return
		}
		cctx, cancel := context.WithTimeout(ctx, sealCallTimeout)
		defer cancel()
		if err := c.migrateSeal(cctx); err != nil {
			w.retryAt = time.Now().Add(sealWorkRetry)
			c.logger.Error("seal migration failed; the node keeps serving under the old seal and retries",
				"error", err, "retry_in", sealWorkRetry)
			return
		}
		c.rewrapIfStale(cctx)
		if err := c.rotationActivate(cctx); err != nil {
			w.retryAt = time.Now().Add(sealWorkRetry)
			c.logger.Error("loading the key rotation state failed; retrying", "error", err, "retry_in", sealWorkRetry)
			return
		}
		w.epoch = c.tokens
	}
	c.rotationCheck(ctx)
}

// migrationStatus marks st when a seal migration is pending: T, N and
// RecoverySeal then describe the old seal's keys, which sys/unseal wants.
// A key service that cannot say which key wrapped the root key (same-type
// migrations only) leaves the status as stored.
func (c *Core) migrationStatus(ctx context.Context, conf *seal.Config, st *SealStatus) error {
	if !c.sealWork.configured {
		return nil
	}
	pending, err := c.migrationPending(ctx, conf)
	if err != nil {
		c.logger.Debug("seal-status: could not tell whether a seal migration is pending", "error", err)
		return nil
	}
	if !pending {
		return nil
	}
	st.Migration = true
	if c.sealWork.oldSeal == nil {
		st.T, st.N = conf.SecretThreshold, conf.SecretShares
		st.RecoverySeal, st.RecoverySealType = false, ""
		return nil
	}
	st.RecoverySeal, st.RecoverySealType = true, seal.RecoveryType
	rconf, err := seal.LoadRecoveryConfig(ctx, c.physical)
	switch {
	case err == nil:
		st.T, st.N = rconf.SecretThreshold, rconf.SecretShares
	case !errors.Is(err, seal.ErrNotInitialized):
		return err
	}
	return nil
}
