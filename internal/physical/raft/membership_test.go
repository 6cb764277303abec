package raft

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// failedFuture is a raft future that has already failed with err.
type failedFuture struct{ err error }

func (f failedFuture) Error() error { return f.err }

// TestMembershipChangeRetriesTransientErrors: a membership change that
// meets a leadership change is tried again while this node leads (on a busy
// machine the leader can lose its lease and win the next election at once),
// handed back with ErrNotLeader when another node leads, and not retried
// for any other error.
func TestMembershipChangeRetriesTransientErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()

	t.Run("leader again", func(t *testing.T) {
		b := newSingleNode(t, testLogger(t))
		for i, transient := range []error{raft.ErrLeadershipLost, raft.ErrNotLeader, raft.ErrEnqueueTimeout} {
			attempts := 0
			err := b.changeMembership(ctx, func(timeout time.Duration) raft.Future {
				attempts++
				if attempts == 1 {
					return failedFuture{transient}
				}
				return b.raft.AddNonvoter(raft.ServerID(fmt.Sprintf("replica-%d", i)), raft.ServerAddress(fmt.Sprintf("127.0.0.1:%d", i+1)), 0, timeout)
			})
			if err != nil || attempts != 2 {
				t.Fatalf("after %v: err = %v after %d attempts; want success on the second", transient, err, attempts)
			}
		}
		peers, err := b.Configuration(ctx)
		if err != nil || len(peers) != 4 {
			t.Fatalf("Configuration = %+v, %v; want the node and three replicas", peers, err)
		}
	})

	t.Run("another leader", func(t *testing.T) {
		c := newCluster(t, 3, nil)
		leader := c.leader(t)
		follower := c.followers(leader)[0]
		attempts := 0
		start := time.Now()
		err := follower.changeMembership(ctx, func(time.Duration) raft.Future {
			attempts++
			return failedFuture{raft.ErrLeadershipLost}
		})
		if !errors.Is(err, ErrNotLeader) || !errors.Is(err, ErrLeadershipLost) || attempts != 1 {
			t.Fatalf("err = %v after %d attempts; want ErrLeadershipLost then ErrNotLeader, once", err, attempts)
		}
		if waited := time.Since(start); waited > waitTimeout/2 {
			t.Fatalf("returned after %s: a node that knows another leader must not wait out the timeout", waited)
		}
		// The public call from a follower is refused the same way.
		if err := follower.AddPeer(ctx, "x", "127.0.0.1:1", true); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("AddPeer on a follower: %v, want ErrNotLeader", err)
		}
	})

	t.Run("lasting error", func(t *testing.T) {
		b := newSingleNode(t, testLogger(t))
		boom := errors.New("boom")
		attempts := 0
		err := b.changeMembership(ctx, func(time.Duration) raft.Future {
			attempts++
			return failedFuture{boom}
		})
		if !errors.Is(err, boom) || attempts != 1 {
			t.Fatalf("err = %v after %d attempts; want boom, once", err, attempts)
		}
	})
}
