package raft

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// Bounds of the pause between two attempts of a membership change.
const (
	membershipRetryMin = 50 * time.Millisecond
	membershipRetryMax = time.Second
)

// changeMembership runs one raft configuration change (change is handed
// the time left) and retries it while the failure is transient: this node
// lost leadership mid-change, or is between terms, or raft's leader loop was
// too busy to take the request, and it is (or becomes again) the leader
// within ApplyTimeout. A joining server or autopilot would otherwise fail on
// any election blip, which a busy machine causes. Retrying is safe because a
// configuration change states the end result (server X is a voter at A; X is
// gone): applying it twice gives the same configuration. When another node
// is the leader it returns ErrNotLeader at once, so the caller can forward.
func (b *Backend) changeMembership(ctx context.Context, change func(timeout time.Duration) raft.Future) error {
	deadline := time.Now().Add(b.conf.ApplyTimeout)
	pause := membershipRetryMin
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return ErrCommitTimeout
		}
		attemptCtx, cancel := context.WithDeadline(ctx, deadline)
		err := b.waitFuture(attemptCtx, change(left))
		cancel()
		if err == nil {
			return nil
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return ErrCommitTimeout
		}
		if !transientMembershipErr(err) {
			return err
		}
		if werr := b.awaitOwnLeadership(ctx, deadline, pause); werr != nil {
			// Both stay visible to errors.Is: the change may have been
			// committed (ErrLeadershipLost) and another node leads now.
			return fmt.Errorf("%w (then: %w)", err, werr)
		}
		b.logger.Warn("raft storage: membership change met a leadership change; retrying", "error", err)
		pause = min(2*pause, membershipRetryMax)
	}
}

// transientMembershipErr reports errors after which the same change may
// succeed on this node: leadership lost or not yet won, a leadership
// transfer under way, or raft's leader loop too busy to enqueue it.
func transientMembershipErr(err error) bool {
	return errors.Is(err, ErrLeadershipLost) || errors.Is(err, ErrNotLeader) ||
		errors.Is(err, raft.ErrEnqueueTimeout)
}

// awaitOwnLeadership waits at least pause, then until this node leads
// again. It returns ErrNotLeader as soon as another node is known to lead,
// and ErrCommitTimeout at deadline.
func (b *Backend) awaitOwnLeadership(ctx context.Context, deadline time.Time, pause time.Duration) error {
	if b.otherLeader() {
		return ErrNotLeader
	}
	timer := time.NewTimer(pause)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		case <-b.closed:
			return ErrClosed
		}
		if b.raft.State() == raft.Leader {
			return nil
		}
		if b.otherLeader() {
			return ErrNotLeader
		}
		if time.Until(deadline) <= 0 {
			return ErrCommitTimeout
		}
		timer.Reset(membershipRetryMin)
	}
}

// otherLeader reports whether this node knows of a leader other than itself.
func (b *Backend) otherLeader() bool {
	_, id := b.raft.LeaderWithID()
	return id != "" && string(id) != b.nodeID
}
