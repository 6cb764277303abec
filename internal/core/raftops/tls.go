package raftops

import (
	"context"
	"time"

	"github.com/strongbox/strongbox/internal/cluster"
)

// DefaultRaftTLSRotation is how long a raft TLS CA issues certificates
// before the active node rotates it.
const DefaultRaftTLSRotation = 7 * 24 * time.Hour

// SetTLSRotation sets how often the raft TLS CA is rotated (0 keeps the
// default). Call before unsealing.
func (o *Ops) SetTLSRotation(d time.Duration) {
	o.ctls.mu.Lock()
	defer o.ctls.mu.Unlock()
	o.ctls.rotation = d
}

// TLSTick runs on every tick of the core's leadership loop, without the
// state lock. It closes the
// cluster connections of nodes no longer in the raft configuration; every
// few seconds it picks up keyring changes and this node's certificate as the
// active node stored them. The active node rotates the CA in two steps,
// stage then promote, a few polls apart, so each node already trusts a CA
// before any node presents a certificate from it, and issues every member a
// certificate from the current CA.
func (o *Ops) TLSTick(ctx context.Context) {
	r := o.raftStorage()
	if r == nil || o.sealed() {
		return
	}
	o.recheckCluster()
	t := &o.ctls
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

	k, err := o.readRaftKeyring(ctx)
	if err != nil || k == nil {
		if err != nil {
			o.logger.Error("stored raft TLS keyring is invalid", "error", err)
		}
		return
	}
	if !o.standby() {
		if !o.rotateRaftTLS(ctx, k, now, rotation, poll) {
			return
		}
		if err := o.ensureNodeCerts(ctx, k); err != nil {
			o.logger.Warn("issuing raft node certificates", "error", err)
		}
	}
	term, installedPEM := t.installed()
	own, err := o.readNodeCert(ctx, r.NodeID())
	if err != nil {
		return
	}
	if k.Term == term && (own == nil || own.CertPEM == installedPEM) {
		return
	}
	if err := o.installRaftTLS(ctx, k); err != nil {
		o.logger.Error("installing the raft TLS keyring", "error", err)
		return
	}
	o.logger.Info("raft TLS keyring updated", "term", k.Term)
}

// rotateRaftTLS stages or promotes a CA when it is time (active node), and
// stores the keyring it changed. False if it changed k but could not store
// it: k must then not issue anything.
func (o *Ops) rotateRaftTLS(ctx context.Context, k *cluster.Keyring, now time.Time, rotation, poll time.Duration) bool {
	hold := 3*poll + time.Second
	changed := false
	switch {
	case k.Next != nil && now.Sub(k.Next.CreatedAt) >= hold:
		changed = k.Promote()
	case k.Next == nil && now.Sub(k.Current.CreatedAt) >= rotation:
		if err := k.Stage(); err != nil {
			o.logger.Error("staging a new raft TLS CA", "error", err)
			return true
		}
		changed = true
	}
	if !changed {
		return true
	}
	if err := o.storeRaftKeyring(ctx, k); err != nil {
		o.logger.Warn("storing the rotated raft TLS keyring", "error", err)
		return false
	}
	o.logger.Info("raft TLS keyring rotated", "term", k.Term, "staged", k.Next != nil)
	return true
}

// sealed reports whether the core is sealed.
func (o *Ops) sealed() (sealed bool) {
	o.host.ReadState(func(st State) { sealed = st.Sealed })
	return sealed
}

// standby reports whether the core is an unsealed standby.
func (o *Ops) standby() (standby bool) {
	o.host.ReadState(func(st State) { standby = !st.Sealed && st.Standby })
	return standby
}
