package raft

import (
	"context"
	"testing"
	"time"
)

// slowTiming's heartbeat timeout is far longer than any test: a node that
// waited it out before standing for election would never lead here.
var slowTiming = &timing{
	heartbeat: time.Hour,
	election:  time.Hour,
	lease:     500 * time.Millisecond,
	commit:    5 * time.Millisecond,
}

// TestSoleVoterLeadsWithoutWaitingTheTimeout: a freshly bootstrapped
// one-node cluster, and the same node restarted, elect themselves without
// waiting out the heartbeat timeout (which `operator init` used to wait:
// 5–10 s at the default timers).
func TestSoleVoterLeadsWithoutWaitingTheTimeout(t *testing.T) {
	logger := testLogger(t)
	conf := testConfig(t.TempDir(), "solo", logger)
	conf.timing = slowTiming
	b, err := New(context.Background(), conf)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := b.Bootstrap(ctx); err != nil {
		t.Fatalf("Bootstrap with a one-hour heartbeat timeout: %v", err)
	}
	mustPut(t, b, "k", "v")
	// The nudge leaves the configured timers in place.
	if got := b.raft.ReloadableConfig().HeartbeatTimeout; got != time.Hour {
		t.Fatalf("heartbeat timeout after bootstrap = %s, want 1h", got)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	b = openNode(t, conf)
	leader, stop := b.WatchLeadership()
	defer stop()
	for lead := false; !lead; {
		select {
		case v, ok := <-leader:
			if !ok {
				t.Fatal("leadership watch closed")
			}
			lead = v
		case <-ctx.Done():
			t.Fatal("restarted one-node server did not lead again without waiting the heartbeat timeout")
		}
	}
	wantValue(t, b, "k", "v")
}

// TestNoEarlyElectionWithPeers: members of a multi-voter configuration,
// and a node with no configuration, are never nudged into an election.
func TestNoEarlyElectionWithPeers(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader := c.leader(t)
	for _, f := range c.followers(leader) {
		if f.startSoleVoterElection() {
			t.Fatalf("follower %s of a 3-voter cluster was nudged into an election", f.NodeID())
		}
	}
	fresh := openNode(t, testConfig(t.TempDir(), "fresh", testLogger(t)))
	if fresh.startSoleVoterElection() {
		t.Fatal("a node without configuration was nudged into an election")
	}
}
