package raftops

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
	o *Ops

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

// ClusterListener is what the room needs of the cluster port: closing the
// established connections of peers that lost their membership.
type ClusterListener interface {
	// Recheck judges established connections again and closes those the
	// current TLS configuration refuses.
	Recheck() int
}

// ClusterTLS returns the TLS provider for the cluster port.
func (o *Ops) ClusterTLS() cluster.TLSProvider { return &o.ctls }

// InstalledTLS returns the raft TLS state in use: the keyring's public copy
// (CA certificates only), this node's certificate and the pool of trusted
// CAs; nils while sealed or before a join.
func (o *Ops) InstalledTLS() (*cluster.Keyring, *tls.Certificate, *x509.CertPool) {
	o.ctls.mu.RLock()
	defer o.ctls.mu.RUnlock()
	return o.ctls.keyring, o.ctls.nodeCert, o.ctls.pool
}

// SetClusterListener lets the node close a removed node's established
// cluster connections at once (at remove-peer, and on each leadership tick
// for removals a node learns through raft).
func (o *Ops) SetClusterListener(l ClusterListener) {
	o.ctls.mu.Lock()
	defer o.ctls.mu.Unlock()
	if l == nil {
		o.ctls.recheck = nil
		return
	}
	o.ctls.recheck = l.Recheck
}

// recheckCluster closes the cluster connections of non-members.
func (o *Ops) recheckCluster() {
	o.ctls.mu.RLock()
	f := o.ctls.recheck
	o.ctls.mu.RUnlock()
	if f == nil {
		return
	}
	if n := f(); n > 0 {
		o.logger.Info("closed cluster connections of nodes no longer in the raft configuration", "connections", n)
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
	// ErrNoRaftTLS: the cluster port has no raft TLS configuration yet.
	ErrNoRaftTLS = errors.New("raft TLS keyring not loaded: the node is sealed or has not joined")
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
	if !t.o.raftMember(id) {
		return fmt.Errorf("%w: %q", ErrNotRaftMember, id)
	}
	return nil
}

// raftMember reports whether id is in the latest raft configuration (which
// includes a server being added, so the active can reach a joiner). A node
// whose configuration is still empty (it has just joined) trusts the members
// the join answer named.
func (o *Ops) raftMember(id string) bool {
	r := o.raftStorage()
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
	o.ctls.mu.RLock()
	defer o.ctls.mu.RUnlock()
	return slices.Contains(o.ctls.joinPeers, id)
}

// ServerConfig implements cluster.TLSProvider.
func (t *clusterTLS) ServerConfig(proto string) (*tls.Config, error) {
	switch proto {
	case cluster.ProtoRaft:
		t.mu.RLock()
		defer t.mu.RUnlock()
		if t.nodeCert == nil {
			return nil, ErrNoRaftTLS
		}
		conf := cluster.MutualTLSServerConfig(*t.nodeCert, t.pool)
		conf.VerifyConnection = t.verifyMember
		return conf, nil
	case cluster.ProtoForwarding:
		certPEM, keyPEM := t.o.host.ForwardingAdvert()
		if certPEM == nil {
			return nil, errors.New("request forwarding: this node is not active")
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("request forwarding: %w", err)
		}
		if t.o.raftStorage() != nil {
			// Standbys present their node certificate: only members
			// may have requests served.
			t.mu.RLock()
			pool := t.pool
			t.mu.RUnlock()
			if pool == nil {
				return nil, ErrNoRaftTLS
			}
			conf := cluster.MutualTLSServerConfig(cert, pool)
			conf.VerifyConnection = t.verifyMember
			return conf, nil
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(certPEM)
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
		return nil, ErrNoRaftTLS
	}
	conf := cluster.MutualTLSClientConfig(*t.nodeCert, t.pool, cluster.KeyringServerName)
	conf.VerifyConnection = t.verifyMember
	return conf, nil
}

// ForwardingClientCertificate returns what a standby presents when it
// forwards to the active node: under raft its own node certificate (the
// active checks it is a member), otherwise the active's advertised pair given
// as fallback.
func (o *Ops) ForwardingClientCertificate(fallback tls.Certificate) func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if o.raftStorage() == nil {
			return &fallback, nil
		}
		o.ctls.mu.RLock()
		defer o.ctls.mu.RUnlock()
		if o.ctls.nodeCert == nil {
			return nil, ErrNoRaftTLS
		}
		cert := *o.ctls.nodeCert
		return &cert, nil
	}
}
