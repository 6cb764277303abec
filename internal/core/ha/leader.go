package ha

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/strongbox/strongbox/internal/cluster"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
)

const leaderPrefix = "core/leader/"

// Advertisement is what the active node publishes, through the barrier, so
// standbys can reach it: its addresses and a fresh key pair for mutual TLS
// on the cluster port. Nothing of it is readable without unsealing.
type Advertisement struct {
	NodeID      string    `json:"node_id"`
	APIAddr     string    `json:"api_addr"`
	ClusterAddr string    `json:"cluster_addr"`
	CertPEM     []byte    `json:"cert_pem"`
	KeyPEM      []byte    `json:"key_pem"`
	ActiveTime  time.Time `json:"active_time"`
}

// Advertise writes this node's advertisement and records, through s, the
// time it became active. Called while becoming active (and by core when a
// restore reloads the active state), under the state lock.
func (n *Node) Advertise(ctx context.Context, s Locked) error {
	host := "localhost"
	if u, err := url.Parse(n.conf.ClusterAddr); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	certPEM, keyPEM, err := cluster.GenerateCert("strongbox-active-"+n.st.NodeID(), []string{host})
	if err != nil {
		return fmt.Errorf("advertise: certificate: %w", err)
	}
	adv := &Advertisement{
		NodeID: n.st.NodeID(), APIAddr: n.conf.APIAddr, ClusterAddr: n.conf.ClusterAddr,
		CertPEM: certPEM, KeyPEM: keyPEM, ActiveTime: time.Now().UTC(),
	}
	raw, err := json.Marshal(adv)
	if err != nil {
		return err
	}
	if err := n.b.Put(ctx, &physical.Entry{Key: leaderPrefix + adv.NodeID, Value: raw}); err != nil {
		return fmt.Errorf("advertise: %w", err)
	}
	n.mu.Lock()
	n.ownAdvert = adv
	n.mu.Unlock()
	s.SetActiveTime(adv.ActiveTime)
	return nil
}

// OwnAdvert returns the advertisement this node published when it last
// became active, or nil (never active, or sealed since). It holds the key
// pair the forwarding listener serves with.
func (n *Node) OwnAdvert() *Advertisement {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ownAdvert
}

// ActiveAdvertisement returns the current active node's advertisement, or
// nil when no node is active yet (an election or a step-down under way).
// On the active node it is its own. It returns nil without HA storage and
// logical.ErrSealed when sealed. Core calls it without the state lock.
func (n *Node) ActiveAdvertisement(ctx context.Context) (*Advertisement, error) {
	if n.st == nil {
		return nil, nil
	}
	sealed, standby := n.host.State()
	if sealed {
		return nil, logical.ErrSealed
	}
	own := n.OwnAdvert()
	if !standby && own != nil && n.st.IsLeader() {
		return own, nil
	}
	id := n.st.LeaderID()
	if id == "" || id == n.st.NodeID() {
		// The leader is unknown, or it is this node that has not finished
		// becoming active (or just stepped down): no one to forward to yet.
		return nil, nil
	}
	e, err := n.b.Get(ctx, leaderPrefix+id)
	if err != nil || e == nil {
		return nil, err
	}
	// Standbys ask on every request: decode only when the stored
	// advertisement changed, and hand out the same value meanwhile (the
	// forwarder keeps its connection for as long as it sees it).
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.peerAdvert != nil && bytes.Equal(n.peerAdvertRaw, e.Value) {
		return n.peerAdvert, nil
	}
	var adv Advertisement
	if err := json.Unmarshal(e.Value, &adv); err != nil {
		return nil, fmt.Errorf("decode leader advertisement: %w", err)
	}
	n.peerAdvert, n.peerAdvertRaw = &adv, e.Value
	return &adv, nil
}
