package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"time"

	"github.com/strongbox/strongbox/internal/cluster"
	"github.com/strongbox/strongbox/internal/config"
	"github.com/strongbox/strongbox/internal/core"
	"github.com/strongbox/strongbox/internal/core/raftops"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical/raft"
)

// raftStorage adapts the raft backend to the core's RaftStorage and
// AutopilotStorage.
type raftStorage struct {
	*raft.Backend
	pilot *raft.Autopilot
}

func (r raftStorage) LeaderID() string {
	id, _ := r.Leader()
	return id
}

func (r raftStorage) HasState() bool { return r.Initialized() }

func (r raftStorage) Peers(ctx context.Context) ([]raftops.RaftPeer, error) {
	conf, err := r.Configuration(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]raftops.RaftPeer, 0, len(conf))
	for _, p := range conf {
		out = append(out, raftops.RaftPeer{ID: p.ID, Address: p.Address, Leader: p.Leader, Voter: p.Voter})
	}
	return out, nil
}

var (
	_ raftops.RaftStorage      = raftStorage{}
	_ raftops.AutopilotStorage = raftStorage{}
)

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
	return raftStorage{Backend: b, pilot: raft.NewAutopilot(b)}, nil
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
	// Restores and uploads to S3 are spooled on the data volume.
	c.ConfigureSnapshots(filepath.Join(cfg.Storage.Config["path"], "snapshot-spool"))
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

// EnableAutopilot implements raftops.AutopilotStorage.
func (r raftStorage) EnableAutopilot(app raftops.AutopilotApp) { r.pilot.Enable(autopilotApp{app}) }

// SetAutopilotConfig implements raftops.AutopilotStorage.
func (r raftStorage) SetAutopilotConfig(c raftops.AutopilotConfig) {
	r.pilot.SetConfig(raft.AutopilotConfig(c))
}

// AutopilotState implements raftops.AutopilotStorage: the state as the JSON
// object the API returns.
func (r raftStorage) AutopilotState() map[string]any {
	st := r.pilot.State()
	if st == nil {
		return nil
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return nil
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil
	}
	return out
}

// AutopilotLocal implements raftops.AutopilotStorage.
func (r raftStorage) AutopilotLocal() raftops.AutopilotLocal {
	return raftops.AutopilotLocal(r.Backend.AutopilotLocal())
}

// JoinPeer implements raftops.AutopilotStorage.
func (r raftStorage) JoinPeer(ctx context.Context, id, addr string, nonVoter bool) error {
	return r.pilot.AddServer(ctx, id, addr, nonVoter)
}

// autopilotApp adapts the core to raft.AutopilotApp.
type autopilotApp struct{ app raftops.AutopilotApp }

func (a autopilotApp) AutopilotActive() bool { return a.app.AutopilotActive() }

func (a autopilotApp) LoadAutopilot(ctx context.Context) (raft.AutopilotConfig, []byte, error) {
	c, records, err := a.app.LoadAutopilot(ctx)
	return raft.AutopilotConfig(c), records, err
}

func (a autopilotApp) SaveAutopilotServers(ctx context.Context, records []byte) error {
	return a.app.SaveAutopilotServers(ctx, records)
}

func (a autopilotApp) AutopilotSelf() raft.FollowerReport {
	return raft.FollowerReport(a.app.AutopilotSelf())
}

func (a autopilotApp) AutopilotFollowers() map[string]raft.FollowerReport {
	in := a.app.AutopilotFollowers()
	out := make(map[string]raft.FollowerReport, len(in))
	for id, f := range in {
		out[id] = raft.FollowerReport(f)
	}
	return out
}
