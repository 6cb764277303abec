package core

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/cluster"
)

// clusterTLS is the core's cluster.TLSProvider. Raft traffic is
// authenticated by per-node certificates issued by the raft TLS keyring's CA,
// and a peer is accepted only while its node id is in the raft configuration.
// Request forwarding is served with the certificate the active node
// advertised; under raft, a forwarding standby presents its node certificate
// and must be a member too.
type clusterTLS struct {
	c *Core

	mu sync.RWMutex
	// keyring is the public copy (CA certificates only): only the active
	// node reads the CA keys, from the barrier, when it issues.
	keyring  *cluster.Keyring
	pool     *x509.CertPool
	nodeCert *tls.Certificate
	nodePEM  string // the installed node certificate, to notice a new one
	// joinPeers are the members the join answer named: the only peers a
	// node that has just joined accepts until raft brings it the
	// configuration.
	joinPeers []string
	recheck   func() int
	rotation  time.Duration
	lastPoll  time.Time
}

// ClusterListener is what the core needs of the cluster port: closing the
// established connections of peers that lost their membership.
type ClusterListener interface {
	// Recheck judges established connections again and closes those the
	// current TLS configuration refuses.
	Recheck() int
}

// ClusterTLS returns the TLS provider for the cluster port.
func (c *Core) ClusterTLS() cluster.TLSProvider { return &c.ctls }

// SetClusterListener lets the core close a removed node's established
// cluster connections at once (at remove-peer, and on each leadership tick
// for removals a node learns through raft).
func (c *Core) SetClusterListener(l ClusterListener) {
	c.ctls.mu.Lock()
	defer c.ctls.mu.Unlock()
	if l == nil {
		c.ctls.recheck = nil
		return
	}
	c.ctls.recheck = l.Recheck
}

// recheckCluster closes the cluster connections of non-members.
func (c *Core) recheckCluster() {
	c.ctls.mu.RLock()
	f := c.ctls.recheck
	c.ctls.mu.RUnlock()
	if f == nil {
		return
	}
	if n := f(); n > 0 {
		c.logger.Info("closed cluster connections of nodes no longer in the raft configuration", "connections", n)
	}
}

// install sets the trusted CAs (a public keyring) and this node's certificate.
func (t *clusterTLS) install(k *cluster.Keyring, nc *cluster.NodeCert) error {
	pool, err := k.CertPool()
	if err != nil {
		return err
	}
	cert, err := nc.TLSCertificate()
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.keyring, t.pool, t.nodeCert, t.nodePEM = k.Public(), pool, &cert, nc.CertPEM
	t.mu.Unlock()
	return nil
}

func (t *clusterTLS) setJoinPeers(ids []string) {
	t.mu.Lock()
	t.joinPeers = ids
	t.mu.Unlock()
}

// clear forgets the raft keyring and this node's certificate (at seal).
func (t *clusterTLS) clear() {
	t.mu.Lock()
	t.keyring, t.pool, t.nodeCert, t.nodePEM, t.joinPeers = nil, nil, nil, "", nil
	t.mu.Unlock()
}

// installed returns the keyring term and node certificate in use.
func (t *clusterTLS) installed() (term uint64, nodePEM string) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.keyring != nil {
		term = t.keyring.Term
	}
	return term, t.nodePEM
}

var (
	errNoRaftTLS = errors.New("raft TLS keyring not loaded: the node is sealed or has not joined")
	// ErrNotRaftMember refuses a cluster peer whose node id is not in the
	// raft configuration (a removed node, or a certificate for a made-up id).
	ErrNotRaftMember = errors.New("cluster peer is not a member of the raft configuration")
)

// verifyMember is the VerifyConnection of every cluster protocol under raft:
// the peer's certificate (already verified against the keyring's CAs) must
// name a node of the current raft configuration.
func (t *clusterTLS) verifyMember(cs tls.ConnectionState) error {
	id, err := cluster.PeerNodeID(cs)
	if err != nil {
		return err
	}
	if !t.c.raftMember(id) {
		return fmt.Errorf("%w: %q", ErrNotRaftMember, id)
	}
	return nil
}

// raftMember reports whether id is in the latest raft configuration (which
// includes a server being added, so the active can reach a joiner). A node
// whose configuration is still empty (it has just joined) trusts the members
// the join answer named.
func (c *Core) raftMember(id string) bool {
	r := c.raftStorage()
	if r == nil || id == "" {
		return false
	}
	peers, err := r.Peers(context.Background())
	if err == nil && len(peers) > 0 {
		for _, p := range peers {
			if p.ID == id {
				return true
			}
		}
		return false
	}
	c.ctls.mu.RLock()
	defer c.ctls.mu.RUnlock()
	return slices.Contains(c.ctls.joinPeers, id)
}

// ServerConfig implements cluster.TLSProvider.
func (t *clusterTLS) ServerConfig(proto string) (*tls.Config, error) {
	switch proto {
	case cluster.ProtoRaft:
		t.mu.RLock()
		defer t.mu.RUnlock()
		if t.nodeCert == nil {
			return nil, errNoRaftTLS
		}
		conf := cluster.MutualTLSServerConfig(*t.nodeCert, t.pool)
		conf.VerifyConnection = t.verifyMember
		return conf, nil
	case cluster.ProtoForwarding:
		adv := t.c.haNode.OwnAdvert()
		if adv == nil || t.c.Standby() {
			return nil, errors.New("request forwarding: this node is not active")
		}
		cert, err := tls.X509KeyPair(adv.CertPEM, adv.KeyPEM)
		if err != nil {
			return nil, fmt.Errorf("request forwarding: %w", err)
		}
		if t.c.raftStorage() != nil {
			// Standbys present their node certificate: only members
			// may have requests served.
			t.mu.RLock()
			pool := t.pool
			t.mu.RUnlock()
			if pool == nil {
				return nil, errNoRaftTLS
			}
			conf := cluster.MutualTLSServerConfig(cert, pool)
			conf.VerifyConnection = t.verifyMember
			return conf, nil
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(adv.CertPEM)
		return cluster.MutualTLSServerConfig(cert, pool), nil
	}
	return nil, cluster.ErrNoTLSConfig
}

// ClientConfig implements cluster.TLSProvider (raft only: standbys build
// their forwarding client from the advertisement). The server must prove a
// member's identity too.
func (t *clusterTLS) ClientConfig(proto, _ string) (*tls.Config, error) {
	if proto != cluster.ProtoRaft {
		return nil, cluster.ErrNoTLSConfig
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.nodeCert == nil {
		return nil, errNoRaftTLS
	}
	conf := cluster.MutualTLSClientConfig(*t.nodeCert, t.pool, cluster.KeyringServerName)
	conf.VerifyConnection = t.verifyMember
	return conf, nil
}

// ForwardingClientCertificate returns what a standby presents when it
// forwards to the active node: under raft its own node certificate (the
// active checks it is a member), otherwise the active's advertised pair given
// as fallback.
func (c *Core) ForwardingClientCertificate(fallback tls.Certificate) func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if c.raftStorage() == nil {
			return &fallback, nil
		}
		c.ctls.mu.RLock()
		defer c.ctls.mu.RUnlock()
		if c.ctls.nodeCert == nil {
			return nil, errNoRaftTLS
		}
		cert := *c.ctls.nodeCert
		return &cert, nil
	}
}
