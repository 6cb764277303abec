package scenarios

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/testcluster"
)

// autopilotStorage makes autopilot react within a second or two (the
// product reconciles every 2s).
const autopilotStorage = "performance_multiplier = 1\n" +
	"autopilot_reconcile_interval = \"500ms\"\n" +
	"autopilot_update_interval = \"500ms\"\n"

// testAutopilotConfig: small thresholds so the scenarios take seconds. A
// standby's heartbeat comes every 2s, so a healthy one is never 4s silent.
var testAutopilotConfig = map[string]any{
	"server_stabilization_time": "2s",
	"last_contact_threshold":    "4s",
}

// autopilotCluster starts n raft nodes, gives node i the storage lines
// perNode(i) (its zone, upgrade version, suffrage), leaves the nodes not in
// running stopped, then initializes, unseals, configures autopilot and
// mounts KV v2 at secret/ through the running ones.
func autopilotCluster(t *testing.T, n int, perNode func(i int) string, running []int, conf map[string]any) *testcluster.ProcessCluster {
	t.Helper()
	c := testcluster.NewCluster(t, testcluster.Options{Nodes: n, Storage: "raft", Proxies: true, StorageConfig: autopilotStorage})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// NewCluster started every node with the shared configuration. They
	// are not initialized yet: stop them, add each one's own lines, and
	// start those meant to run.
	for i, node := range c.ProcessNodes() {
		if err := node.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		extra := strings.TrimSpace(perNode(i))
		if extra == "" {
			continue
		}
		raw, err := os.ReadFile(node.ConfigPath())
		if err != nil {
			t.Fatal(err)
		}
		const stanza = "storage \"raft\" {\n"
		if !strings.Contains(string(raw), stanza) {
			t.Fatalf("%s: no raft stanza in\n%s", node.ID(), raw)
		}
		edited := strings.Replace(string(raw), stanza, stanza+"  "+extra+"\n", 1)
		if err := os.WriteFile(node.ConfigPath(), []byte(edited), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range running {
		if err := c.Nodes()[i].Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	c.Init(t)
	c.UnsealAll(t)
	active := c.WaitForActive(t, 30*time.Second)
	if _, err := active.Client(c.RootToken()).Logical().Write("sys/storage/raft/autopilot/configuration", conf); err != nil {
		t.Fatalf("autopilot configuration: %v", err)
	}
	if err := active.Client(c.RootToken()).Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatalf("mount: %v", err)
	}
	return c
}

// pilotState waits until the active node's autopilot state satisfies ok.
func pilotState(t *testing.T, c *testcluster.ProcessCluster, what string, timeout time.Duration, ok func(*vault.AutopilotState) bool) *vault.AutopilotState {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last *vault.AutopilotState
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		leader, err := c.Leader(ctx)
		cancel()
		if err == nil {
			var st *vault.AutopilotState
			st, err = leader.Client(c.RootToken()).Sys().RaftAutopilotState()
			if err == nil && st != nil {
				last = st
				if ok(st) {
					return st
				}
			}
		}
		if err != nil {
			lastErr = err
		}
		if time.Now().After(deadline) {
			t.Fatalf("autopilot state never showed %s within %s; last: %v (error %v)", what, timeout, last, lastErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// suffrage reads the raft configuration through the active node: node id
// → voter.
func suffrage(t *testing.T, c *testcluster.ProcessCluster) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		leader, err := c.Leader(ctx)
		if err == nil {
			s, err := leader.Client(c.RootToken()).Logical().Read("sys/storage/raft/configuration")
			if err == nil && s != nil {
				out := map[string]bool{}
				cfg, _ := s.Data["config"].(map[string]any)
				servers, _ := cfg["servers"].([]any)
				for _, srv := range servers {
					m, _ := srv.(map[string]any)
					id, _ := m["node_id"].(string)
					out[id] = m["voter"] == true
				}
				return out
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("raft configuration unreadable: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func voterSet(st *vault.AutopilotState) []string {
	v := slices.Clone(st.Voters)
	sort.Strings(v)
	return v
}

func mustWrite(t *testing.T, c *testcluster.ProcessCluster, key string) {
	t.Helper()
	active := c.WaitForActive(t, 30*time.Second)
	if _, err := active.Client(c.RootToken()).KVv2("secret").Put(context.Background(), key, map[string]any{"v": "1"}); err != nil {
		t.Fatalf("write %s: %v", key, err)
	}
}

// TestAutopilotRedundancyZones: six nodes in three zones keep one voter per
// zone. Killing a zone voter, then the leader, promotes each one's zone
// partner; failure tolerance comes back; writes go on (history checked).
func TestAutopilotRedundancyZones(t *testing.T) {
	zone := func(i int) string { return fmt.Sprintf("zone-%c", 'a'+i/2) }
	c := autopilotCluster(t, 6, func(i int) string { return fmt.Sprintf("autopilot_redundancy_zone = %q", zone(i)) },
		[]int{0, 1, 2, 3, 4, 5}, testAutopilotConfig)
	// One voter per zone, all three in good health (a dead standby may
	// linger: there is no dead server cleanup here).
	oneVoterPerZone := func(st *vault.AutopilotState) bool {
		if len(st.RedundancyZones) != 3 || len(st.Voters) != 3 || st.FailureTolerance != 1 {
			return false
		}
		for _, z := range st.RedundancyZones {
			if len(z.Voters) != 1 || len(z.Servers) != 2 {
				return false
			}
		}
		return true
	}
	st := pilotState(t, c, "one healthy voter per zone", 90*time.Second, func(st *vault.AutopilotState) bool {
		return oneVoterPerZone(st) && st.Healthy && st.OptimisticFailureTolerance == 4
	})
	for id, s := range st.Servers {
		want := "zone-standby"
		if slices.Contains(st.Voters, id) {
			want = "zone-voter"
		}
		if s.NodeType != want || s.RedundancyZone != zone(int(id[len(id)-1]-'0')) {
			t.Fatalf("%s: node type %q zone %q", id, s.NodeType, s.RedundancyZone)
		}
	}

	// killAndReplace kills a voter (the leader or not) while clients write
	// and read, and waits for its zone partner to be promoted.
	killAndReplace := func(leader bool) {
		before := pilotState(t, c, "one voter per zone", 60*time.Second, oneVoterPerZone)
		var victim string
		for _, v := range before.Voters {
			if (v == before.Leader) == leader {
				victim = v
				break
			}
		}
		zoneName := before.Servers[victim].RedundancyZone
		partner := ""
		for _, id := range before.RedundancyZones[zoneName].Servers {
			if id != victim {
				partner = id
			}
		}
		var live []testcluster.Node
		for _, n := range c.Nodes() {
			if n.State() == testcluster.Running && n.ID() != victim {
				live = append(live, n)
			}
		}
		runChecked(t, c, live, 15*time.Second, func() {
			time.Sleep(2 * time.Second)
			var node testcluster.Node
			for _, n := range c.Nodes() {
				if n.ID() == victim {
					node = n
				}
			}
			start := time.Now()
			if err := node.Kill(); err != nil {
				t.Fatal(err)
			}
			pilotState(t, c, partner+" promoted", 60*time.Second, func(st *vault.AutopilotState) bool {
				s := st.Servers[partner]
				return s != nil && s.Status != "non-voter" && slices.Contains(st.Voters, partner)
			})
			what := "voter"
			if leader {
				what = "leader"
			}
			t.Logf("autopilot: %s %s killed → zone partner %s promoted after %s", what, victim, partner, time.Since(start).Round(time.Millisecond))
		})
		after := pilotState(t, c, "failure tolerance back", 60*time.Second, func(st *vault.AutopilotState) bool {
			return st.FailureTolerance == 1 && len(st.Voters) == 3 && !slices.Contains(st.Voters, victim) &&
				st.RedundancyZones[zoneName].Voters[0] == partner
		})
		if s := after.Servers[victim]; s == nil || s.Healthy || s.NodeType != "zone-standby" {
			t.Fatalf("dead %s: %+v", victim, s)
		}
		mustWrite(t, c, "after-"+victim)
	}
	killAndReplace(false)
	killAndReplace(true)
	// Two zones lost a server (failure tolerance 0), the third has 1. Four
	// healthy servers over a quorum of 2: two could still fail in turn.
	st = pilotState(t, c, "zone tolerances", 30*time.Second, func(st *vault.AutopilotState) bool {
		n := 0
		for _, z := range st.RedundancyZones {
			n += z.FailureTolerance
		}
		return n == 1 && st.OptimisticFailureTolerance == 2
	})
	t.Logf("final state: voters %v, leader %s", voterSet(st), st.Leader)
}

// TestAutopilotDeadServerCleanupAndNonVoters: five nodes, one of them a
// read replica (retry_join_as_non_voter). With cleanup on and min_quorum 3,
// a dead voter is removed after the threshold; a second one is not (it
// would leave fewer than 3 voters); the replica is never promoted.
func TestAutopilotDeadServerCleanupAndNonVoters(t *testing.T) {
	// 10s: five missed heartbeats (one every 2s). With 5s, two heartbeats
	// of the live read replica delayed by a loaded machine (the whole suite
	// on two cores) were enough to have it removed as dead.
	conf := map[string]any{
		"cleanup_dead_servers": true, "min_quorum": 3, "dead_server_last_contact_threshold": "10s",
	}
	for k, v := range testAutopilotConfig {
		conf[k] = v
	}
	c := autopilotCluster(t, 5, func(i int) string {
		if i == 4 {
			return "retry_join_as_non_voter = true"
		}
		return ""
	}, []int{0, 1, 2, 3, 4}, conf)
	st := pilotState(t, c, "four voters and a read replica", 90*time.Second, func(st *vault.AutopilotState) bool {
		r := st.Servers["node4"]
		return len(st.Voters) == 4 && st.Healthy && st.FailureTolerance == 1 && r != nil &&
			r.Status == "non-voter" && r.NodeType == "read-replica"
	})
	// The replica serves as a standby: it forwards reads to the active node.
	replica := c.Nodes()[4]
	mustWrite(t, c, "seen-by-replica")
	if s, err := replica.Client(c.RootToken()).KVv2("secret").Get(context.Background(), "seen-by-replica"); err != nil || s.Data["v"] != "1" {
		t.Fatalf("read through the replica: %v %v", s, err)
	}

	victim := func(st *vault.AutopilotState) testcluster.Node {
		for _, n := range c.Nodes() {
			if n.State() == testcluster.Running && n.ID() != st.Leader && n.ID() != "node4" {
				return n
			}
		}
		t.Fatal("no follower voter left")
		return nil
	}
	first := victim(st)
	start := time.Now()
	if err := first.Kill(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for suffrage(t, c)[first.ID()] || len(suffrage(t, c)) != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("dead %s never removed: %v", first.ID(), suffrage(t, c))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("autopilot: dead %s removed %s after it was killed (the 10s threshold counts from its last heartbeat)", first.ID(), time.Since(start).Round(time.Millisecond))

	st = pilotState(t, c, "three voters", 30*time.Second, func(st *vault.AutopilotState) bool { return len(st.Voters) == 3 })
	second := victim(st)
	if err := second.Kill(); err != nil {
		t.Fatal(err)
	}
	pilotState(t, c, second.ID()+" known dead", 60*time.Second, func(st *vault.AutopilotState) bool {
		s := st.Servers[second.ID()]
		return s != nil && s.NodeStatus == "left"
	})
	// Dead for longer than the threshold, yet kept: without it only two
	// voters would remain, under min_quorum. Give autopilot many rounds.
	time.Sleep(10 * time.Second)
	s := suffrage(t, c)
	if !s[second.ID()] || len(s) != 4 || s["node4"] {
		t.Fatalf("configuration %v: want %s kept as a voter, node4 a non-voter", s, second.ID())
	}
	mustWrite(t, c, "after-cleanup")
}

// TestAutopilotAutomatedUpgrade: three nodes run upgrade version 1.0.0;
// nodes with 1.1.0 join one by one. Two are held as non-voters; the third
// makes them as many as the old voters: autopilot promotes them, demotes
// the old ones and hands leadership to a new one, under load.
func TestAutopilotAutomatedUpgrade(t *testing.T) {
	c := autopilotCluster(t, 6, func(i int) string {
		if i < 3 {
			return `autopilot_upgrade_version = "1.0.0"`
		}
		return `autopilot_upgrade_version = "1.1.0"`
	}, []int{0, 1, 2}, testAutopilotConfig)
	pilotState(t, c, "three old voters", 60*time.Second, func(st *vault.AutopilotState) bool {
		return slices.Equal(voterSet(st), []string{"node0", "node1", "node2"}) && st.Healthy &&
			st.Upgrade != nil && st.Upgrade.Status == "idle"
	})
	join := func(n testcluster.Node) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := n.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Unseal(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	nodes := c.Nodes()
	join(nodes[3])
	join(nodes[4])
	st := pilotState(t, c, "two new servers held", 60*time.Second, func(st *vault.AutopilotState) bool {
		u := st.Upgrade
		n3, n4 := st.Servers["node3"], st.Servers["node4"]
		return u != nil && u.Status == "await-new-voters" && u.TargetVersion == "1.1.0" &&
			slices.Equal(u.TargetVersionNonVoters, []string{"node3", "node4"}) &&
			n3 != nil && n4 != nil && n3.Healthy && n4.Healthy
	})
	// Stable for longer than server_stabilization_time, still non-voters.
	time.Sleep(4 * time.Second)
	if s := suffrage(t, c); s["node3"] || s["node4"] {
		t.Fatalf("configuration %v: new servers promoted before they outnumber the old voters", s)
	}
	oldLeader := st.Leader

	start := time.Now()
	runChecked(t, c, nodes[:5], 20*time.Second, func() {
		time.Sleep(time.Second)
		join(nodes[5])
		pilotState(t, c, "new voters and leader", 90*time.Second, func(st *vault.AutopilotState) bool {
			return slices.Equal(voterSet(st), []string{"node3", "node4", "node5"}) &&
				slices.Contains([]string{"node3", "node4", "node5"}, st.Leader)
		})
		t.Logf("autopilot: upgrade from third new server to new leader: %s", time.Since(start).Round(time.Millisecond))
	})
	st = pilotState(t, c, "await-server-removal", 60*time.Second, func(st *vault.AutopilotState) bool {
		u := st.Upgrade
		return u != nil && u.Status == "await-server-removal" &&
			slices.Equal(u.OtherVersionNonVoters, []string{"node0", "node1", "node2"}) &&
			slices.Equal(u.TargetVersionVoters, []string{"node3", "node4", "node5"})
	})
	if st.Leader == oldLeader {
		t.Fatalf("leadership stayed on %s", oldLeader)
	}
	s := suffrage(t, c)
	for _, id := range []string{"node0", "node1", "node2"} {
		if s[id] {
			t.Fatalf("configuration %v: old %s still votes", s, id)
		}
	}
	mustWrite(t, c, "after-upgrade")
}
