package testcluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// unsealTimeout bounds UnsealAll: joining nodes need a few raft rounds.
const unsealTimeout = 60 * time.Second

// ProcessCluster is the Cluster of real strongbox processes.
type ProcessCluster struct {
	opts    Options
	dir     string
	nodes   []*ProcessNode
	proxies []*Proxy
	probe   *prober

	mu   sync.Mutex
	keys []string
	root string
}

var _ Cluster = (*ProcessCluster)(nil)

// NewCluster writes a configuration per node, starts every node and returns
// once all of their APIs answer (uninitialized and sealed). Every process is
// killed and every proxy closed in t.Cleanup; if the test failed, each
// node's log tail is written to the test log, and a node that exited without
// being asked fails the test.
func NewCluster(t testing.TB, opts Options) *ProcessCluster {
	t.Helper()
	opts = opts.withDefaults()
	switch {
	case opts.Storage != "raft" && opts.Storage != "file":
		t.Fatalf("testcluster: storage %q: want raft or file", opts.Storage)
	case opts.Storage == "file" && opts.Nodes != 1:
		t.Fatalf("testcluster: file storage has no HA: want 1 node, not %d", opts.Nodes)
	case opts.Nodes < 1:
		t.Fatalf("testcluster: %d nodes", opts.Nodes)
	}
	if opts.Binary == "" {
		opts.Binary = Build(t)
	}
	c := &ProcessCluster{opts: opts, dir: t.TempDir(), probe: newProber()}
	t.Cleanup(func() { c.cleanup(t) })

	ports, err := freePorts(2 * opts.Nodes)
	if err != nil {
		t.Fatal(err)
	}
	cfgs := plan(opts, c.dir, ports)
	for i := range cfgs {
		if opts.Proxies {
			p, err := NewProxy(cfgs[i].AdvertisedCluster)
			if err != nil {
				t.Fatal(err)
			}
			c.proxies = append(c.proxies, p)
			cfgs[i].AdvertisedCluster = p.Addr()
		}
	}
	env := childEnv()
	for i, nc := range cfgs {
		nodeDir := filepath.Join(c.dir, nc.ID)
		if err := os.MkdirAll(nc.DataDir, 0o700); err != nil {
			t.Fatal(err)
		}
		cfgPath := filepath.Join(nodeDir, "config.hcl")
		if err := os.WriteFile(cfgPath, []byte(nc.HCL()), 0o600); err != nil {
			t.Fatal(err)
		}
		n := &ProcessNode{
			id: nc.ID, binary: opts.Binary, cfg: nc, cfgPath: cfgPath,
			logPath: filepath.Join(nodeDir, "server.log"), env: env,
			startTimeout: opts.StartTimeout, probe: c.probe,
		}
		if opts.Proxies {
			n.link = c.proxies[i]
		}
		c.nodes = append(c.nodes, n)
	}
	// Only now: identify reads c.nodes, and SetIdentify's lock publishes it.
	for _, p := range c.proxies {
		p.SetIdentify(c.identify)
	}

	ctx, cancel := deadline(t, opts.StartTimeout)
	defer cancel()
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = n.Start(ctx) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// plan lays out the nodes: ids, data directories, ports (two per node:
// api, cluster) and, for raft, every other node as a retry_join leader.
func plan(opts Options, dir string, ports []int) []nodeConfig {
	cfgs := make([]nodeConfig, opts.Nodes)
	for i := range cfgs {
		id := fmt.Sprintf("node%d", i)
		cfgs[i] = nodeConfig{
			ID: id, Storage: opts.Storage,
			DataDir: filepath.Join(dir, id, "data"),
			APIPort: ports[2*i], ClusterPort: ports[2*i+1],
			AdvertisedCluster: fmt.Sprintf("127.0.0.1:%d", ports[2*i+1]),
			LogLevel:          opts.LogLevel, Extra: opts.ExtraConfig, StorageExtra: opts.StorageConfig,
		}
		if opts.NodeConfig != nil {
			cfgs[i].Extra += "\n" + opts.NodeConfig(id)
		}
	}
	if opts.Storage == "raft" {
		for i := range cfgs {
			for j, peer := range cfgs {
				if j != i {
					cfgs[i].Peers = append(cfgs[i].Peers, peer.apiAddr())
				}
			}
		}
	}
	return cfgs
}

func (c *ProcessCluster) cleanup(t testing.TB) {
	for _, n := range c.nodes {
		if err := n.Kill(); err != nil {
			t.Error(err)
		}
	}
	for _, p := range c.proxies {
		_ = p.Close()
	}
	for _, n := range c.nodes {
		for _, crash := range n.crashReports() {
			t.Errorf("testcluster: %s", crash)
		}
	}
	if t.Failed() {
		for _, n := range c.nodes {
			t.Logf("---- %s log (%s), tail ----\n%s", n.id, n.logPath, n.LogTail())
		}
	}
}

// Dir is the cluster's directory: one sub-directory per node with its
// config.hcl, server.log and data.
func (c *ProcessCluster) Dir() string { return c.dir }

// Nodes implements Cluster.
func (c *ProcessCluster) Nodes() []Node {
	out := make([]Node, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n
	}
	return out
}

// ProcessNodes returns the nodes with their process-only methods.
func (c *ProcessCluster) ProcessNodes() []*ProcessNode {
	return append([]*ProcessNode(nil), c.nodes...)
}

// Init implements Cluster.
func (c *ProcessCluster) Init(t testing.TB) ([]string, string) {
	t.Helper()
	ctx, cancel := deadline(t, c.opts.StartTimeout)
	defer cancel()
	keys, root, err := initialize(ctx, c.nodes[0], c.opts.KeyShares, c.opts.KeyThreshold)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.keys, c.root = keys, root
	c.mu.Unlock()
	return keys, root
}

// RootToken implements Cluster.
func (c *ProcessCluster) RootToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.root
}

