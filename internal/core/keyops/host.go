package keyops

import (
	"context"
	"log/slog"
	"time"

	"github.com/strongbox/strongbox/internal/barrier"
	"github.com/strongbox/strongbox/internal/core/token"
	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/seal"
)

// Host is what the key operations need from core.
type Host interface {
	// RLockState takes core's state lock for reading, as every request
	// does: until RUnlockState the node neither seals, unseals nor changes
	// between active and standby. Key operations take it before their own
	// mutexes (rekey, generate-root, the upkeep round), never after.
	RLockState()
	// RUnlockState releases what RLockState took.
	RUnlockState()
	// Active returns the token store of the current active term: a seal or
	// a step-down replaces it, so it identifies the term. It returns
	// logical.ErrSealed when the node is sealed and logical.ErrStandby on a
	// standby or before the active term is set up. The caller holds the
	// state lock.
	Active() (*token.Store, error)
	// Unseal opens the barrier with rootKey and brings the node up (active,
	// or a standby under HA). check, when set, runs once the barrier is
	// open and before anything else; its error seals the barrier again and
	// is returned. An unsealed node is left as it is (nil). Unseal takes
	// the state lock for writing: the caller must not hold it.
	Unseal(ctx context.Context, rootKey []byte, check func(context.Context) error) error
}

// Config is what core hands to New: the node's storage, barrier and seals.
type Config struct {
	Physical physical.Backend
	Barrier  *barrier.Barrier
	// Shamir is the Shamir seal (the one in use when AutoSeal is nil).
	Shamir *seal.Shamir
	// AutoSeal is the auto-unseal seal, nil under Shamir; recovery keys
	// then authorize what unseal keys authorize under Shamir.
	AutoSeal *seal.AutoSeal
	// MigrationSeal is the key service of the auto seal a seal migration
	// moves away from (a seal stanza marked disabled); nil means none, or
	// Shamir.
	MigrationSeal seal.Wrapper
	Logger        *slog.Logger
	// Now is the clock of the rekey cancel grace; time.Now when nil.
	Now func() time.Time
}
