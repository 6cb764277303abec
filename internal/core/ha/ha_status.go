package ha

import (
	"context"
	"maps"
	"os"
	"sort"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// NodeEcho is what a standby tells the active node about itself, every few
// seconds, over the authenticated forwarding channel.
type NodeEcho struct {
	NodeID      string    `json:"node_id"`
	Hostname    string    `json:"hostname"`
	APIAddr     string    `json:"api_address"`
	ClusterAddr string    `json:"cluster_address"`
	Version     string    `json:"version"`
	LastEcho    time.Time `json:"-"`
	// What autopilot judges a node by (raft storage only): its raft applied
	// index and term, redundancy zone, upgrade version, and whether it is
	// configured to stay a non-voter.
	AppliedIndex   uint64 `json:"applied_index,omitempty"`
	Term           uint64 `json:"term,omitempty"`
	RedundancyZone string `json:"redundancy_zone,omitempty"`
	UpgradeVersion string `json:"upgrade_version,omitempty"`
	NonVoter       bool   `json:"non_voter,omitempty"`
}

// echoTTL is how long a standby stays listed in sys/ha-status after its
// last echo.
const echoTTL = 30 * time.Second

// RecordEcho notes a standby's heartbeat (active node only).
func (n *Node) RecordEcho(e NodeEcho) {
	e.LastEcho = time.Now().UTC()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.echoes == nil {
		n.echoes = map[string]NodeEcho{}
	}
	n.echoes[e.NodeID] = e
}

// Echoes returns a copy of the heartbeats recorded so far, by node id,
// each with the time it was received.
func (n *Node) Echoes() map[string]NodeEcho {
	n.mu.Lock()
	defer n.mu.Unlock()
	return maps.Clone(n.echoes)
}

// LocalEcho describes this node, for its heartbeats to the active node.
func (n *Node) LocalEcho() NodeEcho {
	host, _ := os.Hostname()
	id := ""
	if n.st != nil {
		id = n.st.NodeID()
	}
	e := NodeEcho{NodeID: id, Hostname: host, APIAddr: n.conf.APIAddr, ClusterAddr: n.conf.ClusterAddr, Version: n.conf.Version}
	n.host.FillEcho(&e)
	return e
}

// Paths serves sys/ha-status (relative to the sys/ mount); core mounts it
// on HA storage only. None of them is a root path.
func (n *Node) Paths() []*logical.Path {
	return []*logical.Path{{
		Pattern: "ha-status",
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
				return &logical.Response{Data: map[string]any{"nodes": n.haStatus()}}, nil
			},
		},
	}}
}

// haStatus lists this node as active, then the standbys heard from within
// echoTTL, by node id; older echoes are forgotten.
func (n *Node) haStatus() []map[string]any {
	self := n.LocalEcho()
	nodes := []map[string]any{{
		"hostname": self.Hostname, "api_address": self.APIAddr, "cluster_address": self.ClusterAddr,
		"active_node": true, "last_echo": nil, "version": self.Version,
	}}
	now := time.Now()
	n.mu.Lock()
	var standbys []NodeEcho
	for id, e := range n.echoes {
		if now.Sub(e.LastEcho) > echoTTL {
			delete(n.echoes, id)
			continue
		}
		if id != self.NodeID {
			standbys = append(standbys, e)
		}
	}
	n.mu.Unlock()
	sort.Slice(standbys, func(i, j int) bool { return standbys[i].NodeID < standbys[j].NodeID })
	for _, e := range standbys {
		nodes = append(nodes, map[string]any{
			"hostname": e.Hostname, "api_address": e.APIAddr, "cluster_address": e.ClusterAddr,
			"active_node": false, "last_echo": e.LastEcho.Format(time.RFC3339Nano), "version": e.Version,
		})
	}
	return nodes
}
