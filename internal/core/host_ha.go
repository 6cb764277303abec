package core

import (
	"context"
	"time"

	"github.com/strongbox/strongbox/internal/core/ha"
)

// haHost is core as the ha room sees it.
type haHost struct{ c *Core }

var _ ha.Host = haHost{}

// State reports the sealed and standby flags under a read hold of stateLock.
func (h haHost) State() (sealed, standby bool) {
	h.c.stateLock.RLock()
	defer h.c.stateLock.RUnlock()
	return h.c.sealed, h.c.standby
}

// Exclusive runs fn under stateLock, held exclusively.
func (h haHost) Exclusive(fn func(s ha.Locked)) {
	h.c.stateLock.Lock()
	defer h.c.stateLock.Unlock()
	fn(haLocked(h))
}

// Tick runs the raft TLS upkeep once.
func (h haHost) Tick(ctx context.Context) { h.c.raftops.TLSTick(ctx) }

// FillEcho adds autopilot's facts to a heartbeat.
func (h haHost) FillEcho(e *ha.NodeEcho) { h.c.fillAutopilotEcho(e) }

// haLocked is core's state while haHost.Exclusive holds stateLock.
type haLocked struct{ c *Core }

// Sealed reports the sealed flag.
func (l haLocked) Sealed() bool { return l.c.sealed }

// Standby reports the standby flag.
func (l haLocked) Standby() bool { return l.c.standby }

// SetStandby sets the standby flag.
func (l haLocked) SetStandby(standby bool) { l.c.standby = standby }

// PostUnseal runs the active node's setup.
func (l haLocked) PostUnseal(ctx context.Context) error { return l.c.postUnseal(ctx) }

// Teardown undoes PostUnseal.
func (l haLocked) Teardown(ctx context.Context) { l.c.teardown(ctx) }

// SetActiveTime records when the node became active.
func (l haLocked) SetActiveTime(t time.Time) { l.c.activeTime = t }
