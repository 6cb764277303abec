package ha

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/physical"
)

// Storage is storage that elects a leader among nodes (integrated raft).
// The leader's core is active; the others are standbys.
type Storage interface {
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

// Barrier is the encrypted storage the advertisements are kept in.
type Barrier interface {
	// Get returns the entry at key, or nil when there is none.
	Get(ctx context.Context, key string) (*physical.Entry, error)
	// Put stores the entry; it is durable when it returns nil.
	Put(ctx context.Context, entry *physical.Entry) error
}

// Config is what New needs besides the Host.
type Config struct {
	// Storage elects the leader; nil when the storage does not (then the
	// node is always active and Start is never called).
	Storage Storage
	// Barrier holds the advertisements.
	Barrier Barrier
	Logger  *slog.Logger
	// APIAddr, ClusterAddr and Version describe this node to the others.
	APIAddr     string
	ClusterAddr string
	Version     string
}

// Node follows leadership for one core. Core builds it with New and keeps
// it for the core's lifetime.
type Node struct {
	host   Host
	st     Storage
	b      Barrier
	logger *slog.Logger
	conf   Config

	mu            sync.Mutex
	stop          context.CancelFunc
	done          chan struct{}
	stepDownUntil time.Time
	ownAdvert     *Advertisement
	echoes        map[string]NodeEcho
	// The last decoded advertisement of another node.
	peerAdvert    *Advertisement
	peerAdvertRaw []byte
}

// New builds the room for a core.
func New(host Host, conf Config) *Node {
	if conf.Logger == nil {
		conf.Logger = slog.Default()
	}
	return &Node{host: host, st: conf.Storage, b: conf.Barrier, logger: conf.Logger, conf: conf}
}

// Start runs once the barrier is unsealed on HA storage, after core set
// its standby flag: the node follows leadership from then on. Core calls
// it under the state lock; the loop takes that lock itself, later.
func (n *Node) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	n.mu.Lock()
	n.stop, n.done = cancel, done
	n.mu.Unlock()
	go func() {
		defer close(done)
		n.followLeadership(ctx)
	}()
}

// Stop ends the leadership loop and returns a function that waits for it
// to finish. Seal calls Stop and the wait before taking the state lock,
// which the loop takes itself.
func (n *Node) Stop() (wait func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stop == nil {
		return func() {}
	}
	n.stop()
	done := n.done
	n.stop, n.done = nil, nil
	return func() { <-done }
}

// followLeadership makes the core active while its node leads and a
// standby otherwise.
func (n *Node) followLeadership(ctx context.Context) {
	ch, stop := n.st.WatchLeadership()
	defer stop()
	// A check now and then covers a leadership that returns while the
	// core stepped down (a one-node cluster, a failed transfer).
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		leader := n.st.IsLeader()
		switch {
		case leader && n.isStandby() && !n.steppingDown():
			if err := n.activate(ctx); err != nil {
				n.logger.Error("could not become active; stepping down", "error", err)
				n.markStepDown()
				if terr := n.st.TransferLeadership(ctx); terr != nil {
					// Still the leader without an active core: the tick
					// below tries again once the step-down hold ends.
					n.logger.Error("leadership transfer after a failed activation failed; the cluster has no active node until this node activates or another takes over", "error", terr)
				}
			}
		case !leader && !n.isStandby():
			n.demote(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		case <-tick.C:
			n.host.Tick(ctx)
		}
	}
}

func (n *Node) isStandby() bool {
	_, standby := n.host.State()
	return standby
}

// activate runs the post-unseal setup and advertises this node as active.
func (n *Node) activate(ctx context.Context) error {
	// Every entry the previous leader committed must be applied here before
	// the tables are loaded, or a new active could serve older data.
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := n.st.ConsistentRead(rctx)
	cancel()
	if err != nil {
		return err
	}
	n.host.Exclusive(func(s Locked) {
		if s.Sealed() || !s.Standby() || !n.st.IsLeader() {
			return
		}
		if err = s.PostUnseal(ctx); err != nil {
			s.Teardown(ctx)
			return
		}
		if err = n.Advertise(ctx, s); err != nil {
			s.Teardown(ctx)
			return
		}
		s.SetStandby(false)
		n.logger.Info("became active", "node_id", n.st.NodeID())
	})
	return err
}

// demote tears the active state down; it waits for in-flight requests
// (the state lock) so nothing is acknowledged by a node that no longer
// leads.
func (n *Node) demote(ctx context.Context) {
	n.host.Exclusive(func(s Locked) {
		if s.Standby() || s.Sealed() {
			return
		}
		s.Teardown(ctx)
		s.SetStandby(true)
		n.logger.Info("became standby", "node_id", n.st.NodeID())
	})
}

// StepDown gives up active duty: in-flight requests finish first, then the
// node becomes a standby and hands raft leadership to another voter. It
// does nothing without HA storage. Core calls it without the state lock.
func (n *Node) StepDown(ctx context.Context) error {
	if n.st == nil {
		return nil
	}
	n.markStepDown()
	n.demote(ctx)
	if err := n.st.TransferLeadership(ctx); err != nil {
		// No one took over (a one-node cluster): serve again at once
		// rather than leave the cluster without an active node.
		n.EndStepDownHold()
		n.logger.Warn("leadership transfer failed; this node becomes active again", "error", err)
		return err
	}
	return nil
}

// AfterSeal is called by core's Seal under the state lock, once the core is
// sealed: the node forgets its own advertisement and, while it still
// leads, hands leadership over (a sealed node must not stay the leader of
// a cluster that then has no active node).
func (n *Node) AfterSeal(ctx context.Context) {
	n.mu.Lock()
	n.ownAdvert = nil
	n.mu.Unlock()
	if n.st != nil && n.st.IsLeader() {
		if err := n.st.TransferLeadership(ctx); err != nil {
			n.logger.Warn("sealing: leadership transfer failed", "error", err)
		}
	}
}

// stepDownHold is how long a stepped-down node stays out of the race for
// active duty, so the transfer can complete.
const stepDownHold = 10 * time.Second

func (n *Node) markStepDown() {
	n.mu.Lock()
	n.stepDownUntil = time.Now().Add(stepDownHold)
	n.mu.Unlock()
}

// EndStepDownHold ends a step-down hold early: the node may become active
// again as soon as it leads (StepDown does so when no one took over).
func (n *Node) EndStepDownHold() {
	n.mu.Lock()
	n.stepDownUntil = time.Time{}
	n.mu.Unlock()
}

func (n *Node) steppingDown() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return time.Now().Before(n.stepDownUntil)
}
