package raft

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

// echoBoard plays the core's part for in-process nodes: the heartbeats
// every node sends to the active one, and the persisted configuration.
type echoBoard struct {
	mu      sync.Mutex
	reports map[string]FollowerReport
	conf    AutopilotConfig
	records []byte
	saves   int
}

// pilotApp is one node's application: active whenever the node leads
// (like the core, which activates on raft leadership).
type pilotApp struct {
	board *echoBoard
	self  func() FollowerReport
	// inactive makes the node's "core" refuse to be active.
	inactive bool
	mu       sync.Mutex
}

func (a *pilotApp) AutopilotActive() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.inactive
}

func (a *pilotApp) setInactive(v bool) {
	a.mu.Lock()
	a.inactive = v
	a.mu.Unlock()
}

func (a *pilotApp) LoadAutopilot(context.Context) (AutopilotConfig, []byte, error) {
	a.board.mu.Lock()
	defer a.board.mu.Unlock()
	return a.board.conf, slices.Clone(a.board.records), nil
}

func (a *pilotApp) SaveAutopilotServers(_ context.Context, records []byte) error {
	a.board.mu.Lock()
	defer a.board.mu.Unlock()
	a.board.records = slices.Clone(records)
	a.board.saves++
	return nil
}

func (a *pilotApp) AutopilotSelf() FollowerReport { return a.self() }

func (a *pilotApp) AutopilotFollowers() map[string]FollowerReport {
	a.board.mu.Lock()
	defer a.board.mu.Unlock()
	out := make(map[string]FollowerReport, len(a.board.reports))
	for id, r := range a.board.reports {
		out[id] = r
	}
	return out
}

// pilotNode is one in-process node with its autopilot and heartbeat pump.
type pilotNode struct {
	b        *Backend
	p        *Autopilot
	app      *pilotApp
	zone     string
	ver      string
	nonVoter bool
	stop     chan struct{}
	once     sync.Once
	pumps    sync.WaitGroup
}

func (n *pilotNode) report() FollowerReport {
	l := n.b.AutopilotLocal()
	return FollowerReport{
		NodeID: n.b.NodeID(), LastHeartbeat: time.Now(), AppliedIndex: l.AppliedIndex, Term: l.Term,
		Version: "1.0.0", UpgradeVersion: n.ver, RedundancyZone: l.RedundancyZone, NonVoter: l.NonVoter,
	}
}

// kill stops the node's heartbeats and closes it, as kill -9 would.
func (n *pilotNode) kill(t *testing.T) {
	t.Helper()
	n.once.Do(func() { close(n.stop) })
	n.pumps.Wait()
	if err := n.b.Close(); err != nil {
		t.Fatalf("close %s: %v", n.b.NodeID(), err)
	}
	<-n.p.done
}

type pilotSpec struct {
	zone, version string
	nonVoter      bool
}

type pilotCluster struct {
	board  *echoBoard
	nodes  []*pilotNode
	logger *slog.Logger
}

// fastPilot is a configuration scaled for in-process tests.
func fastPilot() AutopilotConfig {
	c := DefaultAutopilotConfig()
	c.LastContactThreshold = time.Second
	c.ServerStabilizationTime = 500 * time.Millisecond
	return c
}

// newPilotCluster opens the nodes, bootstraps the first and joins the
// others through its autopilot (voters start as non-voters).
func newPilotCluster(t *testing.T, conf AutopilotConfig, specs ...pilotSpec) *pilotCluster {
	t.Helper()
	c := &pilotCluster{board: &echoBoard{reports: map[string]FollowerReport{}, conf: conf}}
	first := c.open(t, specs[0])
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := first.b.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	c.start(first)
	waitFor(t, "autopilot running on node0", first.p.Running)
	for _, s := range specs[1:] {
		c.add(t, s)
	}
	return c
}

