package ha

import (
	"context"
	"time"
)

// Host is what the room needs from core. Core owns the state lock and the
// sealed and standby flags; the room reads and changes them only through
// these methods.
type Host interface {
	// State reports, under a read hold of core's state lock, whether the
	// core is sealed and whether it is a standby. The standby flag is
	// meaningful only while unsealed (core clears it when sealing).
	State() (sealed, standby bool)
	// Exclusive runs fn with core's state lock held exclusively, so that
	// every in-flight request has finished before fn starts and none
	// starts until it returns. fn reads and changes core's state through s
	// only, and must not call back into Host.
	Exclusive(fn func(s Locked))
	// Tick runs core's periodic raft upkeep (the raft TLS keyring) once; the
	// leadership loop calls it about once a second on an unsealed node,
	// active or standby, without the state lock held. It does nothing when
	// sealed or without raft storage.
	Tick(ctx context.Context)
	// FillEcho adds to a heartbeat what autopilot judges a node by (raft
	// indexes, redundancy zone, upgrade version, suffrage); it leaves e
	// unchanged without autopilot storage.
	FillEcho(e *NodeEcho)
}

// Locked is core's state as seen while Host.Exclusive holds the state lock.
type Locked interface {
	// Sealed reports whether the core is sealed.
	Sealed() bool
	// Standby reports whether the core is a standby.
	Standby() bool
	// SetStandby sets the standby flag.
	SetStandby(standby bool)
	// PostUnseal loads the tables and starts the active node's background
	// work; on error the setup may be partial and Teardown undoes it.
	PostUnseal(ctx context.Context) error
	// Teardown undoes PostUnseal; it is safe on a partial setup.
	Teardown(ctx context.Context)
	// SetActiveTime records when this node became active (sys/leader).
	SetActiveTime(t time.Time)
}
