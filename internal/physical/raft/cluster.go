package raft

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
)

// Peer is one server in the raft configuration.
type Peer struct {
	ID      string
	Address string
	Leader  bool // the current leader, as this node knows it
	Voter   bool // false: a non-voter (read replica)
}

// NodeID returns this node's raft ID.
func (b *Backend) NodeID() string { return b.nodeID }

// Addr returns the address peers use to reach this node's raft transport.
func (b *Backend) Addr() string { return string(b.trans.LocalAddr()) }

// Initialized reports whether this node has any raft state: it was
// bootstrapped, has joined a cluster, or holds a snapshot.
func (b *Backend) Initialized() bool {
	has, err := raft.HasExistingState(b.wal, b.wal, b.snaps)
	if err != nil {
		b.logger.Error("raft storage: inspect raft state", "error", err)
		// Claiming "uninitialized" could lead to a second bootstrap.
		return true
	}
	return has
}

// Bootstrap makes this node a one-node cluster with itself as the only
// voter, and returns once it is the leader (writes are then accepted), or
// when ctx ends. It fails with ErrAlreadyInitialized if the node has any
// raft state. A node configured as NonVoter cannot bootstrap.
func (b *Backend) Bootstrap(ctx context.Context) error {
	if err := b.checkOpen(ctx); err != nil {
		return fmt.Errorf("raft storage: bootstrap: %w", err)
	}
	if b.conf.NonVoter {
		return errors.New("raft storage: bootstrap: a node configured as non_voter cannot bootstrap a cluster")
	}
	if b.Initialized() {
		return fmt.Errorf("raft storage: bootstrap: %w", ErrAlreadyInitialized)
	}
	leader, stop := b.WatchLeadership()
	defer stop()
	cfg := raft.Configuration{Servers: []raft.Server{{
		Suffrage: raft.Voter,
		ID:       raft.ServerID(b.nodeID),
		Address:  b.trans.LocalAddr(),
	}}}
	if err := b.raft.BootstrapCluster(cfg).Error(); err != nil {
		if errors.Is(err, raft.ErrCantBootstrap) {
			return fmt.Errorf("raft storage: bootstrap: %w", ErrAlreadyInitialized)
		}
		return fmt.Errorf("raft storage: bootstrap: %w", err)
	}
	b.logger.Info("raft storage: bootstrapped a one-node cluster", "node_id", b.nodeID)
	// Left alone, a lone voter elects itself only after one (randomized, up
	// to double) heartbeat timeout; startSoleVoterElection makes it stand
	// now. The timer bounds the wait even without a deadline.
	b.startSoleVoterElection()
	timer := time.NewTimer(2*b.heartbeatTimeout + b.conf.ApplyTimeout)
	defer timer.Stop()
	for {
		select {
		case v, ok := <-leader:
			if !ok {
				return fmt.Errorf("raft storage: bootstrap: %w", ErrClosed)
			}
			if v {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("raft storage: bootstrap: cluster created, still waiting to become leader: %w", ctx.Err())
		case <-timer.C:
			return fmt.Errorf("raft storage: bootstrap: cluster created, but not leader yet: %w", ErrCommitTimeout)
		}
	}
}

// Leader returns the current leader's ID and address as this node knows
// them; both are empty when no leader is known.
func (b *Backend) Leader() (id, addr string) {
	a, i := b.raft.LeaderWithID()
	return string(i), string(a)
}

// AddPeer adds a server to the cluster as a voter or a non-voter, and
// returns once the new configuration is committed. For a server already
// present it updates the address, and voter=true promotes a non-voter
// (voter=false does not demote a voter: remove it and add it again). Leader
// only (else ErrNotLeader). A change that meets a leadership change is
// retried while this node leads again within ApplyTimeout. The new server
// then receives the log or a snapshot from the leader.
func (b *Backend) AddPeer(ctx context.Context, id, addr string, voter bool) error {
	if err := b.checkOpen(ctx); err != nil {
		return fmt.Errorf("raft storage: add peer: %w", err)
	}
	if id == "" || addr == "" {
		return errors.New("raft storage: add peer: ID and address are required")
	}
	err := b.changeMembership(ctx, func(timeout time.Duration) raft.Future {
		if voter {
			return b.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, timeout)
		}
		return b.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(addr), 0, timeout)
	})
	if err != nil {
		return fmt.Errorf("raft storage: add peer %q: %w", id, err)
	}
	b.logger.Info("raft storage: peer added", "peer_id", id, "address", addr, "voter", voter)
	return nil
}

// RemovePeer removes a server from the cluster and returns once the new
// configuration is committed. Leader only; retried as AddPeer. Removing the
// leader itself makes it step down.
func (b *Backend) RemovePeer(ctx context.Context, id string) error {
	if err := b.checkOpen(ctx); err != nil {
		return fmt.Errorf("raft storage: remove peer: %w", err)
	}
	remove := func(timeout time.Duration) raft.Future {
		return b.raft.RemoveServer(raft.ServerID(id), 0, timeout)
	}
	var err error
	if id == b.nodeID {
		// Removing itself ends this node's leadership by design: no retry.
		err = b.waitFuture(ctx, remove(b.conf.ApplyTimeout))
	} else {
		err = b.changeMembership(ctx, remove)
	}
	if err != nil {
		return fmt.Errorf("raft storage: remove peer %q: %w", id, err)
	}
	b.logger.Info("raft storage: peer removed", "peer_id", id)
	return nil
}