// open opens the next node.
func (c *pilotCluster) open(t *testing.T, s pilotSpec) *pilotNode {
	t.Helper()
	if c.logger == nil {
		c.logger = testLogger(t)
	}
	cfg := testConfig(t.TempDir(), fmt.Sprintf("node%d", len(c.nodes)), c.logger)
	cfg.AutopilotRedundancyZone = s.zone
	cfg.AutopilotUpgradeVersion = s.version
	cfg.NonVoter = s.nonVoter
	cfg.AutopilotReconcileInterval = 100 * time.Millisecond
	cfg.AutopilotUpdateInterval = 100 * time.Millisecond
	b := openNode(t, cfg)
	n := &pilotNode{b: b, p: NewAutopilot(b), zone: s.zone, ver: s.version, nonVoter: s.nonVoter, stop: make(chan struct{})}
	n.app = &pilotApp{board: c.board, self: n.report}
	c.nodes = append(c.nodes, n)
	t.Cleanup(func() {
		n.once.Do(func() { close(n.stop) })
		n.pumps.Wait()
	})
	return n
}

// start enables the node's autopilot and starts its heartbeats.
func (c *pilotCluster) start(n *pilotNode) {
	n.p.Enable(n.app)
	n.pumps.Add(1)
	go c.pump(n)
}

// add opens a node and joins it through the leader's autopilot.
func (c *pilotCluster) add(t *testing.T, s pilotSpec) *pilotNode {
	t.Helper()
	n := c.open(t, s)
	c.start(n)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := c.leader(t).p.AddServer(ctx, n.b.NodeID(), n.b.Addr(), s.nonVoter); err != nil {
		t.Fatalf("AddServer(%s): %v", n.b.NodeID(), err)
	}
	return n
}

// pump sends n's heartbeat to the board every 50ms until n is stopped.
func (c *pilotCluster) pump(n *pilotNode) {
	defer n.pumps.Done()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-tick.C:
		}
		if n.b.IsLeader() {
			continue // the active node does not echo to itself
		}
		r := n.report()
		c.board.mu.Lock()
		c.board.reports[r.NodeID] = r
		c.board.mu.Unlock()
	}
}

func (c *pilotCluster) node(id string) *pilotNode {
	for _, n := range c.nodes {
		if n.b.NodeID() == id {
			return n
		}
	}
	return nil
}

// leader returns the live node running autopilot.
func (c *pilotCluster) leader(t *testing.T) *pilotNode {
	t.Helper()
	var found *pilotNode
	waitFor(t, "a leader running autopilot", func() bool {
		for _, n := range c.nodes {
			if n.p.Running() && n.b.IsLeader() {
				found = n
				return true
			}
		}
		return false
	})
	return found
}

// suffrage maps node id to voter (true) or not, from the configuration.
func suffrage(t *testing.T, b *Backend) map[string]bool {
	t.Helper()
	peers, err := b.Configuration(context.Background())
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, p := range peers {
		out[p.ID] = p.Voter
	}
	return out
}

