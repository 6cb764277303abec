package core

import (
	"context"
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
func (c *Core) RecordEcho(e NodeEcho) {
	e.LastEcho = time.Now().UTC()
	c.haMu.Lock()
	defer c.haMu.Unlock()
	if c.echoes == nil {
		c.echoes = map[string]NodeEcho{}
	}
	c.echoes[e.NodeID] = e
}

// LocalEcho describes this node, for its heartbeats to the active node.
func (c *Core) LocalEcho() NodeEcho {
	host, _ := os.Hostname()
	id := ""
	if c.ha != nil {
		id = c.ha.NodeID()
	}
	e := NodeEcho{NodeID: id, Hostname: host, APIAddr: c.conf.APIAddr, ClusterAddr: c.conf.ClusterAddr, Version: c.conf.Version}
	c.fillAutopilotEcho(&e)
	return e
}

func (c *Core) haStatusPaths() []*logical.Path {
	return []*logical.Path{{
		Pattern: "ha-status",
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
				self := c.LocalEcho()
				nodes := []map[string]any{{
					"hostname": self.Hostname, "api_address": self.APIAddr, "cluster_address": self.ClusterAddr,
					"active_node": true, "last_echo": nil, "version": self.Version,
				}}
				now := time.Now()
				c.haMu.Lock()
				var standbys []NodeEcho
				for id, e := range c.echoes {
					if now.Sub(e.LastEcho) > echoTTL {
						delete(c.echoes, id)
						continue
					}
					if id != self.NodeID {
						standbys = append(standbys, e)
					}
				}
				c.haMu.Unlock()
				sort.Slice(standbys, func(i, j int) bool { return standbys[i].NodeID < standbys[j].NodeID })
				for _, e := range standbys {
					nodes = append(nodes, map[string]any{
						"hostname": e.Hostname, "api_address": e.APIAddr, "cluster_address": e.ClusterAddr,
						"active_node": false, "last_echo": e.LastEcho.Format(time.RFC3339Nano), "version": e.Version,
					})
				}
				return &logical.Response{Data: map[string]any{"nodes": nodes}}, nil
			},
		},
	}}
}
