package raft

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/strongbox/strongbox/internal/physical"
)

func TestClusterReplication(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader := c.leader(t)
	ctx := context.Background()
	mustPut(t, leader, "a/one", "1")
	mustPut(t, leader, "a/two", "2")
	if err := leader.Delete(ctx, "a/one"); err != nil {
		t.Fatal(err)
	}
	if err := leader.Transaction(ctx, []*physical.TxnOp{
		{Op: physical.PutOp, Entry: &physical.Entry{Key: "b/x", Value: []byte("x")}},
		{Op: physical.PutOp, Entry: &physical.Entry{Key: "b/y", Value: []byte("y")}},
	}); err != nil {
		t.Fatal(err)
	}
	// The leader sees its acknowledged writes at once.
	wantMissing(t, leader, "a/one")
	wantValue(t, leader, "b/y", "y")
	for _, f := range c.followers(leader) {
		// Once a follower has applied what the leader has, it reads the same.
		waitFor(t, f.NodeID()+" to catch up", func() bool { return f.AppliedIndex() >= leader.AppliedIndex() })
		wantMissing(t, f, "a/one")
		wantValue(t, f, "a/two", "2")
		wantValue(t, f, "b/x", "x")
		if keys, err := f.List(ctx, ""); err != nil || !slices.Equal(keys, []string{"a/", "b/"}) {
			t.Fatalf("%s: List = %q, %v", f.NodeID(), keys, err)
		}
		// Followers refuse writes, changing nothing.
		err := f.Put(ctx, &physical.Entry{Key: "from-follower", Value: []byte("v")})
		if !errors.Is(err, ErrNotLeader) {
			t.Fatalf("%s: Put on a follower: err = %v, want ErrNotLeader", f.NodeID(), err)
		}
		if err := f.ConsistentRead(ctx); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("%s: ConsistentRead on a follower: err = %v, want ErrNotLeader", f.NodeID(), err)
		}
		if err := f.AddPeer(ctx, "x", "127.0.0.1:1", true); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("%s: AddPeer on a follower: err = %v, want ErrNotLeader", f.NodeID(), err)
		}
	}
	if err := leader.ConsistentRead(ctx); err != nil {
		t.Fatalf("ConsistentRead on the leader: %v", err)
	}
	if leader.CommittedIndex() < leader.AppliedIndex() {
		t.Fatalf("CommittedIndex %d < AppliedIndex %d", leader.CommittedIndex(), leader.AppliedIndex())
	}
	wantMissing(t, leader, "from-follower")
}

func TestLeaderFailover(t *testing.T) {
	c := newCluster(t, 3, nil)
	old := c.leader(t)
	for i := range 20 {
		mustPut(t, old, fmt.Sprintf("k%02d", i), "v")
	}
	if err := old.Close(); err != nil {
		t.Fatalf("Close leader: %v", err)
	}
	leader := c.leader(t, old)
	if leader == old {
		t.Fatal("closed node still leader")
	}
	// Every acknowledged write survived; the new leader accepts writes.
	for i := range 20 {
		wantValue(t, leader, fmt.Sprintf("k%02d", i), "v")
	}
	mustPut(t, leader, "after", "failover")
	for _, f := range c.followers(leader, old) {
		waitValue(t, f, "after", []byte("failover"))
	}

	// The old leader restarts from its directory as a follower: it keeps
	// its data, re-applies none of it, and applies only what it missed.
	i := slicesIndex(c.nodes, old)
	back := openNode(t, c.confs[i])
	c.nodes[i] = back
	waitValue(t, back, "after", []byte("failover"))
	wantValue(t, back, "k19", "v")
	// It missed two entries: the new leader's readiness entry and "after".
	// The counter moves just after the data is visible: wait for it.
	waitFor(t, "the restarted node to count what it applied", func() bool { return stat(t, back, "fsm_entries_applied") >= 2 })
	if n := stat(t, back, "fsm_entries_applied"); n != 2 {
		t.Fatalf("restarted node applied %d entries, want only the 2 it missed", n)
	}
}