// waitSuffrage waits until the leader's configuration is exactly want.
func (c *pilotCluster) waitSuffrage(t *testing.T, what string, want map[string]bool) {
	t.Helper()
	var last map[string]bool
	deadline := time.Now().Add(waitTimeout)
	for {
		l := c.leader(t)
		last = suffrage(t, l.b)
		if fmt.Sprint(last) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: configuration %v, want %v", what, last, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAutopilotStabilizesNewVoters(t *testing.T) {
	c := newPilotCluster(t, fastPilot(), pilotSpec{}, pilotSpec{}, pilotSpec{}, pilotSpec{nonVoter: true})
	leader := c.nodes[0]
	// Added as non-voters, the voters are promoted once stable; the read
	// replica never is.
	c.waitSuffrage(t, "voters promoted", map[string]bool{"node0": true, "node1": true, "node2": true, "node3": false})
	waitFor(t, "a healthy state", func() bool {
		st := leader.p.State()
		return st != nil && st.Healthy && st.FailureTolerance == 1 && len(st.Servers) == 4
	})
	st := leader.p.State()
	if st.Leader != "node0" || !slices.Equal(st.Voters, []string{"node0", "node1", "node2"}) || !slices.Equal(st.NonVoters, []string{"node3"}) {
		t.Fatalf("state leader %q voters %v non-voters %v", st.Leader, st.Voters, st.NonVoters)
	}
	if s := st.Servers["node3"]; s.NodeType != NodeTypeReadReplica || s.Status != "non-voter" || s.NodeStatus != "alive" {
		t.Fatalf("read replica %+v", s)
	}
	if s := st.Servers["node0"]; s.Status != "leader" || s.NodeType != NodeTypeVoter || s.LastContact != "0s" || s.LastIndex == 0 {
		t.Fatalf("leader %+v", s)
	}
	// Server records are persisted for the next active node.
	waitFor(t, "server records saved", func() bool {
		c.board.mu.Lock()
		defer c.board.mu.Unlock()
		var recs map[string]serverRecord
		return json.Unmarshal(c.board.records, &recs) == nil && len(recs) == 4 && recs["node3"].JoinedNonVoter
	})
	// Many reconcile rounds later the replica is still a non-voter.
	time.Sleep(10 * 100 * time.Millisecond)
	if s := suffrage(t, leader.b); s["node3"] {
		t.Fatal("a read replica was promoted")
	}
}

func TestAutopilotFollowsTheApplication(t *testing.T) {
	c := newPilotCluster(t, fastPilot(), pilotSpec{}, pilotSpec{})
	leader := c.nodes[0]
	c.waitSuffrage(t, "node1 promoted", map[string]bool{"node0": true, "node1": true})
	// The core stepping down (inactive) stops autopilot though raft leads.
	leader.app.setInactive(true)
	waitFor(t, "autopilot stopped", func() bool { return !leader.p.Running() && leader.p.State() == nil })
	leader.app.setInactive(false)
	waitFor(t, "autopilot restarted", leader.p.Running)
	// A configuration change reaches the running autopilot.
	conf := fastPilot()
	conf.MaxTrailingLogs = 7
	leader.p.SetConfig(conf)
	if got := leader.p.Config(); got.MaxTrailingLogs != 7 {
		t.Fatalf("config %+v", got)
	}
	// Followers never run autopilot.
	if c.nodes[1].p.Running() || c.nodes[1].p.State() != nil {
		t.Fatal("autopilot runs on a follower")
	}
}

func TestAutopilotZoneFailover(t *testing.T) {
	specs := []pilotSpec{{zone: "a"}, {zone: "a"}, {zone: "b"}, {zone: "b"}, {zone: "c"}, {zone: "c"}}
	c := newPilotCluster(t, fastPilot(), specs...)
	leader := c.nodes[0]
	oneVoterPerZone := func() (map[string]string, bool) {
		st := leader.p.State()
		if st == nil || len(st.RedundancyZones) != 3 {
			return nil, false
		}
		voters := map[string]string{}
		for name, z := range st.RedundancyZones {
			if len(z.Voters) != 1 || len(z.Servers) != 2 {
				return nil, false
			}
			voters[name] = z.Voters[0]
		}
		return voters, st.Healthy && st.FailureTolerance == 1 && st.OptimisticFailureTolerance == 4
	}
	var voters map[string]string
	waitFor(t, "one healthy voter per zone", func() bool {
		var ok bool
		voters, ok = oneVoterPerZone()
		return ok
	})
	// Kill zone b's voter: its partner takes its place.
	victim := c.node(voters["b"])
	partner := c.node("node2")
	if victim == partner {
		partner = c.node("node3")
	}
	start := time.Now()
	victim.kill(t)
	waitFor(t, "zone b's standby promoted", func() bool { return suffrage(t, leader.b)[partner.b.NodeID()] })
	t.Logf("zone voter death → partner promotion: %s", time.Since(start).Round(time.Millisecond))
	waitFor(t, "the dead voter demoted and tolerance back", func() bool {
		st := leader.p.State()
		return st != nil && !suffrage(t, leader.b)[victim.b.NodeID()] && st.FailureTolerance == 1 &&
			st.Servers[victim.b.NodeID()].NodeType == NodeTypeZoneStandby
	})
	mustPut(t, leader.b, "after/zone-failover", "ok")
}

func TestAutopilotDeadServerCleanup(t *testing.T) {
	conf := fastPilot()
	conf.CleanupDeadServers = true
	conf.MinQuorum = 3
	conf.DeadServerLastContactThreshold = 2 * time.Second
	c := newPilotCluster(t, conf, pilotSpec{}, pilotSpec{}, pilotSpec{}, pilotSpec{})
	leader := c.nodes[0]
	c.waitSuffrage(t, "four voters", map[string]bool{"node0": true, "node1": true, "node2": true, "node3": true})
	// Four potential voters, min_quorum 3: one dead server may go.
	c.node("node3").kill(t)
	c.waitSuffrage(t, "node3 removed", map[string]bool{"node0": true, "node1": true, "node2": true})
	// Three left: removing another would go under min_quorum.
	c.node("node2").kill(t)
	waitFor(t, "node2 reported left", func() bool {
		st := leader.p.State()
		return st != nil && st.Servers["node2"] != nil && st.Servers["node2"].NodeStatus == "left"
	})
	time.Sleep(10 * 100 * time.Millisecond) // ten reconcile rounds
	if s := suffrage(t, leader.b); len(s) != 3 || !s["node2"] {
		t.Fatalf("configuration %v: node2 must stay (min_quorum 3)", s)
	}
	mustPut(t, leader.b, "after/cleanup", "ok")
}

func TestAutopilotAutomatedUpgrade(t *testing.T) {
	old, next := pilotSpec{version: "1.0.0"}, pilotSpec{version: "1.1.0"}
	c := newPilotCluster(t, fastPilot(), old, old, old)
	c.waitSuffrage(t, "three old voters", map[string]bool{"node0": true, "node1": true, "node2": true})
	leader := c.nodes[0]
	c.add(t, next)
	c.add(t, next)
	waitFor(t, "await-new-voters", func() bool {
		st := leader.p.State()
		return st != nil && st.Upgrade != nil && st.Upgrade.Status == UpgradeAwaitNewVoters &&
			st.Upgrade.TargetVersion == "1.1.0" && slices.Equal(st.Upgrade.TargetVersionNonVoters, []string{"node3", "node4"}) &&
			st.Servers["node3"].Healthy && st.Servers["node4"].Healthy
	})
	time.Sleep(5 * 100 * time.Millisecond) // five reconcile rounds
	if s := suffrage(t, leader.b); s["node3"] || s["node4"] {
		t.Fatalf("configuration %v: too few new servers to promote", s)
	}
	// A third new server makes them as many as the old voters: they take
	// over, the old ones are demoted, leadership moves to a new server.
	c.add(t, next)
	c.waitSuffrage(t, "new voters, old non-voters", map[string]bool{
		"node0": false, "node1": false, "node2": false, "node3": true, "node4": true, "node5": true,
	})
	l := c.leader(t)
	if l.ver != "1.1.0" {
		t.Fatalf("leader %s runs %s", l.b.NodeID(), l.ver)
	}
	waitFor(t, "await-server-removal", func() bool {
		st := l.p.State()
		return st != nil && st.Upgrade.Status == UpgradeAwaitServerRemoval &&
			slices.Equal(st.Upgrade.OtherVersionNonVoters, []string{"node0", "node1", "node2"})
	})
	mustPut(t, l.b, "after/upgrade", "ok")
}
