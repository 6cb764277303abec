package core

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/audit"
	"github.com/strongbox/strongbox/internal/barrier"
	"github.com/strongbox/strongbox/internal/core/auditing"
	"github.com/strongbox/strongbox/internal/core/cors"
	"github.com/strongbox/strongbox/internal/core/diag"
	"github.com/strongbox/strongbox/internal/core/expiration"
	"github.com/strongbox/strongbox/internal/core/ha"
	"github.com/strongbox/strongbox/internal/core/identity"
	"github.com/strongbox/strongbox/internal/core/keyops"
	"github.com/strongbox/strongbox/internal/core/lockout"
	"github.com/strongbox/strongbox/internal/core/mount"
	"github.com/strongbox/strongbox/internal/core/policy"
	"github.com/strongbox/strongbox/internal/core/pwpolicies"
	"github.com/strongbox/strongbox/internal/core/raftops"
	"github.com/strongbox/strongbox/internal/core/token"
	"github.com/strongbox/strongbox/internal/core/wrapping"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/seal"
)

// Errors the HTTP layer maps to status codes.
var (
	// ErrSealed: the barrier is sealed (503).
	ErrSealed = logical.ErrSealed
	// ErrNotInitialized: init has not run (503 for data paths).
	ErrNotInitialized = errors.New("Vault is not initialized")
	// ErrAlreadyInitialized: a second init (400).
	ErrAlreadyInitialized = errors.New("Vault is already initialized")
)

// Config is what the server hands to New.
type Config struct {
	Physical    physical.Backend
	Logger      *slog.Logger
	ClusterName string
	StorageType string
	Version     string
	// DefaultLeaseTTL and MaxLeaseTTL are the system-wide TTLs (768h if zero).
	DefaultLeaseTTL time.Duration
	MaxLeaseTTL     time.Duration
	// SecretEngines and AuthMethods are the builtin engine registry by type.
	SecretEngines map[string]logical.Factory
	AuthMethods   map[string]logical.Factory
	// AuditDevices are the audit device factories by type.
	AuditDevices map[string]audit.Factory
	// Audit carries the server configuration's audit stanzas and whether
	// sys/audit may create devices (see auditing.Policy).
	Audit auditing.Policy
	// APIAddr and ClusterAddr are what this node advertises when active.
	APIAddr     string
	ClusterAddr string
	// Seal is the auto-unseal key service (an HSM, a KMS) that encrypts
	// the root key; nil means the Shamir seal, where operators hold shares.
	Seal seal.Wrapper
	// MigrationSeal is the seal a seal migration moves away from (a seal
	// stanza marked disabled); nil means none, or Shamir (package keyops).
	MigrationSeal seal.Wrapper
	// PeriodicInterval is how often the active node calls every mount's
	// periodic hook (FrameworkBackend.PeriodicFunc and Rollback, through
	// a RollbackOperation); one minute if zero, as Vault's rollback
	// manager. Tests shorten it.
	PeriodicInterval time.Duration
	// Expiration tunes the expiration manager (workers, horizon, retry
	// backoff); zero values take its defaults. Logger and Now come from
	// this Config.
	Expiration expiration.Config
	// Now is the clock of the key operations' time rules (the rekey
	// cancel grace); time.Now when nil. Tests pass a clock they move.
	Now func() time.Time
	// UserLockout holds the server's user_lockout stanzas and
	// VAULT_DISABLE_USER_LOCKOUT (core/lockout); Logger and Now come from
	// this Config.
	UserLockout lockout.Config
	// Metrics serves sys/metrics (package telemetry); nil answers 400.
	Metrics MetricsSource
	// SanitizedConfig is what sys/config/state/sanitized answers (the
	// server's configuration without storage and seal settings).
	SanitizedConfig map[string]any
}

// Core is one node's state and request pipeline.
type Core struct {
	conf     Config
	logger   *slog.Logger
	physical physical.Backend
	barrier  *barrier.Barrier
	seal     *seal.Shamir
	// autoSeal is set under an auto-unseal seal (autoseal.go); then
	// recovery keys authorize what unseal keys authorize under Shamir.
	autoSeal *seal.AutoSeal
	// keyops is the key ceremonies and seal upkeep: rekey, generate-root,
	// seal migration, seal re-wrap, key rotation (package keyops).
	keyops *keyops.Ops

	// stateLock is held for reading by every request and for writing by
	// seal and unseal, so sealing waits for in-flight requests to finish.
	stateLock sync.RWMutex
	sealed    bool

	unsealMu     sync.Mutex
	unsealShares [][]byte
	unsealNonce  string
	join         *raftops.PendingJoin

	// mounts is the mount room: tables, router, sys/mounts (core/mount).
	// Its tables and router are loaded on unseal, dropped on seal.
	mounts *mount.Mounts

	// Set up on unseal, torn down on seal (under stateLock).
	tokens     *token.Store
	policies   *policy.Store
	audit      *audit.Broker
	clusterID  string
	stopBg     context.CancelFunc
	bgDone     chan struct{}
	activeTime time.Time
	acls       aclCache
	// inFlight is sys/in-flight-req's table (the HTTP layer fills it).
	inFlight diag.InFlight

	// HA: ha is set when the storage elects a leader; standby is guarded
	// by stateLock. haNode follows leadership (core/ha).
	ha      ha.Storage
	standby bool
	haNode  *ha.Node

	// raftops runs integrated raft: join, raft TLS, autopilot, snapshots
	// (core/raftops, host_raftops.go).
	raftops *raftops.Ops

	// cors is sys/config/cors and the node's copy of it (core/cors).
	cors *cors.Store

	// expiration keeps the leases and revokes them at expiry; it runs
	// between postUnseal and teardown (core/expiration,
	// host_expiration.go).
	expiration *expiration.Manager
	// wrapping is the response-wrapping room (host_wrapping.go).
	wrapping *wrapping.Manager
	// auditing is the audit table and its devices (core/auditing); audit
	// is its broker while the node is active.
	auditing *auditing.Room
	// passwords is sys/policies/password (core/pwpolicies).
	passwords *pwpolicies.Store
	// lockout counts failed logins and locks aliases out (core/lockout,
	// host_lockout.go).
	lockout *lockout.Manager
	// identity holds entities and groups; set up on unseal, before the
	// mounts (host_identity.go).
	identity *identity.Store
}

