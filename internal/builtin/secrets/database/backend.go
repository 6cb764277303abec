package database

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/builtin/secrets/database/dbdriver"
	"github.com/strongbox/strongbox/internal/builtin/secrets/database/mysql"
	"github.com/strongbox/strongbox/internal/builtin/secrets/database/postgres"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/pwpolicy"
)

// Storage layout of a mount.
const (
	configPrefix     = "config/"
	rolePrefix       = "role/"
	staticRolePrefix = "static-role/"
)

// nameRe is a config or role name.
const nameRe = `(?P<name>\w(?:[\w.@-]*\w)?)`

// verifyTimeout bounds the connection check of a config write.
const verifyTimeout = 15 * time.Second

// opener opens a driver for a plugin name.
type opener func(ctx context.Context, c dbdriver.Config) (dbdriver.Driver, error)

// plugins are the plugin_name values a config accepts.
var plugins = map[string]opener{
	postgres.PluginName:    postgres.Open,
	mysql.PluginName:       mysqlOpener(false),
	mysql.AuroraPluginName: mysqlOpener(true),
	mysql.RDSPluginName:    mysqlOpener(true),
	mysql.LegacyPluginName: mysqlOpener(true),
}

func mysqlOpener(legacy bool) opener {
	return func(ctx context.Context, c dbdriver.Config) (dbdriver.Driver, error) {
		return mysql.Open(ctx, c, legacy)
	}
}

// Factory builds the engine for a mount. It does no I/O: connections open
// on first use.
func Factory(_ context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	b := &backend{logger: slog.New(slog.DiscardHandler), now: time.Now, conns: map[string]*conn{}}
	if conf != nil {
		if conf.Logger != nil {
			b.logger = conf.Logger
		}
		b.system = conf.System
	}
	if b.system == nil {
		b.system = logical.StaticSystemView{}
	}
	return b.framework(), nil
}

// conn is an open driver and the config it was opened from.
type conn struct {
	d   dbdriver.Driver
	cfg *dbConfig
}

type backend struct {
	logger *slog.Logger
	system logical.SystemView
	now    func() time.Time

	// mu guards conns: one open driver per config name, with the config
	// it was opened from.
	mu    sync.Mutex
	conns map[string]*conn

	// locks serialise changes of one config or static role, striped.
	locks [64]sync.Mutex

	creds *logical.SecretType

	// The rotation loop checks the static roles every rotationTick, as
	// Vault's rotation queue does, so rotation periods shorter than the
	// core's periodic interval (a minute) hold. It starts at the first
	// periodic call or static role write of the activation (this
	// backend lives for one) and stops in Clean.
	rotationTick time.Duration
	loopOnce     sync.Once
	loopStop     context.CancelFunc
	loopDone     chan struct{}
}

func (b *backend) framework() *logical.FrameworkBackend {
	b.creds = b.credsSecret()
	return &logical.FrameworkBackend{
		Paths: []*logical.Path{
			b.pathConfigList(), b.pathConfig(), b.pathReset(), b.pathRotateRoot(),
			b.pathRolesList(), b.pathRoles(), b.pathCreds(),
			b.pathStaticRolesList(), b.pathStaticRoles(), b.pathStaticCreds(), b.pathRotateRole(),
		},
		Secrets:      []*logical.SecretType{b.creds},
		PeriodicFunc: b.rotateDue,
		Rollback:     b.rollback,
		Clean: func(context.Context) {
			b.stopRotationLoop()
			b.closeAll()
		},
		PathsSpecial: &logical.Paths{SealWrapStorage: []string{configPrefix, staticRolePrefix}},
	}
}

// lock takes the stripe lock of a key ("config/x", "static-role/y").
func (b *backend) lock(key string) func() {
	h := fnv.New32a()
	h.Write([]byte(key))
	mu := &b.locks[h.Sum32()%uint32(len(b.locks))]
	mu.Lock()
	return mu.Unlock
}

// driver returns the open driver of a config and the config, opening it
// from storage on first use. The miss holds mu across the storage read so
// that a config change, which closes the cached driver after writing,
// never leaves a driver of the old config behind.
func (b *backend) driver(ctx context.Context, s logical.Storage, name string) (dbdriver.Driver, *dbConfig, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c, ok := b.conns[name]; ok {
		return c.d, c.cfg, nil
	}
	cfg, err := readConfig(ctx, s, name)
	if err != nil {
		return nil, nil, err
	}
	if cfg == nil {
		return nil, nil, logical.BadRequest("no database configuration %q", name)
	}
	d, err := openDriver(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	b.conns[name] = &conn{d: d, cfg: cfg}
	return d, cfg, nil
}

func openDriver(ctx context.Context, cfg *dbConfig) (dbdriver.Driver, error) {
	open, ok := plugins[cfg.PluginName]
	if !ok {
		return nil, logical.BadRequest("unknown plugin_name %q", cfg.PluginName)
	}
	d, err := open(ctx, cfg.driverConfig())
	if err != nil {
		return nil, logical.BadRequest("error creating database object: %v", err)
	}
	return d, nil
}

// closeConn closes and forgets the driver of a config (the next use opens
// one from the stored config).
func (b *backend) closeConn(name string) {
	b.mu.Lock()
	c := b.conns[name]
	delete(b.conns, name)
	b.mu.Unlock()
	if c != nil {
		if err := c.d.Close(); err != nil {
			b.logger.Warn("close database connection", "name", name, "error", err)
		}
	}
}

func (b *backend) closeAll() {
	b.mu.Lock()
	conns := b.conns
	b.conns = map[string]*conn{}
	b.mu.Unlock()
	for name, c := range conns {
		if err := c.d.Close(); err != nil {
			b.logger.Warn("close database connection", "name", name, "error", err)
		}
	}
}

// generatePassword makes a password from the config's password_policy
// (through the core), else from Vault's default policy.
func (b *backend) generatePassword(ctx context.Context, policy string) (string, error) {
	if policy == "" {
		return pwpolicy.Default.Generate()
	}
	g, ok := b.system.(logical.PasswordGenerator)
	if !ok {
		return "", logical.BadRequest("password policy %q: password policies are not available", policy)
	}
	pw, err := g.GeneratePasswordFromPolicy(ctx, policy)
	if errors.Is(err, logical.ErrPasswordPolicyNotFound) {
		return "", logical.BadRequest("password policy %q does not exist", policy)
	}
	if err != nil {
		return "", fmt.Errorf("database: generate password: %w", err)
	}
	return pw, nil
}

// dbError turns a driver's error into the caller's answer: a connection
// problem (bad URL, host, password) is a 400 the operator can act on;
// anything else is the database's fault, a 500 with the error logged.
func dbError(op string, err error) error {
	if errors.Is(err, dbdriver.ErrConnection) {
		return logical.BadRequest("%s: %v", op, err)
	}
	return fmt.Errorf("database: %s: %w", op, err)
}
