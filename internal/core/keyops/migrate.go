package keyops

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/core/token"
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
//
// Core's sys/unseal collects the old keys' shares (UnsealWithOptions) and
// hands the combined key to MigrateUnseal; the active node's upkeep round
// (work.go) performs the migration.

// ErrSealMigrationPending is auto-unseal's answer in migration mode: the
// node waits for an operator to unseal it with the old seal's keys.
var ErrSealMigrationPending = errors.New("seal migration is pending: unseal with the old seal's keys and the migrate option")

// ErrSealMismatch means storage was initialized with another seal than the
// one configured; changing seals is a seal migration.
var ErrSealMismatch = errors.New("seal mismatch")

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
	w.configured = conf.MigrationSeal != nil || conf.AutoSeal != nil
	w.tick = sealWorkTick
	w.rotation.init()
}

// setMigration records a migrate unseal: key (may be nil) is kept, the
// caller must not use it afterwards.
func (w *sealWork) setMigration(key []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.migrateKey)
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
	clear(w.migrateKey)
	w.migrateKey, w.migrateReady = nil, false
}

// ClearMigration forgets a migrate unseal and the old key it proved: they
// hold for one unsealed term. Core calls it when the node seals.
func (o *Ops) ClearMigration() { o.work.clearMigration() }

// MigrationConfigured reports whether this node's configuration can
// migrate: a disabled seal stanza, or an auto seal that Shamir storage
// would migrate to.
func (o *Ops) MigrationConfigured() bool { return o.work.configured }

// oldSealType names the seal a migration leaves.
func (o *Ops) oldSealType() string {
	if o.work.oldSeal != nil {
		return o.work.oldSeal.Type()
	}
	return o.shamir.Type()
}

// MigrationPending reports whether storage, whose seal configuration is
// conf, is still under the seal this node migrates from. Between two auto
// seals of one type (two HSM keys) the stored root key's key id decides.
// A nil conf (not initialized) is never pending.
func (o *Ops) MigrationPending(ctx context.Context, conf *seal.Config) (bool, error) {
	if !o.work.configured || conf == nil {
		return false, nil
	}
	from, to := o.oldSealType(), o.sealType()
	if from != to {
		return conf.Type == from, nil
	}
	if o.work.oldSeal == nil || o.autoSeal == nil || conf.Type != from {
		return false, nil
	}
	stored, ok, err := o.autoSeal.StoredKeyID(ctx)
	if err != nil || !ok {
		return false, err
	}
	oldID, err := o.work.oldSeal.KeyID(ctx)
	if err != nil {
		return false, err
	}
	newID, err := o.autoSeal.KeyID(ctx)
	if err != nil {
		return false, err
	}
	return stored == oldID && stored != newID, nil
}

// AnnounceMigration logs migration mode once, as Vault does at start.
func (o *Ops) AnnounceMigration() {
	o.work.mu.Lock()
	first := !o.work.announced
	o.work.announced = true
	o.work.mu.Unlock()
	if first {
		o.logger.Warn("entering seal migration mode; Strongbox will not automatically unseal even if using an autoseal",
			"from_barrier_type", o.oldSealType(), "to_barrier_type", o.sealType())
	}
}

// CheckSeal reports ErrSealMismatch when storage is under another seal
// type than the configured one (Shamir counts) and not the one a seal
// migration moves away from, so a server fails at start instead of never
// unsealing. Storage under the old seal of a configured migration puts the
// node in migration mode, which it logs. Storage errors are returned as
// they are; uninitialized storage is fine.
func (o *Ops) CheckSeal(ctx context.Context) error {
	conf, err := seal.LoadConfig(ctx, o.physical)
	switch {
	case errors.Is(err, seal.ErrNotInitialized):
		return nil
	case err != nil:
		return err
	}
	pending, err := o.MigrationPending(ctx, conf)
	if err != nil {
		return fmt.Errorf("check for a seal migration: %w", err)
	}
	switch {
	case pending:
		o.AnnounceMigration()
	case conf.Type != o.sealType():
		hint := "changing seals is a seal migration: mark the old seal's stanza disabled = \"true\""
		if o.work.oldSeal != nil {
			hint = fmt.Sprintf("nor with the %q seal marked disabled, which a migration would move away from", o.oldSealType())
		}
		return fmt.Errorf("%w: storage was initialized with the %q seal but this server is configured with the %q seal; %s",
			ErrSealMismatch, conf.Type, o.sealType(), hint)
	case o.work.oldSeal != nil:
		o.logger.Info("the seal migration is already complete; the disabled seal stanza can be removed from the configuration",
			"barrier_type", conf.Type, "disabled_seal", o.oldSealType())
	}
	return nil
}

// MigrationKeys describes, while a seal migration is pending, the old
// seal's keys: the ones sys/unseal wants and seal-status shows.
type MigrationKeys struct {
	// Recovery is set when the old seal is an auto seal, whose recovery
	// keys unseal for the migration.
	Recovery bool
	// Config is the old keys' configuration; nil when it is not known (no
	// recovery configuration is stored).
	Config *seal.Config
}

// PendingMigration returns the old seal's keys when a seal migration is
// pending over storage whose seal configuration is conf, and nil when
// none is. A key service that cannot say which key wrapped the root key
// (same-type migrations only) counts as none.
func (o *Ops) PendingMigration(ctx context.Context, conf *seal.Config) (*MigrationKeys, error) {
	if !o.work.configured {
		return nil, nil
	}
	pending, err := o.MigrationPending(ctx, conf)
	if err != nil {
		o.logger.Debug("seal-status: could not tell whether a seal migration is pending", "error", err)
		return nil, nil
	}
	if !pending {
		return nil, nil
	}
	if o.work.oldSeal == nil {
		return &MigrationKeys{Config: conf}, nil
	}
	mk := &MigrationKeys{Recovery: true}
	rconf, err := seal.LoadRecoveryConfig(ctx, o.physical)
	switch {
	case err == nil:
		mk.Config = rconf
	case !errors.Is(err, seal.ErrNotInitialized):
		return nil, err
	}
	return mk, nil
}
