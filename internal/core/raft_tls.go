package core

import (
	"context"
	"time"

	"github.com/strongbox/strongbox/internal/cluster"
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

// raftTLSTick runs on every tick of the leadership loop. It closes the
// cluster connections of nodes no longer in the raft configuration; every
// few seconds it picks up keyring changes and this node's certificate as the
// active node stored them. The active node rotates the CA in two steps,
// stage then promote, a few polls apart, so each node already trusts a CA
// before any node presents a certificate from it, and issues every member a
// certificate from the current CA.
func (c *Core) raftTLSTick(ctx context.Context) {
	if c.raftStorage() == nil || c.Sealed() {
		return
	}
	c.recheckCluster()
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
	t.mu.Unlock()

	k, err := c.readRaftKeyring(ctx)
	if err != nil || k == nil {
		if err != nil {
			c.logger.Error("stored raft TLS keyring is invalid", "error", err)
		}
		return
	}
	if !c.isStandby() {
		if !c.rotateRaftTLS(ctx, k, now, rotation, poll) {
			return
		}
		if err := c.ensureNodeCerts(ctx, k); err != nil {
			c.logger.Warn("issuing raft node certificates", "error", err)
		}
	}
	term, installedPEM := t.installed()
	own, err := c.readNodeCert(ctx, c.ha.NodeID())
	if err != nil {
		return
	}
	if k.Term == term && (own == nil || own.CertPEM == installedPEM) {
		return
	}
	if err := c.installRaftTLS(ctx, k); err != nil {
		c.logger.Error("installing the raft TLS keyring", "error", err)
		return
	}
	c.logger.Info("raft TLS keyring updated", "term", k.Term)
}

// rotateRaftTLS stages or promotes a CA when it is time (active node), and
// stores the keyring it changed. False if it changed k but could not store
// it: k must then not issue anything.
func (c *Core) rotateRaftTLS(ctx context.Context, k *cluster.Keyring, now time.Time, rotation, poll time.Duration) bool {
	hold := 3*poll + time.Second
	changed := false
	switch {
	case k.Next != nil && now.Sub(k.Next.CreatedAt) >= hold:
		changed = k.Promote()
	case k.Next == nil && now.Sub(k.Current.CreatedAt) >= rotation:
		if err := k.Stage(); err != nil {
			c.logger.Error("staging a new raft TLS CA", "error", err)
			return true
		}
		changed = true
	}
	if !changed {
		return true
	}
	if err := c.storeRaftKeyring(ctx, k); err != nil {
		c.logger.Warn("storing the rotated raft TLS keyring", "error", err)
		return false
	}
	c.logger.Info("raft TLS keyring rotated", "term", k.Term, "staged", k.Next != nil)
	return true
}
