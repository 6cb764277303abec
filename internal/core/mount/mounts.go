package mount

import (
	"context"
	"log/slog"
	"slices"
	"time"

	uuid "github.com/hashicorp/go-uuid"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
)

// Options is what the core hands to New; none of it changes afterwards.
type Options struct {
	// Storage is the barrier: the tables and every mount's data live in it.
	Storage physical.Backend
	// SecretEngines and AuthMethods are the builtin engine registry by type.
	SecretEngines map[string]logical.Factory
	AuthMethods   map[string]logical.Factory
	// DefaultLeaseTTL and MaxLeaseTTL are the system-wide TTLs a mount's
	// zero TTLs fall back on; tuning may not exceed MaxLeaseTTL.
	DefaultLeaseTTL time.Duration
	MaxLeaseTTL     time.Duration
	// Logger receives mount changes; each engine gets it with its mount.
	Logger *slog.Logger
}

// Mounts is one node's mount and auth tables and the router over them.
//
// The tables and the router belong to one activation: Load sets them up and
// Teardown drops them, both called by the core with its state lock held for
// writing; request handlers (Paths, and the core's use of Router) run with
// it held for reading. Outside an activation Router returns nil.
type Mounts struct {
	host Host
	opts Options

	mounts *Table
	auths  *Table
	router *Router

	// migrations outlive activations, as sys/remount/status answers do.
	migrations migrations
}

// New builds the (empty) mount room of a core.
func New(host Host, opts Options) *Mounts {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Mounts{host: host, opts: opts}
}

// newUUID names a mount (its data) and a remount migration.
func newUUID() string {
	id, err := uuid.GenerateUUID()
	if err != nil {
		panic(err) // crypto/rand never fails on Linux; a broken RNG must not go unnoticed
	}
	return id
}

// SetupDefaults writes the rows a new barrier starts with: the cubbyhole/,
// identity/ and sys/ mounts and the token/ auth method. Init calls it once.
func (m *Mounts) SetupDefaults(ctx context.Context) error {
	mounts := []*Entry{
		{Path: "cubbyhole/", Type: "cubbyhole", Description: "per-token private secret storage", UUID: newUUID(), Accessor: randomAccessor("cubbyhole"), Local: true},
		identityEntry(),
		{Path: "sys/", Type: "system", Description: "system endpoints used for control, policy and debugging", UUID: newUUID(), Accessor: randomAccessor("system")},
	}
	auths := []*Entry{
		{Path: "token/", Type: "token", Description: "token based credentials", UUID: newUUID(), Accessor: randomAccessor("auth_token"),
			Config: Config{TokenType: TokenTypeDefaultService}},
	}
	for prefix, tbl := range map[string][]*Entry{mountTableKey: mounts, authTableKey: auths} {
		for _, me := range tbl {
			if err := storeEntry(ctx, m.opts.Storage, prefix, me); err != nil {
				return err
			}
		}
	}
	return nil
}

// identityEntry is the row of the identity/ mount (Vault's: type
// identity, never disabled or moved).
func identityEntry() *Entry {
	return &Entry{Path: "identity/", Type: "identity", Description: "identity store", UUID: newUUID(), Accessor: randomAccessor("identity")}
}

// Load reads the mount and auth tables and mounts every backend on a new
// Router. The core calls it under its state lock (in postUnseal), after the
// token store is up; on error it calls Teardown, which undoes a partial Load.
func (m *Mounts) Load(ctx context.Context) error {
	var err error
	m.router = newRouter()
	if m.mounts, err = LoadTable(ctx, m.opts.Storage, mountTableKey); err != nil {
		return err
	}
	if m.auths, err = LoadTable(ctx, m.opts.Storage, authTableKey); err != nil {
		return err
	}
	// A barrier initialized before identity existed gets its mount now,
	// as Vault adds its required mounts to an older table.
	if !slices.ContainsFunc(m.mounts.List(), func(e *Entry) bool { return e.Type == "identity" }) {
		if err := m.mounts.Save(ctx, identityEntry()); err != nil {
			return err
		}
	}
	for _, me := range m.mounts.List() {
		rt, err := m.instantiate(ctx, me, false)
		if err != nil {
			return err
		}
		m.router.add(rt)
	}
	for _, me := range m.auths.List() {
		rt, err := m.instantiate(ctx, me, true)
		if err != nil {
			return err
		}
		m.router.add(rt)
	}
	return nil
}

// Teardown cleans up every mounted backend and drops the tables and the
// router. The core calls it under its state lock; it is safe after a
// partial Load or none.
func (m *Mounts) Teardown(ctx context.Context) {
	if m.router != nil {
		m.router.cleanup(ctx)
	}
	m.router, m.mounts, m.auths = nil, nil, nil
}

// Router returns the router of the current activation, nil outside one.
// Every Load makes a new Router, so comparing pointers tells activations
// apart.
func (m *Mounts) Router() *Router { return m.router }

// DestroyCubbyhole deletes the cubbyhole of the token with the given ID:
// the token store's revoke hook. Outside an activation it does nothing.
func (m *Mounts) DestroyCubbyhole(ctx context.Context, tokenID string) error {
	rt := m.cubbyholeRoute()
	if rt == nil {
		return nil
	}
	return rt.Storage.Sub(tokenID + "/").Clear(ctx)
}

// CubbyholeStorage is the cubbyhole of the token with the given ID (what
// cubbyhole/ requests of that token see), or nil outside an activation or
// when no cubbyhole is mounted.
func (m *Mounts) CubbyholeStorage(tokenID string) logical.Storage {
	rt := m.cubbyholeRoute()
	if rt == nil {
		return nil
	}
	return rt.Storage.Sub(tokenID + "/")
}

func (m *Mounts) cubbyholeRoute() *Route {
	if m.router == nil {
		return nil
	}
	for _, rt := range m.router.All() {
		if rt.IsCubby {
			return rt
		}
	}
	return nil
}

// Paths are the room's sys/ endpoints (patterns relative to sys/):
// mounts, auth, tune, remount and internal/ui/mounts.
func (m *Mounts) Paths() []*logical.Path {
	var paths []*logical.Path
	paths = append(paths, m.mountPaths()...)
	paths = append(paths, m.authPaths()...)
	paths = append(paths, m.uiPaths()...)
	return paths
}

// RootPaths are the room's sys/ paths that need sudo.
func (m *Mounts) RootPaths() []string { return []string{"auth/*", "remount"} }

// UnauthenticatedPaths are the room's sys/ paths served without a token.
func (m *Mounts) UnauthenticatedPaths() []string {
	return []string{"internal/ui/mounts", "internal/ui/mounts/*"}
}

func (m *Mounts) table(auth bool) *Table {
	if auth {
		return m.auths
	}
	return m.mounts
}

// AuthByAccessor returns the auth mount with this accessor, nil when there
// is none (or the tables are not loaded).
func (m *Mounts) AuthByAccessor(accessor string) *Entry {
	if m.auths == nil {
		return nil
	}
	for _, e := range m.auths.List() {
		if e.Accessor == accessor {
			return e
		}
	}
	return nil
}