// New builds a sealed core over the physical storage.
func New(conf Config) (*Core, error) {
	if conf.Physical == nil {
		return nil, errors.New("core: no physical storage")
	}
	if conf.Logger == nil {
		conf.Logger = slog.Default()
	}
	if conf.DefaultLeaseTTL == 0 {
		conf.DefaultLeaseTTL = 768 * time.Hour
	}
	if conf.MaxLeaseTTL == 0 {
		conf.MaxLeaseTTL = 768 * time.Hour
	}
	if conf.ClusterName == "" {
		conf.ClusterName = "strongbox-cluster"
	}
	c := &Core{
		conf:     conf,
		logger:   conf.Logger,
		physical: conf.Physical,
		barrier:  barrier.New(conf.Physical),
		seal:     seal.NewShamir(conf.Physical),
		sealed:   true,
	}
	if conf.Seal != nil {
		c.autoSeal = seal.NewAutoSeal(conf.Physical, conf.Seal)
	}
	c.keyops = keyops.New(keyopsHost{c}, keyops.Config{
		Physical: conf.Physical, Barrier: c.barrier, Shamir: c.seal, AutoSeal: c.autoSeal,
		MigrationSeal: conf.MigrationSeal, Logger: conf.Logger, Now: conf.Now,
	})
	if hs, ok := conf.Physical.(ha.Storage); ok {
		c.ha = hs
	}
	c.raftops = raftops.New(raftopsHost{c}, raftops.Config{
		Physical: conf.Physical, Barrier: c.barrier, Logger: conf.Logger,
		ClusterAddr: conf.ClusterAddr, Version: conf.Version,
	})
	c.haNode = ha.New(haHost{c}, ha.Config{
		Storage: c.ha, Barrier: c.barrier, Logger: c.logger,
		APIAddr: conf.APIAddr, ClusterAddr: conf.ClusterAddr, Version: conf.Version,
	})
	ec := conf.Expiration
	ec.Logger, ec.Now = c.logger.With("component", "expiration"), conf.Now
	c.expiration = expiration.New(expirationHost{c}, ec)
	c.wrapping = wrapping.New(wrappingHost{c})
	c.auditing = auditing.New(auditing.Config{
		Storage: c.barrier, Factories: conf.AuditDevices, Logger: c.logger.With("component", "audit"),
		Policy: conf.Audit,
	})
	c.passwords = pwpolicies.New(c.barrier)
	c.cors = cors.New(c.barrier, c.logger.With("component", "cors"))
	lc := conf.UserLockout
	lc.Logger, lc.Now = c.logger.With("component", "lockout"), conf.Now
	c.lockout = lockout.New(lockoutHost{c}, lc)
	c.mounts = mount.New(mountHost{c}, mount.Options{
		Storage:       c.barrier,
		SecretEngines: conf.SecretEngines, AuthMethods: conf.AuthMethods,
		DefaultLeaseTTL: conf.DefaultLeaseTTL, MaxLeaseTTL: conf.MaxLeaseTTL,
		Logger: c.logger,
	})
	return c, nil
}

// Sealed reports whether the core is sealed.
func (c *Core) Sealed() bool {
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	return c.sealed
}

// ClusterName returns the configured cluster name.
func (c *Core) ClusterName() string { return c.conf.ClusterName }

// StorageType returns the configured storage type, for seal-status.
func (c *Core) StorageType() string { return c.conf.StorageType }

// Version returns the server version string.
func (c *Core) Version() string { return c.conf.Version }

// ActiveTime is when this node last became active (zero when sealed).
func (c *Core) ActiveTime() time.Time {
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	return c.activeTime
}

// ReloadAudit reopens audit files (log rotation).
func (c *Core) ReloadAudit(ctx context.Context) error {
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	if c.sealed || c.audit == nil {
		return nil
	}
	return c.audit.Reload(ctx)
}