// Configuration returns the servers in the latest raft configuration known
// to this node (committed or not).
func (b *Backend) Configuration(ctx context.Context) ([]Peer, error) {
	if err := b.checkOpen(ctx); err != nil {
		return nil, fmt.Errorf("raft storage: configuration: %w", err)
	}
	f := b.raft.GetConfiguration()
	if err := b.waitFuture(ctx, f); err != nil {
		return nil, fmt.Errorf("raft storage: configuration: %w", err)
	}
	_, leaderID := b.raft.LeaderWithID()
	servers := f.Configuration().Servers
	peers := make([]Peer, 0, len(servers))
	for _, s := range servers {
		peers = append(peers, Peer{
			ID:      string(s.ID),
			Address: string(s.Address),
			Leader:  s.ID == leaderID,
			Voter:   s.Suffrage == raft.Voter,
		})
	}
	return peers, nil
}

// TransferLeadership hands leadership to the most up-to-date voter and
// returns once it took over (operator step-down). Leader only. While it
// runs, writes fail with ErrNotLeader.
func (b *Backend) TransferLeadership(ctx context.Context) error {
	if err := b.checkOpen(ctx); err != nil {
		return fmt.Errorf("raft storage: transfer leadership: %w", err)
	}
	if err := b.waitFuture(ctx, b.raft.LeadershipTransfer()); err != nil {
		return fmt.Errorf("raft storage: transfer leadership: %w", err)
	}
	return nil
}

// AppliedIndex returns the index of the last log entry whose effect is in
// this node's data (vault.db): reads here reflect at least that entry.
// Entries without effect (no-ops, barriers) do not move it, so it can trail
// raft's own applied index; after a user snapshot restore it is 0 until the
// next write.
func (b *Backend) AppliedIndex() uint64 { return b.fsm.applied.Load() }

// CommittedIndex returns raft's commit index as this node knows it.
func (b *Backend) CommittedIndex() uint64 { return b.raft.CommitIndex() }

// Stats returns raft's statistics (state, term, indexes, peers, …) plus
// the backend's: node_id, fsm_applied_index, fsm_entries_applied,
// fsm_entries_skipped, fsm_restores, write_entries, writes (writes over
// write_entries is the coalescing factor).
func (b *Backend) Stats() map[string]string {
	s := b.raft.Stats()
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	s["node_id"] = b.nodeID
	s["fsm_applied_index"] = u(b.fsm.applied.Load())
	s["fsm_entries_applied"] = u(b.fsm.entriesApplied.Load())
	s["fsm_entries_skipped"] = u(b.fsm.entriesSkipped.Load())
	s["fsm_restores"] = u(b.fsm.restores.Load())
	s["write_entries"] = u(b.writes.entries.Load())
	s["writes"] = u(b.writes.writes.Load())
	s["apply_timeout"] = b.conf.ApplyTimeout.String()
	s["performance_multiplier"] = strconv.Itoa(b.conf.PerformanceMultiplier) // 0: the default timers
	s["non_voter"] = strconv.FormatBool(b.conf.NonVoter)
	if err := b.fsm.failure(); err != nil {
		s["fsm_error"] = err.Error()
	}
	return s
}

// startSoleVoterElection makes a follower that is the only voter of its
// configuration stand for election now instead of after a heartbeat
// timeout: nobody else can be its leader, so waiting only delays the first
// write (a fresh `operator init`, or the unseal of a restarted one-node
// server, waited 5–10 s at the default timers).
//
// hashicorp/raft re-arms a follower's heartbeat timer to fire at once when
// the heartbeat timeout is lowered by ReloadConfig; the follower then checks,
// as on any timeout, that it has heard from no leader within the timeout
// before it stands. The timeout is put back right away (raising it does
// not re-arm anything), so the node keeps its configured timers. Nodes of a
// multi-voter configuration are never nudged: their elections still wait
// the full timeout.
func (b *Backend) startSoleVoterElection() bool {
	f := b.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return false
	}
	voters, self := 0, false
	for _, s := range f.Configuration().Servers {
		if s.Suffrage != raft.Voter {
			continue
		}
		voters++
		self = self || s.ID == raft.ServerID(b.nodeID)
	}
	if voters != 1 || !self || b.raft.State() != raft.Follower {
		return false
	}
	orig := b.raft.ReloadableConfig()
	nudge := orig
	// The timeout may not go below the leader lease (raft validates it).
	nudge.HeartbeatTimeout = max(b.leaderLease, orig.HeartbeatTimeout-time.Millisecond)
	if nudge.HeartbeatTimeout >= orig.HeartbeatTimeout {
		return false
	}
	if err := b.raft.ReloadConfig(nudge); err != nil {
		b.logger.Warn("raft storage: could not start the election early", "error", err)
		return false
	}
	if err := b.raft.ReloadConfig(orig); err != nil {
		b.logger.Error("raft storage: restore the heartbeat timeout", "error", err)
	}
	return true
}
