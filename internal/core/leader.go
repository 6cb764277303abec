package core

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/strongbox/strongbox/internal/cluster"
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

// advertise writes this node's advertisement. Called while becoming active.
func (c *Core) advertise(ctx context.Context) error {
	host := "localhost"
	if u, err := url.Parse(c.conf.ClusterAddr); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	certPEM, keyPEM, err := cluster.GenerateCert("strongbox-active-"+c.ha.NodeID(), []string{host})
	if err != nil {
		return fmt.Errorf("advertise: certificate: %w", err)
	}
	adv := &Advertisement{
		NodeID: c.ha.NodeID(), APIAddr: c.conf.APIAddr, ClusterAddr: c.conf.ClusterAddr,
		CertPEM: certPEM, KeyPEM: keyPEM, ActiveTime: time.Now().UTC(),
	}
	raw, err := json.Marshal(adv)
	if err != nil {
		return err
	}
	if err := c.barrier.Put(ctx, &physical.Entry{Key: leaderPrefix + adv.NodeID, Value: raw}); err != nil {
		return fmt.Errorf("advertise: %w", err)
	}
	c.haMu.Lock()
	c.ownAdvert = adv
	c.haMu.Unlock()
	c.activeTime = adv.ActiveTime
	return nil
}

// ActiveAdvertisement returns the current active node's advertisement, or
// nil when no node is active yet (an election or a step-down under way).
// On the active node it is its own.
func (c *Core) ActiveAdvertisement(ctx context.Context) (*Advertisement, error) {
	if c.ha == nil {
		return nil, nil
	}
	c.stateLock.RLock()
	sealed, standby := c.sealed, c.standby
	c.stateLock.RUnlock()
	if sealed {
		return nil, ErrSealed
	}
	c.haMu.Lock()
	own := c.ownAdvert
	c.haMu.Unlock()
	if !standby && own != nil && c.ha.IsLeader() {
		return own, nil
	}
	id := c.ha.LeaderID()
	if id == "" || id == c.ha.NodeID() {
		// The leader is unknown, or it is this node that has not finished
		// becoming active (or just stepped down): no one to forward to yet.
		return nil, nil
	}
	e, err := c.barrier.Get(ctx, leaderPrefix+id)
	if err != nil || e == nil {
		return nil, err
	}
	// Standbys ask on every request: decode only when the stored
	// advertisement changed, and hand out the same value meanwhile (the
	// forwarder keeps its connection for as long as it sees it).
	c.haMu.Lock()
	defer c.haMu.Unlock()
	if c.peerAdvert != nil && bytes.Equal(c.peerAdvertRaw, e.Value) {
		return c.peerAdvert, nil
	}
	var adv Advertisement
	if err := json.Unmarshal(e.Value, &adv); err != nil {
		return nil, fmt.Errorf("decode leader advertisement: %w", err)
	}
	c.peerAdvert, c.peerAdvertRaw = &adv, e.Value
	return &adv, nil
}