func TestQuorumLoss(t *testing.T) {
	c := newCluster(t, 3, func(conf *Config) { conf.ApplyTimeout = 2 * time.Second })
	leader := c.leader(t)
	mustPut(t, leader, "before", "v")
	for _, f := range c.followers(leader) {
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Without a quorum a write fails within about ApplyTimeout: either raft
	// notices and steps down (leadership lost / not leader) or our timer fires.
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		errc <- leader.Put(context.Background(), &physical.Entry{Key: "after", Value: []byte("v")})
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrCommitTimeout) && !errors.Is(err, ErrLeadershipLost) && !errors.Is(err, ErrNotLeader) {
			t.Fatalf("write without quorum: err = %v, want ErrCommitTimeout, ErrLeadershipLost or ErrNotLeader", err)
		}
		t.Logf("write without quorum failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
	case <-time.After(waitTimeout):
		t.Fatal("write without quorum hung")
	}
	// The lone node stepped down and serves its (stale-but-committed) data.
	waitFor(t, "leader to step down", func() bool { return !leader.IsLeader() })
	if err := leader.ConsistentRead(context.Background()); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("ConsistentRead without quorum: err = %v", err)
	}
	wantValue(t, leader, "before", "v")
}

func TestConcurrentWriters(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader := c.leader(t)
	const writers, each = 16, 25
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				key := fmt.Sprintf("w%02d/k%02d", w, i)
				var err error
				if i%5 == 4 {
					err = leader.Transaction(ctx, []*physical.TxnOp{
						{Op: physical.PutOp, Entry: &physical.Entry{Key: key, Value: []byte(key)}},
						{Op: physical.DeleteOp, Entry: &physical.Entry{Key: fmt.Sprintf("w%02d/k%02d", w, i-1)}},
					})
				} else {
					err = leader.Put(ctx, &physical.Entry{Key: key, Value: []byte(key)})
				}
				if err != nil {
					t.Errorf("write %s: %v", key, err)
					return
				}
				// Read-your-write on the leader.
				if e, err := leader.Get(ctx, key); err != nil || e == nil || string(e.Value) != key {
					t.Errorf("Get(%s) after write = %v, %v", key, e, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	st := leader.Stats()
	t.Logf("%s writes in %s raft entries", st["writes"], st["write_entries"])
	want := each - each/5 // every fifth write deleted its predecessor
	for _, b := range c.nodes {
		waitFor(t, b.NodeID()+" to catch up", func() bool { return b.AppliedIndex() >= leader.AppliedIndex() })
		for w := range writers {
			keys, err := b.List(ctx, fmt.Sprintf("w%02d/", w))
			if err != nil || len(keys) != want {
				t.Fatalf("%s: writer %d has %d keys (%v), want %d", b.NodeID(), w, len(keys), err, want)
			}
		}
	}
}

// TestTransactionsAtomicOnFollowers moves a key between two names in
// transactions on the leader while a follower's readers check that they
// always see exactly one of them.
func TestTransactionsAtomicOnFollowers(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader := c.leader(t)
	ctx := context.Background()
	mustPut(t, leader, "move/left", "v")
	follower := c.followers(leader)[0]
	waitValue(t, follower, "move/left", []byte("v"))
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				keys, err := follower.List(ctx, "move/")
				if err != nil || len(keys) != 1 {
					t.Errorf("follower List(move/) = %q, %v; want exactly one key", keys, err)
					return
				}
			}
		}()
	}
	from, to := "move/left", "move/right"
	for i := 0; i < 60 && !t.Failed(); i++ {
		err := leader.Transaction(ctx, []*physical.TxnOp{
			{Op: physical.DeleteOp, Entry: &physical.Entry{Key: from}},
			{Op: physical.PutOp, Entry: &physical.Entry{Key: to, Value: []byte("v")}},
		})
		switch {
		case err == nil:
			from, to = to, from
		case errors.Is(err, ErrLeadershipLost), errors.Is(err, ErrNotLeader), errors.Is(err, ErrCommitTimeout):
			// A busy machine can cost the leader its lease mid-write; the
			// move may or may not have committed (either is atomic). Go on
			// from what the leader now holds.
			var moved []byte
			leader, moved = c.settledValue(t, to)
			if moved != nil {
				from, to = to, from
			}
		default:
			t.Errorf("Transaction %d: %v", i, err)
		}
	}
	waitFor(t, "follower to apply every move", func() bool { return follower.AppliedIndex() >= leader.AppliedIndex() })
	close(done)
	wg.Wait()
	wantValue(t, follower, "move/left", "v")
	wantMissing(t, follower, "move/right")
}

