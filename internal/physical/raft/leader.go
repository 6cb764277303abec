package raft

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// leaderWatch fans raft's leadership notifications out to any number of
// subscribers. Each subscriber has a one-slot channel holding the latest
// state: a slow reader may miss a flap but never blocks raft and always
// ends up seeing the current state.
type leaderWatch struct {
	mu     sync.Mutex
	leader bool
	subs   map[uint64]chan bool
	next   uint64
	closed bool
}

func newLeaderWatch() *leaderWatch {
	return &leaderWatch{subs: make(map[uint64]chan bool)}
}

func (w *leaderWatch) set(v bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.leader = v
	for _, ch := range w.subs {
		replace(ch, v)
	}
}

// replace puts v in ch's only slot, dropping a value not yet read. Only
// callers holding w.mu send, so the slot is free after the drain.
func replace(ch chan bool, v bool) {
	select {
	case <-ch:
	default:
	}
	ch <- v
}

func (w *leaderWatch) subscribe() (<-chan bool, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := make(chan bool, 1)
	if w.closed {
		close(ch)
		return ch, func() {}
	}
	ch <- w.leader
	id := w.next
	w.next++
	w.subs[id] = ch
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if c, ok := w.subs[id]; ok {
			delete(w.subs, id)
			close(c)
		}
	}
}

// close tells subscribers the backend is gone: false, then a closed channel.
func (w *leaderWatch) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	w.leader = false
	for id, ch := range w.subs {
		replace(ch, false)
		close(ch)
		delete(w.subs, id)
	}
}

// WatchLeadership returns a channel that first carries whether this node is
// the leader now (in IsLeader's sense), then each change, and a function that stops the
// watch (closing the channel). Any number of watchers may exist. A watcher
// that reads slowly sees only the latest state (intermediate flaps are
// dropped, never queued). The channel is closed when the backend closes.
func (b *Backend) WatchLeadership() (<-chan bool, func()) {
	return b.leaders.subscribe()
}

// watchLeadership follows raft's notifications until Close. Losing
// leadership takes effect at once; winning it only once the FSM has caught
// up (becomeReady).
func (b *Backend) watchLeadership(notify <-chan bool) {
	defer b.bg.Done()
	for {
		select {
		case v := <-notify:
			b.leaderMu.Lock()
			b.leaderGen++
			gen := b.leaderGen
			if !v && b.ready.Load() {
				b.ready.Store(false)
				b.leaders.set(false)
				b.logger.Info("raft storage: lost leadership", "node_id", b.nodeID)
			}
			b.leaderMu.Unlock()
			if v {
				b.bg.Add(1)
				go b.becomeReady(gen)
			}
		case <-b.closed:
			return
		}
	}
}

// becomeReady makes a new raft leader a leader for our callers. A node that
// just won an election may not yet have applied entries its predecessor
// committed (it learns they are committed only when an entry of its own
// term commits), so reads on it could miss acknowledged writes. It commits
// an empty command and waits for the FSM to apply it, which applies
// everything before it; only then do IsLeader and watchers say true. The
// empty command also records the new term's index in vault.db.
func (b *Backend) becomeReady(gen uint64) {
	defer b.bg.Done()
	current := func() bool {
		b.leaderMu.Lock()
		defer b.leaderMu.Unlock()
		return b.leaderGen == gen
	}
	for current() {
		err := b.waitFuture(context.Background(), b.raft.Apply(newCommand(), b.conf.ApplyTimeout))
		if err == nil {
			break
		}
		if errors.Is(err, ErrClosed) || errors.Is(err, ErrNotLeader) || errors.Is(err, ErrLeadershipLost) {
			return // a later notification takes over
		}
		b.logger.Warn("raft storage: new leader cannot commit yet; retrying", "error", err)
		select {
		case <-b.closed:
			return
		case <-time.After(b.heartbeatTimeout):
		}
	}
	b.leaderMu.Lock()
	defer b.leaderMu.Unlock()
	if b.leaderGen != gen || b.raft.State() != raft.Leader {
		return
	}
	b.ready.Store(true)
	b.leaders.set(true)
	b.logger.Info("raft storage: became leader", "node_id", b.nodeID, "term", b.raft.CurrentTerm(),
		"applied_index", b.fsm.applied.Load())
}

