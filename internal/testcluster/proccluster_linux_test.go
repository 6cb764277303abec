package testcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// selfCluster is a ProcessCluster of three nodes whose proxies front echo
// servers; node0's "process" is this test process, so connections the test
// opens are identified as coming from node0. Nothing is started or killed.
func selfCluster(t *testing.T) (*ProcessCluster, []*ProcessNode) {
	t.Helper()
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	c := &ProcessCluster{probe: newProber()}
	for i := range 3 {
		p := newTestProxy(t, newEchoServer(t).ln.Addr().String())
		n := &ProcessNode{id: fmt.Sprintf("node%d", i), link: p}
		if i == 0 {
			n.cmd, n.state = &exec.Cmd{Process: self}, Running
		}
		c.nodes = append(c.nodes, n)
		c.proxies = append(c.proxies, p)
	}
	for _, p := range c.proxies {
		p.SetIdentify(c.identify)
	}
	return c, c.nodes
}

func TestPartitionBlocksAcrossGroupsOnly(t *testing.T) {
	c, nodes := selfCluster(t)
	to1 := dial(t, nodes[1].link.Addr()) // node0 → node1
	to2 := dial(t, nodes[2].link.Addr()) // node0 → node2
	roundTrip(t, to1, "before")
	roundTrip(t, to2, "before")

	if err := c.Partition([]Node{nodes[0], nodes[2]}, []Node{nodes[1]}); err != nil {
		t.Fatal(err)
	}
	if _, err := to1.Write([]byte("cut")); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, to2, "same side") // node0 and node2 still talk
	eventually(t, "node1's proxy to hold node0's bytes", func() bool { return nodes[1].link.Stats().Pending >= 3 })

	c.Heal()
	readBack(t, to1, "cut")

	if err := c.Isolate(nodes[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := to2.Write([]byte("iso")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node2's proxy to hold node0's bytes", func() bool { return nodes[2].link.Stats().Pending >= 3 })
	c.Heal()
	readBack(t, to2, "iso")
}

func TestPartitionRejectsBadGroups(t *testing.T) {
	c, n := selfCluster(t)
	tests := []struct {
		name   string
		groups [][]Node
	}{
		{"node in two groups", [][]Node{{n[0], n[1]}, {n[1], n[2]}}},
		{"node in no group", [][]Node{{n[0]}, {n[1]}}},
	}
	for _, tc := range tests {
		if err := c.Partition(tc.groups...); err == nil {
			t.Errorf("%s: Partition accepted it", tc.name)
		}
	}
	noFaults := &ProcessCluster{nodes: c.nodes}
	if err := noFaults.Partition(c.Nodes()); !errors.Is(err, ErrNoFaults) {
		t.Errorf("Partition without proxies = %v, want ErrNoFaults", err)
	}
}