func TestMembershipAndLeadership(t *testing.T) {
	c := newCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	old := c.leader(t)
	watch, stop := old.WatchLeadership()
	defer stop()
	watch2, stop2 := old.WatchLeadership()
	if v := <-watch; !v {
		t.Fatal("leader's watch started with false")
	}
	if v := <-watch2; !v {
		t.Fatal("second watch started with false")
	}
	stop2()
	if _, ok := <-watch2; ok {
		t.Fatal("stopped watch channel still open")
	}

	if err := old.TransferLeadership(ctx); err != nil {
		t.Fatalf("TransferLeadership: %v", err)
	}
	select {
	case v := <-watch:
		if v {
			t.Fatal("watch said true after a transfer")
		}
	case <-ctx.Done():
		t.Fatal("watch never reported the lost leadership")
	}
	leader := c.leader(t)
	if leader == old {
		t.Fatal("leadership did not move")
	}
	peers, err := old.Configuration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var leaders []string
	for _, p := range peers {
		if !p.Voter {
			t.Errorf("peer %s is not a voter", p.ID)
		}
		if p.Leader {
			leaders = append(leaders, p.ID)
		}
	}
	if !slices.Equal(leaders, []string{leader.NodeID()}) {
		t.Fatalf("Configuration leaders = %v, want [%s]", leaders, leader.NodeID())
	}

	// A fourth node joins as a non-voter and receives the data.
	conf := testConfig(t.TempDir(), "reader", testLogger(t))
	reader := openNode(t, conf)
	mustPut(t, leader, "before-join", "v")
	if err := leader.AddPeer(ctx, reader.NodeID(), reader.Addr(), false); err != nil {
		t.Fatalf("AddPeer as non-voter: %v", err)
	}
	waitValue(t, reader, "before-join", []byte("v"))
	peers, _ = leader.Configuration(ctx)
	voters := 0
	for _, p := range peers {
		if p.ID == reader.NodeID() && p.Voter {
			t.Fatalf("%s joined as a voter", p.ID)
		}
		if p.Voter {
			voters++
		}
	}
	if len(peers) != 4 || voters != 3 {
		t.Fatalf("after adding a non-voter: %+v", peers)
	}
	if err := reader.Bootstrap(ctx); !errors.Is(err, ErrAlreadyInitialized) {
		t.Fatalf("Bootstrap on a joined node: err = %v, want ErrAlreadyInitialized", err)
	}

	// Remove the old leader; the rest carries on.
	if err := leader.RemovePeer(ctx, old.NodeID()); err != nil {
		t.Fatalf("RemovePeer: %v", err)
	}
	peers, _ = leader.Configuration(ctx)
	if len(peers) != 3 || slices.ContainsFunc(peers, func(p Peer) bool { return p.ID == old.NodeID() }) {
		t.Fatalf("after RemovePeer: %+v", peers)
	}
	mustPut(t, leader, "after-remove", "ok")
	waitValue(t, reader, "after-remove", []byte("ok"))
}

// countingStream is a raft.StreamLayer over plain TCP that counts dials,
// standing in for the cluster port's raft ALPN stream.
type countingStream struct {
	net.Listener
	dials atomic.Int32
}

func (s *countingStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	s.dials.Add(1)
	return net.DialTimeout("tcp", string(addr), timeout)
}

func TestCustomStreamLayer(t *testing.T) {
	logger := testLogger(t)
	var streams []*countingStream
	var nodes []*Backend
	for i := range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := &countingStream{Listener: ln}
		conf := testConfig(t.TempDir(), fmt.Sprintf("s%d", i), logger)
		conf.StreamLayer = s
		b := openNode(t, conf)
		if b.Addr() != ln.Addr().String() {
			t.Fatalf("Addr() = %q, want the stream's %q", b.Addr(), ln.Addr())
		}
		streams = append(streams, s)
		nodes = append(nodes, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := nodes[0].Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if err := nodes[0].AddPeer(ctx, nodes[1].NodeID(), nodes[1].Addr(), true); err != nil {
		t.Fatal(err)
	}
	mustPut(t, nodes[0], "over", "stream")
	waitValue(t, nodes[1], "over", []byte("stream"))
	if streams[0].dials.Load() == 0 {
		t.Fatal("the leader never dialed through its stream layer")
	}
	// Close closes the stream layer it was given.
	if err := nodes[1].Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := streams[1].Accept(); err == nil {
		t.Fatal("stream layer still accepting after Close")
	}
}

// settledValue reads key on the leader after a ConsistentRead, so that it
// sees every write committed so far, and returns that leader; it retries
// while leadership moves.
func (c *testCluster) settledValue(t *testing.T, key string) (*Backend, []byte) {
	t.Helper()
	var leader *Backend
	var entry *physical.Entry
	waitFor(t, "a consistent read of "+key, func() bool {
		for _, b := range c.nodes {
			if !b.IsLeader() || b.ConsistentRead(context.Background()) != nil {
				continue
			}
			e, err := b.Get(context.Background(), key)
			if err != nil {
				t.Fatalf("Get(%s): %v", key, err)
			}
			leader, entry = b, e
			return true
		}
		return false
	})
	if entry == nil {
		return leader, nil
	}
	return leader, entry.Value
}
