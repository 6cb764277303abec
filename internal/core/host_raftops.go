package core

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/strongbox/strongbox/internal/core/ha"

	"github.com/strongbox/strongbox/internal/cluster"
	"github.com/strongbox/strongbox/internal/core/raftops"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/snapshot"
)

// raftopsHost is the core as the raft room's Host (core/raftops): the
// state under the state lock, the pending join beside the unseal progress,
// the auto seal, snapshot installs under the state lock, the unlocked
// request phase, the forwarding advertisement and the heartbeats. The
// core's raft API further down hands each call to the room.
type raftopsHost struct{ c *Core }

var _ raftops.Host = raftopsHost{}

// stateLocked reads the state; the caller holds stateLock.
func (h raftopsHost) stateLocked() raftops.State {
	st := raftops.State{Sealed: h.c.sealed, Standby: h.c.standby, ClusterID: h.c.clusterID}
	if r := h.c.mounts.Router(); r != nil {
		st.Activation = r
	}
	return st
}

// ReadState implements raftops.Host.
func (h raftopsHost) ReadState(fn func(raftops.State)) {
	h.c.stateLock.RLock()
	defer h.c.stateLock.RUnlock()
	fn(h.stateLocked())
}

// StateLocked implements raftops.Host.
func (h raftopsHost) StateLocked() raftops.State { return h.stateLocked() }

// Initialized implements raftops.Host.
func (h raftopsHost) Initialized(ctx context.Context) (bool, error) { return h.c.Initialized(ctx) }

// SetPendingJoin implements raftops.Host.
func (h raftopsHost) SetPendingJoin(pj *raftops.PendingJoin) {
	h.c.unsealMu.Lock()
	h.c.join = pj
	h.c.unsealShares, h.c.unsealNonce = nil, ""
	h.c.unsealMu.Unlock()
}

// JoinPending implements raftops.Host.
func (h raftopsHost) JoinPending() bool {
	h.c.unsealMu.Lock()
	defer h.c.unsealMu.Unlock()
	return h.c.join != nil
}

// AutoSealType implements raftops.Host.
func (h raftopsHost) AutoSealType() (string, bool) {
	if h.c.autoSeal == nil {
		return "", false
	}
	return h.c.autoSeal.Type(), true
}

// AutoSealUnwrap implements raftops.Host.
func (h raftopsHost) AutoSealUnwrap(ctx context.Context, wrapped []byte) ([]byte, error) {
	if h.c.autoSeal == nil {
		return nil, errors.New("no auto seal configured")
	}
	return h.c.autoSeal.Unwrap(ctx, wrapped)
}

// UnsealWithRootKey implements raftops.Host.
func (h raftopsHost) UnsealWithRootKey(ctx context.Context, rootKey []byte) error {
	return h.c.unsealWithRootKey(ctx, rootKey)
}

// InstallSnapshot implements raftops.Host: it tears the active state down,
// runs install and reloads the core from the restored data.
func (h raftopsHost) InstallSnapshot(ctx context.Context, install func(context.Context) error) error {
	c := h.c
	c.stateLock.Lock()
	if err := c.activeCheckLocked(); err != nil {
		c.stateLock.Unlock()
		return err
	}
	c.teardown(ctx)
	if err := install(ctx); err != nil {
		// The node serves the old data again.
		rerr := c.resumeActive(ctx)
		c.stateLock.Unlock()
		if rerr != nil {
			c.sealAfterRestore(ctx, rerr)
		}
		return err
	}
	if err := c.reloadBarrier(ctx); err != nil {
		c.stateLock.Unlock()
		c.logger.Warn("the restored snapshot's keyring does not open with this node's root key; sealing: unseal with the snapshot's unseal keys", "error", err)
		c.sealAfterRestore(ctx, nil)
		return nil
	}
	err := c.resumeActive(ctx)
	c.stateLock.Unlock()
	if err != nil {
		c.sealAfterRestore(ctx, err)
		return fmt.Errorf("restore: the snapshot was installed but this node could not load it, and sealed: %w", err)
	}
	c.logger.Info("snapshot restored; active state reloaded")
	return nil
}

// ReloadStandby implements raftops.Host.
func (h raftopsHost) ReloadStandby(ctx context.Context) (bool, error) {
	c := h.c
	c.stateLock.Lock()
	defer c.stateLock.Unlock()
	if c.sealed || !c.standby {
		return false, nil
	}
	err := c.reloadBarrier(ctx)
	if err == nil {
		err = c.loadClusterInfo(ctx)
	}
	return true, err
}

// Seal implements raftops.Host.
func (h raftopsHost) Seal(ctx context.Context) error { return h.c.Seal(ctx) }

// WhenUnlocked implements raftops.Host.
func (h raftopsHost) WhenUnlocked(ctx context.Context, fn func(context.Context) (*logical.Response, error)) {
	whenUnlocked(ctx, fn)
}

// ForwardingAdvert implements raftops.Host.
func (h raftopsHost) ForwardingAdvert() (certPEM, keyPEM []byte) {
	adv := h.c.haNode.OwnAdvert()
	if adv == nil || h.c.Standby() {
		return nil, nil
	}
	return adv.CertPEM, adv.KeyPEM
}

// AutopilotSelf implements raftops.Host.
func (h raftopsHost) AutopilotSelf() raftops.AutopilotFollower {
	return followerOf(h.c.LocalEcho(), time.Now())
}

// AutopilotFollowers implements raftops.Host.
func (h raftopsHost) AutopilotFollowers() map[string]raftops.AutopilotFollower {
	echoes := h.c.haNode.Echoes()
	out := make(map[string]raftops.AutopilotFollower, len(echoes))
	for id, e := range echoes {
		out[id] = followerOf(e, e.LastEcho)
	}
	return out
}