// IsLeader reports whether this node is the raft leader and has applied
// every write committed before its term, so that it accepts writes and its
// reads see every acknowledged write. Leadership can be lost at any moment
// after it returns; writes then fail with ErrNotLeader or ErrLeadershipLost.
func (b *Backend) IsLeader() bool {
	return b.ready.Load() && b.raft.State() == raft.Leader
}

// ConsistentRead makes the next reads on this node linearizable: it returns
// once this node has confirmed, through a committed raft entry, that it is
// still the leader, and has applied every write committed before the call.
// It fails with ErrNotLeader on a follower, and with ErrCommitTimeout or
// ErrLeadershipLost when no quorum answers within ApplyTimeout. Concurrent
// callers share one raft barrier entry.
func (b *Backend) ConsistentRead(ctx context.Context) error {
	if err := b.checkOpen(ctx); err != nil {
		return fmt.Errorf("raft storage: consistent read: %w", err)
	}
	if !b.IsLeader() {
		return fmt.Errorf("raft storage: consistent read: %w", ErrNotLeader)
	}
	if err := b.barriers.do(ctx, b.barrier); err != nil {
		return fmt.Errorf("raft storage: consistent read: %w", err)
	}
	return nil
}

// VerifyLeader returns once a majority of the cluster has confirmed, after
// the call began, that this node still leads. A leader paused or cut off
// (its term over without its knowing) fails here instead of serving stale
// reads. Concurrent callers share one round of heartbeats.
func (b *Backend) VerifyLeader(ctx context.Context) error {
	if err := b.checkOpen(ctx); err != nil {
		return fmt.Errorf("raft storage: verify leader: %w", err)
	}
	if !b.IsLeader() {
		return fmt.Errorf("raft storage: verify leader: %w", ErrNotLeader)
	}
	if err := b.verifies.do(ctx, func() error {
		return b.confirmLeadership()
	}); err != nil {
		return fmt.Errorf("raft storage: verify leader: %w", err)
	}
	return nil
}

// barrier commits a raft barrier entry and waits until the FSM has applied
// everything before it.
func (b *Backend) barrier() error {
	return b.waitFuture(context.Background(), b.raft.Barrier(b.conf.ApplyTimeout))
}

// waitFuture waits for a raft future within ctx and ApplyTimeout, mapping
// raft's errors. The goroutine reading the future ends when raft resolves
// it (on completion, leadership loss or shutdown).
func (b *Backend) waitFuture(ctx context.Context, f raft.Future) error {
	errc := make(chan error, 1)
	go func() { errc <- f.Error() }()
	timer := time.NewTimer(b.conf.ApplyTimeout)
	defer timer.Stop()
	select {
	case err := <-errc:
		return mapRaftErr(err)
	case <-timer.C:
		return ErrCommitTimeout
	case <-ctx.Done():
		return ctx.Err()
	case <-b.closed:
		return ErrClosed
	}
}

// barrierGroup coalesces concurrent barriers: a caller joins the next
// barrier that starts after it arrived (so it still sees every write
// committed before its call), and one barrier serves everyone waiting.
type barrierGroup struct {
	mu      sync.Mutex
	next    *barrierRound
	running bool
}

type barrierRound struct {
	done    chan struct{}
	err     error
	waiters int // callers served by this round
}

func (g *barrierGroup) do(ctx context.Context, barrier func() error) error {
	g.mu.Lock()
	if g.next == nil {
		g.next = &barrierRound{done: make(chan struct{})}
	}
	rd := g.next
	rd.waiters++
	if !g.running {
		g.running = true
		go g.loop(barrier)
	}
	g.mu.Unlock()
	select {
	case <-rd.done:
		return rd.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *barrierGroup) loop(barrier func() error) {
	for {
		g.mu.Lock()
		rd := g.next
		g.next = nil
		if rd == nil {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		rd.err = barrier()
		close(rd.done)
	}
}
