package scenarios

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/testcluster"
)

// TestFollowerReadsForwardAndRedirect: a write on the leader is readable on
// every follower, through forwarding and through a 307 to the leader.
func TestFollowerReadsForwardAndRedirect(t *testing.T) {
	c := raftCluster(t, 3)
	ctx := context.Background()
	active := c.WaitForActive(t, 10*time.Second)
	if _, err := active.Client(c.RootToken()).KVv2("secret").Put(ctx, "creds", map[string]any{"admin": "password"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes() {
		if n == active {
			continue
		}
		s, err := n.Client(c.RootToken()).KVv2("secret").Get(ctx, "creds")
		if err != nil || s.Data["admin"] != "password" {
			t.Fatalf("%s: forwarded read: %v %v", n.ID(), s, err)
		}
		req, _ := http.NewRequest("GET", n.APIAddr()+"/v1/secret/data/creds", nil)
		req.Header.Set("X-Vault-Token", c.RootToken())
		req.Header.Set("X-Vault-No-Request-Forwarding", "true")
		noFollow := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 307 || resp.Header.Get("Location") != active.APIAddr()+"/v1/secret/data/creds" {
			t.Fatalf("%s: redirect %d %q", n.ID(), resp.StatusCode, resp.Header.Get("Location"))
		}
		// The official client follows the redirect.
		cl := n.Client(c.RootToken())
		cl.AddHeader("X-Vault-No-Request-Forwarding", "true")
		if s, err := cl.KVv2("secret").Get(ctx, "creds"); err != nil || s.Data["admin"] != "password" {
			t.Fatalf("%s: read via redirect: %v %v", n.ID(), s, err)
		}
	}
}

// TestKillLeaderUnderLoad: kill -9 the leader while 8 clients write and read
// through all nodes; a new leader takes over; the old one restarts and
// rejoins. No acknowledged write is lost and the history is linearizable.
func TestKillLeaderUnderLoad(t *testing.T) {
	c := raftCluster(t, 3)
	var killed testcluster.Node
	runChecked(t, c, c.Nodes(), 8*time.Second, func() {
		leader := leaderAfter(t, c, 2*time.Second)
		if leader == nil {
			return
		}
		killed = leader
		if err := leader.Kill(); err != nil {
			t.Errorf("kill: %v", err)
		}
		time.Sleep(3 * time.Second)
		sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer scancel()
		if err := leader.Start(sctx); err != nil {
			t.Errorf("restart: %v", err)
			return
		}
		if err := c.Unseal(sctx, leader); err != nil {
			t.Errorf("unseal after restart: %v", err)
		}
	})
	if killed == nil {
		t.Fatal("no leader was killed")
	}
	c.WaitForStandbys(t, 30*time.Second)
	waitPeers(t, c, c.WaitForActive(t, 10*time.Second), 3)
}

// TestPauseLeader: SIGSTOP the leader past the election timeout; a new
// leader is elected; on SIGCONT the old leader steps down and accepts no
// write after the new leader's first commit (the checker would see it).
func TestPauseLeader(t *testing.T) {
	c := raftCluster(t, 3)
	runChecked(t, c, c.Nodes(), 10*time.Second, func() {
		leader := leaderAfter(t, c, 2*time.Second)
		if leader == nil {
			return
		}
		if err := leader.Pause(); err != nil {
			t.Errorf("pause: %v", err)
			return
		}
		time.Sleep(5 * time.Second)
		if err := leader.Resume(); err != nil {
			t.Errorf("resume: %v", err)
		}
	})
	c.WaitForStandbys(t, 30*time.Second)
}

// TestPartitionLeader: cut the leader off from both followers, then heal.
func TestPartitionLeader(t *testing.T) {
	c := raftCluster(t, 3)
	runChecked(t, c, c.Nodes(), 10*time.Second, func() {
		leader := leaderAfter(t, c, 2*time.Second)
		if leader == nil {
			return
		}
		if err := c.Isolate(leader); err != nil {
			t.Errorf("isolate: %v", err)
			return
		}
		time.Sleep(5 * time.Second)
		c.Heal()
	})
	c.WaitForStandbys(t, 30*time.Second)
}

// TestQuorumLoss: with 2 of 3 nodes killed, writes fail with an error in
// bounded time (no hang); after a restart, writes succeed and nothing
// acknowledged is lost.
func TestQuorumLoss(t *testing.T) {
	c := raftCluster(t, 3)
	ctx := context.Background()
	active := c.WaitForActive(t, 10*time.Second)
	if _, err := active.Client(c.RootToken()).KVv2("secret").Put(ctx, "before", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	// Kill the active node and one follower; one follower survives.
	var followers []testcluster.Node
	for _, n := range c.Nodes() {
		if n != active {
			followers = append(followers, n)
		}
	}
	down := []testcluster.Node{active, followers[0]}
	survivor := followers[1]
	for _, n := range down {
		if err := n.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	_, err := survivor.Client(c.RootToken()).KVv2("secret").Put(ctx, "during", map[string]any{"v": "2"})
	if err == nil {
		t.Fatal("a write succeeded without quorum")
	}
	if d := time.Since(start); d > 40*time.Second {
		t.Fatalf("a write without quorum took %s to fail", d)
	}
	// The survivor held the request while no leader existed, then said so
	// with a 5xx; it must not send the client to a dead node.
	var re *vault.ResponseError
	if !errors.As(err, &re) || re.StatusCode < 500 {
		t.Fatalf("a write without quorum failed with %v, want a 5xx", err)
	}
	t.Logf("write without quorum failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
	for _, n := range down {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := n.Start(sctx); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	c.UnsealAll(t)
	active = c.WaitForActive(t, 30*time.Second)
	cl := active.Client(c.RootToken())
	if _, err := cl.KVv2("secret").Put(ctx, "after", map[string]any{"v": "3"}); err != nil {
		t.Fatalf("write after quorum restored: %v", err)
	}
	if s, err := cl.KVv2("secret").Get(ctx, "before"); err != nil || s.Data["v"] != "1" {
		t.Fatalf("acknowledged write lost: %v %v", s, err)
	}
}

// TestFullRestart: every node down, up, unsealed: all data present.
func TestFullRestart(t *testing.T) {
	c := raftCluster(t, 3)
	rec := testcluster.NewRecorder()
	w := &testcluster.Workload{Recorder: rec, Nodes: c.Nodes(), Token: c.RootToken(), Clients: 4, Keys: 4, Duration: 3 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stats, err := w.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes() {
		if err := n.Stop(ctx); err != nil {
			t.Fatalf("stop %s: %v", n.ID(), err)
		}
	}
	for _, n := range c.Nodes() {
		if err := n.Start(ctx); err != nil {
			t.Fatalf("start %s: %v", n.ID(), err)
		}
	}
	c.UnsealAll(t)
	active := c.WaitForActive(t, 30*time.Second)
	if err := w.FinalReads(ctx, active); err != nil {
		t.Fatal(err)
	}
	report := rec.Check(t, 60*time.Second)
	t.Logf("%s; %s", stats, report)
}

// TestFiveNodesLoseTwo: 5 nodes, kill 2 at once (the leader among them):
// the other 3 keep serving.
func TestFiveNodesLoseTwo(t *testing.T) {
	c := raftCluster(t, 5)
	runChecked(t, c, c.Nodes(), 8*time.Second, func() {
		leader := leaderAfter(t, c, 2*time.Second)
		if leader == nil {
			return
		}
		var other testcluster.Node
		for _, n := range c.Nodes() {
			if n != leader {
				other = n
				break
			}
		}
		for _, n := range []testcluster.Node{leader, other} {
			if err := n.Kill(); err != nil {
				t.Errorf("kill: %v", err)
			}
		}
	})
}

// TestSealActive: sealing the active node hands active duty to another
// node; the sealed node takes no part until it is unsealed, then rejoins
// as a standby.
func TestSealActive(t *testing.T) {
	c := raftCluster(t, 3)
	ctx := context.Background()
	active := c.WaitForActive(t, 10*time.Second)
	if err := active.Client(c.RootToken()).Sys().Seal(); err != nil {
		t.Fatalf("seal: %v", err)
	}
	next := c.WaitForActive(t, 30*time.Second)
	if next == active {
		t.Fatal("the sealed node is still active")
	}
	if _, err := next.Client(c.RootToken()).KVv2("secret").Put(ctx, "after-seal", map[string]any{"v": "1"}); err != nil {
		t.Fatalf("write after sealing the active node: %v", err)
	}
	st, err := active.Client("").Sys().SealStatus()
	if err != nil || !st.Sealed {
		t.Fatalf("sealed node status: %+v %v", st, err)
	}
	uctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := c.Unseal(uctx, active); err != nil {
		t.Fatal(err)
	}
	c.WaitForStandbys(t, 30*time.Second)
	s, err := active.Client(c.RootToken()).KVv2("secret").Get(ctx, "after-seal")
	if err != nil || s.Data["v"] != "1" {
		t.Fatalf("read through the unsealed node: %v %v", s, err)
	}
}

// leaderAfter lets a workload run for d, then returns the active node; nil
// (with the test marked failed) when none answers. Safe off the test
// goroutine.
func leaderAfter(t *testing.T, c *testcluster.ProcessCluster, d time.Duration) testcluster.Node {
	time.Sleep(d)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Errorf("leader: %v", err)
		return nil
	}
	return leader
}
