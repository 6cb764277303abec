package core

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/cluster"
)

// clusterTLS is the core's cluster.TLSProvider: raft traffic is
// authenticated by the raft TLS keyring (a CA every unsealed or joined node
// holds), request forwarding by the certificate the active node advertised.
type clusterTLS struct {
	c *Core

	mu       sync.RWMutex
	keyring  *cluster.Keyring
	pool     *x509.CertPool
	nodeCert *tls.Certificate
	rotation time.Duration
	lastPoll time.Time
}

// ClusterTLS returns the TLS provider for the cluster port.
func (c *Core) ClusterTLS() cluster.TLSProvider { return &c.ctls }

// setRaftKeyring installs the raft TLS keyring and issues this node's
// certificate from it.
func (t *clusterTLS) setRaftKeyring(k *cluster.Keyring, nodeID string, hosts []string) error {
	pool, err := k.CertPool()
	if err != nil {
		return err
	}
	cert, err := k.IssueNodeCert(nodeID, hosts)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.keyring, t.pool, t.nodeCert = k, pool, &cert
	t.mu.Unlock()
	return nil
}

// clear forgets the raft keyring and this node's certificate (at seal).
func (t *clusterTLS) clear() {
	t.mu.Lock()
	t.keyring, t.pool, t.nodeCert = nil, nil, nil
	t.mu.Unlock()
}

func (t *clusterTLS) raftKeyring() *cluster.Keyring {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.keyring
}

var errNoRaftTLS = errors.New("raft TLS keyring not loaded: the node is sealed or has not joined")

// ServerConfig implements cluster.TLSProvider.
func (t *clusterTLS) ServerConfig(proto string) (*tls.Config, error) {
	switch proto {
	case cluster.ProtoRaft:
		t.mu.RLock()
		defer t.mu.RUnlock()
		if t.nodeCert == nil {
			return nil, errNoRaftTLS
		}
		return cluster.MutualTLSServerConfig(*t.nodeCert, t.pool), nil
	case cluster.ProtoForwarding:
		t.c.haMu.Lock()
		adv := t.c.ownAdvert
		t.c.haMu.Unlock()
		if adv == nil || t.c.Standby() {
			return nil, errors.New("request forwarding: this node is not active")
		}
		cert, err := tls.X509KeyPair(adv.CertPEM, adv.KeyPEM)
		if err != nil {
			return nil, fmt.Errorf("request forwarding: %w", err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(adv.CertPEM)
		return cluster.MutualTLSServerConfig(cert, pool), nil
	}
	return nil, cluster.ErrNoTLSConfig
}

// ClientConfig implements cluster.TLSProvider (raft only: standbys build
// their forwarding client from the advertisement).
func (t *clusterTLS) ClientConfig(proto, _ string) (*tls.Config, error) {
	if proto != cluster.ProtoRaft {
		return nil, cluster.ErrNoTLSConfig
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.nodeCert == nil {
		return nil, errNoRaftTLS
	}
	return cluster.MutualTLSClientConfig(*t.nodeCert, t.pool, cluster.KeyringServerName), nil
}