func followerOf(e ha.NodeEcho, at time.Time) raftops.AutopilotFollower {
	return raftops.AutopilotFollower{
		NodeID: e.NodeID, LastHeartbeat: at, AppliedIndex: e.AppliedIndex, Term: e.Term,
		Version: e.Version, UpgradeVersion: e.UpgradeVersion, RedundancyZone: e.RedundancyZone, NonVoter: e.NonVoter,
	}
}

func (c *Core) activeCheckLocked() error {
	switch {
	case c.sealed:
		return ErrSealed
	case c.standby:
		return ErrStandby
	}
	return nil
}

// resumeActive runs the active setup again after the data changed under
// it (or a restore failed after teardown). Called under stateLock.
func (c *Core) resumeActive(ctx context.Context) error {
	err := c.loadClusterInfo(ctx)
	if err == nil {
		err = c.raftops.LoadTLS(ctx)
	}
	if err == nil {
		err = c.postUnseal(ctx)
	}
	if err == nil {
		err = c.haNode.Advertise(ctx, haLocked{c})
	}
	if err != nil {
		c.teardown(ctx)
	}
	return err
}

// sealAfterRestore seals a node whose state no longer matches its data.
func (c *Core) sealAfterRestore(ctx context.Context, cause error) {
	if cause != nil {
		c.logger.Error("reloading after a snapshot restore failed; sealing", "error", cause)
	}
	if err := c.Seal(ctx); err != nil {
		c.logger.Error("sealing after a snapshot restore", "error", err)
	}
}

// reloadBarrier replaces the barrier's keyring with the restored one. It
// opens with the root key in memory when the snapshot came from this
// cluster; under an auto seal the stored root key is unwrapped again, in
// case the snapshot carried another one the key service still opens.
// Called under stateLock; on error the barrier may be sealed and the
// caller must seal the core.
func (c *Core) reloadBarrier(ctx context.Context) error {
	err := c.barrier.ReloadKeyring(ctx)
	if err == nil || c.autoSeal == nil {
		return err
	}
	rootKey, aerr := c.autoSeal.RootKey(ctx)
	if aerr != nil {
		return errors.Join(err, aerr)
	}
	defer clear(rootKey)
	c.barrier.Seal()
	return c.barrier.Unseal(ctx, rootKey)
}

// JoinRaft asks the cluster at req.LeaderAPIAddr for a join challenge
// (raftops.Ops.JoinRaft).
func (c *Core) JoinRaft(ctx context.Context, req raftops.JoinRequest) error {
	return c.raftops.JoinRaft(ctx, req)
}

// StartRetryJoin runs the one retry_join loop in the background
// (raftops.Ops.StartRetryJoin).
func (c *Core) StartRetryJoin(ctx context.Context, targets []raftops.JoinRequest) {
	c.raftops.StartRetryJoin(ctx, targets)
}

// RetryJoin tries the targets in turn until one answers a challenge or ctx
// ends (raftops.Ops.RetryJoin).
func (c *Core) RetryJoin(ctx context.Context, targets []raftops.JoinRequest) {
	c.raftops.RetryJoin(ctx, targets)
}

// SetRaftTLSRotation sets how often the raft TLS CA is rotated (0 keeps
// the default). Call before unsealing.
func (c *Core) SetRaftTLSRotation(d time.Duration) { c.raftops.SetTLSRotation(d) }

// ClusterTLS returns the TLS provider for the cluster port.
func (c *Core) ClusterTLS() cluster.TLSProvider { return c.raftops.ClusterTLS() }

// SetClusterListener lets the core close a removed node's established
// cluster connections (raftops.Ops.SetClusterListener).
func (c *Core) SetClusterListener(l raftops.ClusterListener) { c.raftops.SetClusterListener(l) }

// ForwardingClientCertificate returns what a standby presents when it
// forwards to the active node (raftops.Ops.ForwardingClientCertificate).
func (c *Core) ForwardingClientCertificate(fallback tls.Certificate) func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return c.raftops.ForwardingClientCertificate(fallback)
}

// ConfigureSnapshots sets where restores are spooled and subscribes the
// core to the snapshots raft installs (raftops.Ops.ConfigureSnapshots).
func (c *Core) ConfigureSnapshots(spoolDir string) { c.raftops.ConfigureSnapshots(spoolDir) }

// WriteSnapshot streams a consistent snapshot of all data to w
// (raftops.Ops.WriteSnapshot).
func (c *Core) WriteSnapshot(ctx context.Context, w io.Writer) (snapshot.Meta, error) {
	return c.raftops.WriteSnapshot(ctx, w)
}

// RestoreSnapshot replaces all data, on every node, with the snapshot read
// from r (raftops.Ops.RestoreSnapshot).
func (c *Core) RestoreSnapshot(ctx context.Context, r io.Reader, force bool) error {
	return c.raftops.RestoreSnapshot(ctx, r, force)
}

// fillAutopilotEcho adds what autopilot needs to a heartbeat: raft indexes,
// redundancy zone, upgrade version (the binary's by default), suffrage.
func (c *Core) fillAutopilotEcho(e *ha.NodeEcho) {
	l, ok := c.raftops.AutopilotLocal()
	if !ok {
		return
	}
	e.AppliedIndex, e.Term = l.AppliedIndex, l.Term
	e.RedundancyZone, e.NonVoter = l.RedundancyZone, l.NonVoter
	e.UpgradeVersion = l.UpgradeVersion
}
