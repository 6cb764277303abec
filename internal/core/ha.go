package core

import (
	"context"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
)

// ErrStandby means this node is an unsealed standby: the HTTP layer forwards
// the request to the active node (or redirects the client there).
var ErrStandby = logical.ErrStandby

// HAStorage is storage that elects a leader among nodes (integrated raft).
// The leader's core is active; the others are standbys.
type HAStorage interface {
	physical.Backend
	// NodeID is this node's identity in the cluster.
	NodeID() string
	// IsLeader reports whether this node leads right now.
	IsLeader() bool
	// LeaderID returns the current leader's node id ("" when unknown).
	LeaderID() string
	// WatchLeadership delivers this node's leadership on every change; the
	// returned function stops the watch.
	WatchLeadership() (<-chan bool, func())
	// TransferLeadership hands leadership to another voter.
	TransferLeadership(ctx context.Context) error
	// ConsistentRead returns once every entry committed before the call is
	// applied locally, so a new leader never serves stale data.
	ConsistentRead(ctx context.Context) error
	// VerifyLeader returns once a quorum confirmed, after the call began,
	// that this node still leads: a leader that was paused or cut off and
	// has been replaced fails instead of serving stale data.
	VerifyLeader(ctx context.Context) error
}

// peerAdvertCache holds the last decoded advertisement of another node.
type peerAdvertCache struct {
	peerAdvert    *Advertisement
	peerAdvertRaw []byte
}

// Standby reports whether the core is an unsealed standby.
func (c *Core) Standby() bool {
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	return !c.sealed && c.standby
}

// HAEnabled reports whether the storage elects a leader.
func (c *Core) HAEnabled() bool { return c.ha != nil }

// startHA runs once the barrier is unsealed on HA storage: the node starts
// as a standby and follows leadership from then on. Called under stateLock.
func (c *Core) startHA() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	c.haStop, c.haDone = cancel, done
	c.standby = true
	go func() {
		defer close(done)
		c.followLeadership(ctx)
	}()
}

// stopHA ends the leadership loop. Called under stateLock by Seal; the loop
// takes stateLock itself, so it is told to stop and waited for outside it.
func (c *Core) stopHA() (wait func()) {
	if c.haStop == nil {
		return func() {}
	}
	c.haStop()
	done := c.haDone
	c.haStop, c.haDone = nil, nil
	return func() { <-done }
}

// followLeadership makes the core active while its node leads and a
// standby otherwise.
func (c *Core) followLeadership(ctx context.Context) {
	ch, stop := c.ha.WatchLeadership()
	defer stop()
	// A check now and then covers a leadership that returns while the
	// core stepped down (a one-node cluster, a failed transfer).
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		leader := c.ha.IsLeader()
		switch {
		case leader && c.isStandby() && !c.steppingDown():
			if err := c.activate(ctx); err != nil {
				c.logger.Error("could not become active; stepping down", "error", err)
				c.markStepDown()
				if terr := c.ha.TransferLeadership(ctx); terr != nil {
					// Still the leader without an active core: the tick
					// below tries again once the step-down hold ends.
					c.logger.Error("leadership transfer after a failed activation failed; the cluster has no active node until this node activates or another takes over", "error", terr)
				}
			}
		case !leader && !c.isStandby():
			c.demote(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		case <-tick.C:
			c.raftops.TLSTick(ctx)
		}
	}
}

func (c *Core) isStandby() bool {
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	return c.standby
}

// activate runs the post-unseal setup and advertises this node as active.
func (c *Core) activate(ctx context.Context) error {
	// Every entry the previous leader committed must be applied here before
	// the tables are loaded, or a new active could serve older data.
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := c.ha.ConsistentRead(rctx)
	cancel()
	if err != nil {
		return err
	}
	c.stateLock.Lock()
	defer c.stateLock.Unlock()
	if c.sealed || !c.standby || !c.ha.IsLeader() {
		return nil
	}
	if err := c.postUnseal(ctx); err != nil {
		c.teardown(ctx)
		return err
	}
	if err := c.advertise(ctx); err != nil {
		c.teardown(ctx)
		return err
	}
	c.standby = false
	c.logger.Info("became active", "node_id", c.ha.NodeID())
	return nil
}

// demote tears the active state down; it waits for in-flight requests
// (stateLock) so nothing is acknowledged by a node that no longer leads.
func (c *Core) demote(ctx context.Context) {
	c.stateLock.Lock()
	defer c.stateLock.Unlock()
	if c.standby || c.sealed {
		return
	}
	c.teardown(ctx)
	c.standby = true
	c.logger.Info("became standby", "node_id", c.ha.NodeID())
}

// StepDown gives up active duty: in-flight requests finish first, then the
// node becomes a standby and hands raft leadership to another voter.
func (c *Core) StepDown(ctx context.Context) error {
	if c.ha == nil {
		return nil
	}
	c.markStepDown()
	c.demote(ctx)
	if err := c.ha.TransferLeadership(ctx); err != nil {
		// No one took over (a one-node cluster): serve again at once
		// rather than leave the cluster without an active node.
		c.haMu.Lock()
		c.stepDownUntil = time.Time{}
		c.haMu.Unlock()
		c.logger.Warn("leadership transfer failed; this node becomes active again", "error", err)
		return err
	}
	return nil
}

// stepDownHold is how long a stepped-down node stays out of the race for
// active duty, so the transfer can complete.
const stepDownHold = 10 * time.Second

func (c *Core) markStepDown() {
	c.haMu.Lock()
	c.stepDownUntil = time.Now().Add(stepDownHold)
	c.haMu.Unlock()
}

func (c *Core) steppingDown() bool {
	c.haMu.Lock()
	defer c.haMu.Unlock()
	return time.Now().Before(c.stepDownUntil)
}

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
