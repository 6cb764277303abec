package core

import (
	"context"
	"time"

	"github.com/strongbox/strongbox/internal/core/diag"
	"github.com/strongbox/strongbox/internal/core/ha"
	"github.com/strongbox/strongbox/internal/logical"
)

// ErrStandby means this node is an unsealed standby: the HTTP layer forwards
// the request to the active node (or redirects the client there).
var ErrStandby = logical.ErrStandby

// Standby reports whether the core is an unsealed standby.
func (c *Core) Standby() bool {
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	return !c.sealed && c.standby
}

// HAEnabled reports whether the storage elects a leader.
func (c *Core) HAEnabled() bool { return c.ha != nil }

// StepDown gives up active duty: in-flight requests finish first, then the
// node becomes a standby and hands raft leadership to another voter.
func (c *Core) StepDown(ctx context.Context) error {
	defer diag.Measure(diag.MetricStepDown, time.Now())
	return c.haNode.StepDown(ctx)
}

// ActiveAdvertisement returns the current active node's advertisement, or
// nil when no node is active yet (an election or a step-down under way).
// On the active node it is its own.
func (c *Core) ActiveAdvertisement(ctx context.Context) (*ha.Advertisement, error) {
	return c.haNode.ActiveAdvertisement(ctx)
}

// RecordEcho notes a standby's heartbeat (active node only).
func (c *Core) RecordEcho(e ha.NodeEcho) { c.haNode.RecordEcho(e) }

// LocalEcho describes this node, for its heartbeats to the active node.
func (c *Core) LocalEcho() ha.NodeEcho { return c.haNode.LocalEcho() }

// raftIndexer is implemented by raft storage.
type raftIndexer interface {
	CommittedIndex() uint64
	AppliedIndex() uint64
}

// RaftIndexes reports raft's committed and applied indexes (zeros without
// raft storage), for sys/leader.
func (c *Core) RaftIndexes() (committed, applied uint64) {
	if r, ok := c.physical.(raftIndexer); ok {
		return r.CommittedIndex(), r.AppliedIndex()
	}
	return 0, 0
}