// UnsealKeys implements Cluster.
func (c *ProcessCluster) UnsealKeys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.keys...)
}

// Unseal implements Cluster.
func (c *ProcessCluster) Unseal(ctx context.Context, n Node) error {
	return unseal(ctx, n, c.UnsealKeys(), c.opts.KeyThreshold)
}

// UnsealAll implements Cluster. The first node goes first: on raft it is
// the one Init bootstrapped, which the others join.
func (c *ProcessCluster) UnsealAll(t testing.TB) {
	t.Helper()
	ctx, cancel := deadline(t, unsealTimeout)
	defer cancel()
	for _, n := range c.nodes {
		if n.State() != Running {
			continue
		}
		if err := c.Unseal(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
}

// WaitForActive implements Cluster.
func (c *ProcessCluster) WaitForActive(t testing.TB, timeout time.Duration) Node {
	t.Helper()
	ctx, cancel := deadline(t, timeout)
	defer cancel()
	n, err := c.probe.waitForActive(ctx, c.Nodes())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// WaitForStandbys implements Cluster.
func (c *ProcessCluster) WaitForStandbys(t testing.TB, timeout time.Duration) []Node {
	t.Helper()
	ctx, cancel := deadline(t, timeout)
	defer cancel()
	s, err := c.probe.waitForStandbys(ctx, c.Nodes())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Leader implements Cluster.
func (c *ProcessCluster) Leader(ctx context.Context) (Node, error) {
	return c.probe.leader(ctx, c.Nodes())
}

// Partition implements Cluster: each node's proxy blocks the connections
// opened by nodes outside its group (in both directions), so a pair of
// nodes in different groups can exchange nothing, whoever dials.
func (c *ProcessCluster) Partition(groups ...[]Node) error {
	if len(c.proxies) == 0 || !canIdentifySources() {
		return fmt.Errorf("partition: %w", ErrNoFaults)
	}
	group := map[string]int{}
	for g, nodes := range groups {
		for _, n := range nodes {
			if _, dup := group[n.ID()]; dup {
				return fmt.Errorf("partition: %s is in two groups", n.ID())
			}
			group[n.ID()] = g
		}
	}
	for _, n := range c.nodes {
		if _, ok := group[n.id]; !ok {
			return fmt.Errorf("partition: %s is in no group", n.id)
		}
	}
	for _, n := range c.nodes {
		var others []string
		for _, m := range c.nodes {
			if group[m.id] != group[n.id] {
				others = append(others, m.id)
			}
		}
		n.link.BlockSources(others...)
	}
	return nil
}

// Isolate partitions n away from every other node.
func (c *ProcessCluster) Isolate(n Node) error {
	var rest []Node
	for _, m := range c.nodes {
		if m.id != n.ID() {
			rest = append(rest, m)
		}
	}
	return c.Partition([]Node{n}, rest)
}

// Heal implements Cluster.
func (c *ProcessCluster) Heal() {
	for _, p := range c.proxies {
		p.Heal()
	}
}

// identify names the node that opened a connection to one of the proxies,
// by finding which node process holds the connection's other end.
func (c *ProcessCluster) identify(remote net.Addr) string {
	byPID := map[int]string{}
	pids := make([]int, 0, len(c.nodes))
	for _, n := range c.nodes {
		if pid := n.PID(); pid != 0 {
			byPID[pid] = n.id
			pids = append(pids, pid)
		}
	}
	pid, err := socketOwner(remote, pids)
	if err != nil {
		return ""
	}
	return byPID[pid]
}
