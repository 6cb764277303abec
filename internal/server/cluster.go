package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/strongbox/strongbox/internal/cluster"
	"github.com/strongbox/strongbox/internal/config"
	"github.com/strongbox/strongbox/internal/core/raftops"
)

// lateTLS lets the cluster listener exist before the core: raft storage
// needs the listener, the core needs the storage, and the listener's TLS
// comes from the core.
type lateTLS struct {
	p atomic.Pointer[providerBox]
	// suites is cluster_cipher_suites: the TLS 1.2 suites the cluster port
	// offers and accepts (TLS 1.3's are fixed by Go).
	suites []uint16
}

type providerBox struct{ p cluster.TLSProvider }

func (l *lateTLS) set(p cluster.TLSProvider) { l.p.Store(&providerBox{p: p}) }

var errCoreNotReady = errors.New("cluster TLS: core not started")

func (l *lateTLS) ServerConfig(proto string) (*tls.Config, error) {
	b := l.p.Load()
	if b == nil {
		return nil, errCoreNotReady
	}
	return l.withSuites(b.p.ServerConfig(proto))
}

func (l *lateTLS) withSuites(c *tls.Config, err error) (*tls.Config, error) {
	if err != nil || c == nil || len(l.suites) == 0 {
		return c, err
	}
	c = c.Clone()
	c.CipherSuites = l.suites
	return c, nil
}

func (l *lateTLS) ClientConfig(proto, serverName string) (*tls.Config, error) {
	b := l.p.Load()
	if b == nil {
		return nil, errCoreNotReady
	}
	return l.withSuites(b.p.ClientConfig(proto, serverName))
}

// clusterBindAddr is the cluster listener's address: the first tcp
// listener's cluster_address, or its API port + 1.
func clusterBindAddr(cfg *config.Config) (string, error) {
	var l *config.Listener
	for _, cand := range cfg.Listeners {
		if cand.Type == "tcp" {
			l = cand
			break
		}
	}
	if l == nil {
		return "", errors.New("no tcp listener to derive the cluster address from")
	}
	if l.ClusterAddress != "" {
		return l.ClusterAddress, nil
	}
	host, port, err := net.SplitHostPort(l.Address)
	if err != nil {
		return "", fmt.Errorf("listener address %q: %w", l.Address, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p == 0 {
		return "", fmt.Errorf("cannot derive a cluster port from listener address %q: set cluster_address", l.Address)
	}
	return net.JoinHostPort(host, strconv.Itoa(p+1)), nil
}

// startCluster opens the cluster port.
func startCluster(ctx context.Context, cfg *config.Config, tlsp *lateTLS, logger *slog.Logger) (*cluster.Listener, error) {
	addr, err := clusterBindAddr(cfg)
	if err != nil {
		return nil, err
	}
	cl, err := cluster.Listen(ctx, addr, tlsp, logger.With("component", "cluster"))
	if err != nil {
		return nil, fmt.Errorf("cluster listener %s: %w", addr, err)
	}
	return cl, nil
}

// retryJoinTargets turns retry_join blocks into join requests.
func retryJoinTargets(s *config.Storage) []raftops.JoinRequest {
	out := make([]raftops.JoinRequest, 0, len(s.RetryJoin))
	// Vault's retry_join_as_non_voter, or non_voter: join as a non-voter.
	nonVoter := false
	for _, key := range []string{"non_voter", "retry_join_as_non_voter"} {
		if v, err := strconv.ParseBool(strings.TrimSpace(s.Config[key])); err == nil && v {
			nonVoter = true
		}
	}
	for _, rj := range s.RetryJoin {
		if rj.LeaderAPIAddr == "" {
			continue
		}
		out = append(out, raftops.JoinRequest{
			LeaderAPIAddr: rj.LeaderAPIAddr, LeaderCACert: rj.LeaderCACert,
			LeaderClientCert: rj.LeaderClientCert, LeaderClientKey: rj.LeaderClientKey,
			LeaderCACertFile: rj.LeaderCACertFile, LeaderClientCertFile: rj.LeaderClientCertFile,
			LeaderClientKeyFile: rj.LeaderClientKeyFile, LeaderTLSServerName: rj.LeaderTLSServerName,
			NonVoter: nonVoter, AllowHTTPLeader: rj.LeaderAllowHTTP,
		})
	}
	return out
}
