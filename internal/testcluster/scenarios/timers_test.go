package scenarios

import (
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/testcluster"
)

// defaultTimersCluster is raftCluster with the product's default raft
// timers (no performance_multiplier in the storage stanza).
func defaultTimersCluster(t *testing.T) *testcluster.ProcessCluster {
	t.Helper()
	c := testcluster.NewCluster(t, testcluster.Options{Nodes: 3, Storage: "raft", Proxies: true})
	c.Init(t)
	c.UnsealAll(t)
	active := c.WaitForActive(t, 30*time.Second)
	c.WaitForStandbys(t, 30*time.Second)
	if err := active.Client(c.RootToken()).Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatalf("mount: %v", err)
	}
	waitPeers(t, c, active, 3)
	return c
}

// leadership names the active node and the moment it became active: any
// leader change, even one re-electing the same node, changes it.
func leadership(t *testing.T, c *testcluster.ProcessCluster) string {
	t.Helper()
	active := c.WaitForActive(t, 30*time.Second)
	l, err := active.Client(c.RootToken()).Sys().Leader()
	if err != nil {
		t.Fatalf("sys/leader on %s: %v", active.ID(), err)
	}
	if !l.IsSelf || l.ActiveTime.IsZero() {
		t.Fatalf("sys/leader on active %s: is_self %v, active_time %v", active.ID(), l.IsSelf, l.ActiveTime)
	}
	return active.ID() + " since " + l.ActiveTime.Format(time.RFC3339Nano)
}

// TestDefaultTimersRideOutNetworkDelay: with the default timers, 200 ms of
// delay each way on every node's cluster link (raft and forwarding), for
// several heartbeat timeouts under a checked workload, changes no leader.
func TestDefaultTimersRideOutNetworkDelay(t *testing.T) {
	c := defaultTimersCluster(t)
	before := leadership(t, c)
	runChecked(t, c, c.Nodes(), 8*time.Second, func() {
		time.Sleep(time.Second)
		for _, n := range c.Nodes() {
			n.Link().Delay(200 * time.Millisecond)
		}
		time.Sleep(6 * time.Second)
		for _, n := range c.Nodes() {
			n.Link().Delay(0)
		}
	})
	if after := leadership(t, c); after != before {
		t.Fatalf("leader changed under a 200 ms delay: %s, then %s", before, after)
	}
}

// TestDefaultTimersRideOutFollowerStall: with the default timers, a
// follower frozen for 1 s (SIGSTOP: its disk, network and timers all stall,
// a harsher fault than a stalled disk alone), three times under a checked
// workload, changes no leader: on waking it has missed heartbeats, but
// pre-vote lets it stand only if the others have lost the leader too.
func TestDefaultTimersRideOutFollowerStall(t *testing.T) {
	c := defaultTimersCluster(t)
	before := leadership(t, c)
	var follower testcluster.Node
	for _, n := range c.Nodes() {
		if before[:len(n.ID())+1] != n.ID()+" " {
			follower = n
			break
		}
	}
	runChecked(t, c, c.Nodes(), 9*time.Second, func() {
		for range 3 {
			time.Sleep(time.Second)
			if err := follower.Pause(); err != nil {
				t.Errorf("pause %s: %v", follower.ID(), err)
				return
			}
			time.Sleep(time.Second)
			if err := follower.Resume(); err != nil {
				t.Errorf("resume %s: %v", follower.ID(), err)
				return
			}
			time.Sleep(time.Second)
		}
	})
	if after := leadership(t, c); after != before {
		t.Fatalf("leader changed after %s stalled for 1 s: %s, then %s", follower.ID(), before, after)
	}
}
