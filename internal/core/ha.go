package core

import (
	"context"
	"time"

	metrics "github.com/hashicorp/go-metrics"

	"github.com/strongbox/strongbox/internal/core/ha"
	"github.com/strongbox/strongbox/internal/logical"
)

// ErrStandby means this node is an unsealed standby: the HTTP layer forwards
// the request to the active node (or redirects the client there).
var ErrStandby = logical.ErrStandby

// HAStorage is storage that elects a leader among nodes (integrated raft).
// The leader's core is active; the others are standbys.
type HAStorage = ha.Storage

// Advertisement is what the active node publishes so standbys can reach it.
type Advertisement = ha.Advertisement

// NodeEcho is what a standby tells the active node about itself.
type NodeEcho = ha.NodeEcho

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
	defer metrics.MeasureSince(metricStepDown, time.Now())
	return c.haNode.StepDown(ctx)
}

// ActiveAdvertisement returns the current active node's advertisement, or
// nil when no node is active yet (an election or a step-down under way).
// On the active node it is its own.
func (c *Core) ActiveAdvertisement(ctx context.Context) (*Advertisement, error) {
	return c.haNode.ActiveAdvertisement(ctx)
}

// RecordEcho notes a standby's heartbeat (active node only).
func (c *Core) RecordEcho(e NodeEcho) { c.haNode.RecordEcho(e) }

// LocalEcho describes this node, for its heartbeats to the active node.
func (c *Core) LocalEcho() NodeEcho { return c.haNode.LocalEcho() }

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
