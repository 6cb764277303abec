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
}

// SystemView is what an engine may ask of the core.
type SystemView interface {
	// DefaultLeaseTTL and MaxLeaseTTL are the effective TTLs for the mount.
	DefaultLeaseTTL() time.Duration
	MaxLeaseTTL() time.Duration
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
