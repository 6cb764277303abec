package ha

import (
	"context"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// TestHAStatus: the active node first, then the standbys heard from
// recently, by node id; stale echoes and this node's own are left out.
func TestHAStatus(t *testing.T) {
	st := newFakeStorage("node0", "node0")
	n := New(&fakeHost{}, Config{Storage: st, APIAddr: "https://n0:8200", ClusterAddr: "https://n0:8201", Version: "1.0.0"})

	self := n.LocalEcho()
	if self.NodeID != "node0" || self.APIAddr != "https://n0:8200" || self.Version != "1.0.0" || self.AppliedIndex != 42 || self.Term != 3 {
		t.Fatalf("local echo %+v", self)
	}
	n.RecordEcho(NodeEcho{NodeID: "node2", APIAddr: "https://n2:8200", Version: "1.0.0"})
	n.RecordEcho(NodeEcho{NodeID: "node1", APIAddr: "https://n1:8200", Version: "1.0.1"})
	n.RecordEcho(NodeEcho{NodeID: "node0"})
	n.RecordEcho(NodeEcho{NodeID: "stale"})
	n.mu.Lock()
	e := n.echoes["stale"]
	e.LastEcho = time.Now().Add(-echoTTL - time.Second)
	n.echoes["stale"] = e
	n.mu.Unlock()
	if got := n.Echoes(); len(got) != 4 || got["node1"].LastEcho.IsZero() {
		t.Fatalf("echoes %+v", got)
	}

	paths := n.Paths()
	if len(paths) != 1 || paths[0].Pattern != "ha-status" {
		t.Fatalf("paths %+v", paths)
	}
	resp, err := paths[0].Operations[logical.ReadOperation](context.Background(), &logical.Request{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nodes := resp.Data["nodes"].([]map[string]any)
	want := []struct {
		api    string
		active bool
	}{{"https://n0:8200", true}, {"https://n1:8200", false}, {"https://n2:8200", false}}
	if len(nodes) != len(want) {
		t.Fatalf("nodes %+v", nodes)
	}
	for i, w := range want {
		if nodes[i]["api_address"] != w.api || nodes[i]["active_node"] != w.active {
			t.Fatalf("node %d: %+v, want %s active=%v", i, nodes[i], w.api, w.active)
		}
	}
	if nodes[0]["last_echo"] != nil || nodes[1]["last_echo"] == nil || nodes[1]["version"] != "1.0.1" {
		t.Fatalf("nodes %+v", nodes)
	}
	if _, ok := n.Echoes()["stale"]; ok {
		t.Fatal("a stale echo was kept")
	}
}
