package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/strongbox/strongbox/internal/cluster"
	"github.com/strongbox/strongbox/internal/config"
	"github.com/strongbox/strongbox/internal/core"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical/raft"
)

// raftStorage adapts the raft backend to the core's RaftStorage.
type raftStorage struct {
	*raft.Backend
}

func (r raftStorage) LeaderID() string {
	id, _ := r.Leader()
	return id
}

func (r raftStorage) HasState() bool { return r.Initialized() }

func (r raftStorage) Peers(ctx context.Context) ([]core.RaftPeer, error) {
	conf, err := r.Configuration(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]core.RaftPeer, 0, len(conf))
	for _, p := range conf {
		out = append(out, core.RaftPeer{ID: p.ID, Address: p.Address, Leader: p.Leader, Voter: p.Voter})
	}
	return out, nil
}

var _ core.RaftStorage = raftStorage{}

// openRaft opens raft storage carried over the cluster port.
func openRaft(ctx context.Context, cfg *config.Config, cl *cluster.Listener, logger *slog.Logger) (raftStorage, error) {
	rc, err := raft.ConfigFromMap(cfg.Storage.Config)
	if err != nil {
		return raftStorage{}, fmt.Errorf("storage raft: %w", err)
	}
	advertise, err := advertisedClusterAddr(cfg.ClusterAddr, cl)
	if err != nil {
		return raftStorage{}, err
	}
	rc.Logger = logger.With("storage", "raft")
	rc.StreamLayer = cl.RaftStreamLayer(cluster.ProtoRaft, advertise)
	b, err := raft.New(ctx, rc)
	if err != nil {
		return raftStorage{}, fmt.Errorf("storage raft: %w", err)
	}
	return raftStorage{b}, nil
}

// advertisedClusterAddr is the TCP address peers dial: cluster_addr's
// host:port, or the listener's own address.
func advertisedClusterAddr(clusterAddr string, cl *cluster.Listener) (net.Addr, error) {
	if clusterAddr == "" {
		return cl.Addr(), nil
	}
	u, err := url.Parse(clusterAddr)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("cluster_addr %q must be a URL like https://10.0.0.1:8201", clusterAddr)
	}
	a, err := net.ResolveTCPAddr("tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("cluster_addr %q: %w", clusterAddr, err)
	}
	return a, nil
}

// applyRaftOptions hands the core the raft settings it acts on itself:
// tls_rotation_interval (how long a raft TLS CA issues certificates).
func applyRaftOptions(c *core.Core, cfg *config.Config) error {
	if cfg.Storage.Type != "raft" {
		return nil
	}
	v := cfg.Storage.Config["tls_rotation_interval"]
	if v == "" {
		return nil
	}
	d, err := logical.ParseDuration(v)
	if err != nil || d < time.Second {
		return fmt.Errorf("storage raft: tls_rotation_interval %q: must be a duration of at least 1s", v)
	}
	c.SetRaftTLSRotation(d)
	return nil
}
