package expiration

import (
	"context"
	"log/slog"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// Host is what the manager needs from the core.
type Host interface {
	// RouteLease sends op (logical.RenewOperation or RevokeOperation) with
	// req.Secret = secret to the engine mounted at path (the lease's
	// request path, mount included) and returns its answer along with the
	// mount's lease TTLs (the system's where the mount sets none). It
	// returns ErrNoMount when nothing is mounted there any more. It may
	// block on the engine; it honours ctx.
	RouteLease(ctx context.Context, op logical.Operation, path string, secret *logical.Secret) (*logical.Response, logical.MountConfig, error)
	// RevokeToken revokes the token with store ID id and its children
	// (whose leases the core hands back through TokenRevoked). A token
	// that no longer exists is not an error.
	RevokeToken(ctx context.Context, id string) error
	// TokenExists reports whether the token with store ID id is still
	// stored (valid or not yet cleaned up); tidy drops the leases of
	// tokens that are gone.
	TokenExists(ctx context.Context, id string) (bool, error)
}

// Config tunes a Manager; zero values take the defaults.
type Config struct {
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Horizon is how far ahead of now the in-memory heap holds leases (10
	// minutes). Leases due later stay on disk until the loader reaches
	// their bucket.
	Horizon time.Duration
	// Workers bounds concurrent revocations (2), so expiring a flood of
	// leases (100k due at once after an outage) leaves the CPU to
	// requests; raise it when engines wait on remote systems (a database
	// dropping a user) rather than on the CPU.
	Workers int
	// MaxBacklog bounds the leases in memory while overdue ones (expired
	// while no node was active) are loaded after a restore (50,000):
	// more are loaded as those are revoked.
	MaxBacklog int
	// MaxRevokeAttempts is how many failed revocations make a lease
	// irrevocable (6).
	MaxRevokeAttempts int
	// RetryBase is the first retry delay after a failed revocation (1 s),
	// doubled each time up to RetryMax (5 minutes).
	RetryBase, RetryMax time.Duration
}

const (
	defaultHorizon     = 10 * time.Minute
	defaultWorkers     = 2
	defaultMaxBacklog  = 50_000
	defaultMaxAttempts = 6
	defaultRetryBase   = time.Second
	defaultRetryMax    = 5 * time.Minute
	// bucketWidth is the granularity of the expiry index.
	bucketWidth = time.Minute
)

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Horizon <= 0 {
		c.Horizon = defaultHorizon
	}
	if c.Workers <= 0 {
		c.Workers = defaultWorkers
	}
	if c.MaxBacklog <= 0 {
		c.MaxBacklog = defaultMaxBacklog
	}
	if c.MaxRevokeAttempts <= 0 {
		c.MaxRevokeAttempts = defaultMaxAttempts
	}
	if c.RetryBase <= 0 {
		c.RetryBase = defaultRetryBase
	}
	if c.RetryMax <= 0 {
		c.RetryMax = defaultRetryMax
	}
	return c
}
