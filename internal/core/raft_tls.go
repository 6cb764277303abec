package core

import (
	"context"
	"encoding/json"
	"time"

	"github.com/strongbox/strongbox/internal/cluster"
	"github.com/strongbox/strongbox/internal/physical"
)

// DefaultRaftTLSRotation is how long a raft TLS CA issues certificates
// before the active node rotates it.
const DefaultRaftTLSRotation = 7 * 24 * time.Hour

// SetRaftTLSRotation sets how often the raft TLS CA is rotated (0 keeps
// the default). Call before unsealing.
func (c *Core) SetRaftTLSRotation(d time.Duration) {
	c.ctls.mu.Lock()
	defer c.ctls.mu.Unlock()
	c.ctls.rotation = d
}

// raftTLSTick runs on every tick of the leadership loop. Every node picks
// up keyring changes made by the active node; the active node rotates the
// CA in two steps, stage then promote, a few polls apart, so each node
// already trusts a CA before any node presents a certificate from it.
func (c *Core) raftTLSTick(ctx context.Context) {
	if c.raftStorage() == nil || c.Sealed() {
		return
	}
	t := &c.ctls
	t.mu.Lock()
	rotation := t.rotation
	if rotation <= 0 {
		rotation = DefaultRaftTLSRotation
	}
	poll := min(5*time.Second, max(rotation/4, 200*time.Millisecond))
	now := time.Now()
	if now.Sub(t.lastPoll) < poll {
		t.mu.Unlock()
		return
	}
	t.lastPoll = now
	installed := uint64(0)
	if t.keyring != nil {
		installed = t.keyring.Term
	}
	t.mu.Unlock()

	e, err := c.barrier.Get(ctx, raftTLSKey)
	if err != nil || e == nil {
		return
	}
	k, err := cluster.ParseKeyring(e.Value)
	if err != nil {
		c.logger.Error("stored raft TLS keyring is invalid", "error", err)
		return
	}
	if k.Term != installed {
		if err := c.installRaftTLS(k); err != nil {
			c.logger.Error("installing the raft TLS keyring", "error", err)
			return
		}
		c.logger.Info("raft TLS keyring updated", "term", k.Term)
	}
	if c.isStandby() {
		return
	}
	hold := 3*poll + time.Second
	changed := false
	switch {
	case k.Next != nil && now.Sub(k.Next.CreatedAt) >= hold:
		changed = k.Promote()
	case k.Next == nil && now.Sub(k.Current.CreatedAt) >= rotation:
		if err := k.Stage(); err != nil {
			c.logger.Error("staging a new raft TLS CA", "error", err)
			return
		}
		changed = true
	}
	if !changed {
		return
	}
	raw, err := json.Marshal(k)
	if err != nil {
		return
	}
	if err := c.barrier.Put(ctx, &physical.Entry{Key: raftTLSKey, Value: raw}); err != nil {
		c.logger.Warn("storing the rotated raft TLS keyring", "error", err)
		return
	}
	if err := c.installRaftTLS(k); err != nil {
		c.logger.Error("installing the raft TLS keyring", "error", err)
		return
	}
	c.logger.Info("raft TLS keyring rotated", "term", k.Term, "staged", k.Next != nil)
}
