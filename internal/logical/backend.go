package logical

import (
	"context"
	"log/slog"
	"time"
)

// Backend is a mounted engine (secrets or auth).
type Backend interface {
	// HandleRequest serves one request. It must be safe for concurrent use.
	HandleRequest(ctx context.Context, req *Request) (*Response, error)
	// ExistenceCheck reports whether the target of a write exists, so the
	// core can tell create from update for ACLs. supported is false when the
	// path has no check (the write is then an update).
	ExistenceCheck(ctx context.Context, req *Request) (supported, exists bool, err error)
	// SpecialPaths lists paths needing special handling by the core.
	SpecialPaths() *Paths
	// Cleanup is called when the mount is disabled or the core seals.
	Cleanup(ctx context.Context)
}

// Paths lists path patterns with special treatment. A pattern ending in "*"
// matches by prefix; otherwise exactly.
type Paths struct {
	// Unauthenticated paths are served without a token (login endpoints).
	Unauthenticated []string
	// Root paths need sudo capability.
	Root []string
	// LocalStorage are storage prefixes (not API paths) whose entries
	// belong to this cluster only and must never be replicated to a
	// performance secondary (as Vault's). Strongbox has no replication
	// yet, so every entry stays local; the core records the prefixes
	// (GET sys/mounts/<path> shows them as "local_storage_paths") for the
	// replication to honour when it lands.
	LocalStorage []string
	// SealWrapStorage are storage prefixes whose entries Vault encrypts
	// with the seal as well as the barrier. Strongbox's seal wraps only the
	// root key today: entries under these prefixes are protected by the
	// barrier alone. The core records the prefixes, shows them in GET
	// sys/mounts/<path> as "seal_wrap_storage_paths" and logs at mount
	// time that they are not seal-wrapped.
	SealWrapStorage []string
}

// SystemView is what an engine may ask of the core about its mount and the
// node. Every method is cheap and safe for concurrent use; values follow
// the mount's tuning as it changes.
type SystemView interface {
	// DefaultLeaseTTL and MaxLeaseTTL are the effective TTLs for the mount
	// (the mount's tuning, else the system's).
	DefaultLeaseTTL() time.Duration
	MaxLeaseTTL() time.Duration
	// MountUUID is the mount's UUID: it names the mount's storage and
	// survives a remount.
	MountUUID() string
	// MountAccessor is the mount's accessor ("kv_1a2b3c4d",
	// "auth_userpass_…"); identity aliases are keyed by it.
	MountAccessor() string
	// LocalMount reports whether the mount was enabled with local=true
	// (never replicated to performance secondaries).
	LocalMount() bool
	// ReplicationState is the node's replication role.
	ReplicationState() ReplicationState
	// ResponseWrapData wraps data as sys/wrapping/wrap would: a new
	// single-use wrapping token living ttl whose cubbyhole holds the
	// data, returned as its wrap info (an engine hands the token out and
	// the recipient unwraps it). jwt hands the token out inside a JWT the
	// node signs (sys/wrapping/pubkey); a ttl of zero or less is a 400.
	ResponseWrapData(ctx context.Context, data map[string]any, ttl time.Duration, jwt bool) (*ResponseWrapInfo, error)
	// EntityInfo returns the identity entity with the given ID (a
	// request's EntityID; an entity merged into another answers as that
	// one), nil when there is none.
	EntityInfo(ctx context.Context, entityID string) (*Entity, error)
	// GroupsForEntity returns the groups the entity is in, directly or
	// through other groups; empty when none or no such entity.
	GroupsForEntity(ctx context.Context, entityID string) ([]*Group, error)
}

// BackendConfig is handed to a Factory at mount time.
type BackendConfig struct {
	StorageView Storage
	Logger      *slog.Logger
	System      SystemView
	// Config holds mount options (e.g. {"version": "2"} for KV).
	Config map[string]string
}

// Factory builds a backend for a mount.
type Factory func(ctx context.Context, conf *BackendConfig) (Backend, error)
