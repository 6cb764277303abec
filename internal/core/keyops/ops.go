package keyops

import (
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/go-uuid"

	"github.com/strongbox/strongbox/internal/barrier"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/seal"
)

// Ops is one node's key operations and seal upkeep. Core builds it once,
// with New, and keeps it for the life of the node.
type Ops struct {
	host     Host
	physical physical.Backend
	barrier  *barrier.Barrier
	shamir   *seal.Shamir
	autoSeal *seal.AutoSeal
	logger   *slog.Logger
	now      func() time.Time

	// Rekey and root-generation attempts (rekey.go, generate_root.go). Each
	// mutex is taken after core's state lock; an attempt belongs to one
	// active term and is forgotten once the core seals or steps down.
	rekeyMu sync.Mutex
	rekey   *rekeyAttempt
	// recoveryRekey is the sys/rekey-recovery-key attempt (under rekeyMu).
	recoveryRekey *rekeyAttempt
	genRootMu     sync.Mutex
	genRoot       *genRootAttempt

	// work is seal migration, automatic key rotation and seal re-wrapping
	// (migrate.go, work.go, rotate.go, sealwrap.go).
	work sealWork
}

// New builds the key operations of a node.
func New(host Host, conf Config) *Ops {
	o := &Ops{
		host: host, physical: conf.Physical, barrier: conf.Barrier,
		shamir: conf.Shamir, autoSeal: conf.AutoSeal, logger: conf.Logger, now: conf.Now,
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.now == nil {
		o.now = time.Now
	}
	o.work.init(conf)
	return o
}

// Paths are the sys/ endpoints of the room, relative to the sys/ mount:
// key-status, rotate, rotate/config and sealwrap/rewrap.
func (o *Ops) Paths() []*logical.Path {
	paths := o.keyPaths()
	paths = append(paths, o.rotationPaths()...)
	return append(paths, o.sealwrapPaths()...)
}

// RootPaths are the Paths that need a sudo-capable (root) token.
func (o *Ops) RootPaths() []string {
	return []string{"rotate", "rotate/*", "sealwrap/rewrap"}
}

// sealType is the configured seal's type: "shamir" or the key service's.
func (o *Ops) sealType() string {
	if o.autoSeal != nil {
		return o.autoSeal.Type()
	}
	return o.shamir.Type()
}

func newUUID() string {
	id, err := uuid.GenerateUUID()
	if err != nil {
		panic(err) // crypto/rand never fails on Linux; a broken RNG must not go unnoticed
	}
	return id
}
