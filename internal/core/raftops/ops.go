package raftops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/strongbox/strongbox/internal/barrier"
	"github.com/strongbox/strongbox/internal/cluster"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
)

// RaftPeer is one server of the raft configuration.
type RaftPeer struct {
	ID      string
	Address string
	Leader  bool
	Voter   bool
}

// RaftStorage is integrated raft storage as the core drives it: the
// storage, its leadership and its membership. Raft storage implements the
// core's whole HA contract besides; this is the part the room uses.
type RaftStorage interface {
	physical.Backend
	// NodeID is this node's identity in the cluster.
	NodeID() string
	// IsLeader reports whether this node leads right now.
	IsLeader() bool
	// LeaderID returns the current leader's node id ("" when unknown).
	LeaderID() string
	// HasState reports whether this node was bootstrapped or joined.
	HasState() bool
	// Bootstrap makes this node a one-node cluster.
	Bootstrap(ctx context.Context) error
	// AddPeer adds a server (as a voter or not) through the leader.
	AddPeer(ctx context.Context, id, addr string, voter bool) error
	// RemovePeer removes a server through the leader.
	RemovePeer(ctx context.Context, id string) error
	// Peers returns the current configuration.
	Peers(ctx context.Context) ([]RaftPeer, error)
}

// Config is what the core hands New.
type Config struct {
	// Physical is the node's storage; raft operations run only when it is
	// RaftStorage (snapshots: SnapshotStorage; autopilot: AutopilotStorage).
	Physical physical.Backend
	// Barrier is the core's barrier: the room keeps its records in it.
	Barrier *barrier.Barrier
	Logger  *slog.Logger
	// ClusterAddr is this node's cluster address, sent when it joins.
	ClusterAddr string
	// Version is the server's version, the default upgrade version.
	Version string
}

// Ops is the raft operations of one core.
type Ops struct {
	host     Host
	conf     Config
	logger   *slog.Logger
	physical physical.Backend
	barrier  *barrier.Barrier

	challenges challenges
	joinRetry  joinRetry
	ctls       clusterTLS
	// snaps is raft snapshot state: restores, the snapshot key, the
	// automated snapshot scheduler (snapshot.go, snapshot_auto.go).
	snaps snapshotState
}

// New builds the raft operations of a core; host is the core.
func New(host Host, conf Config) *Ops {
	if conf.Logger == nil {
		conf.Logger = slog.Default()
	}
	o := &Ops{host: host, conf: conf, logger: conf.Logger, physical: conf.Physical, barrier: conf.Barrier}
	o.ctls.o = o
	return o
}

// Paths are the room's sys/ endpoints (patterns relative to the sys/
// mount), those that apply to the node's storage. The core calls it when it
// builds the sys backend, under the state lock, each time the node becomes
// active: that hands autopilot the core and starts the activation's
// automated snapshot scheduler.
func (o *Ops) Paths() []*logical.Path {
	var paths []*logical.Path
	paths = append(paths, o.raftJoinPaths()...)
	paths = append(paths, o.raftPaths()...)
	paths = append(paths, o.autopilotPaths()...)
	paths = append(paths, o.snapshotPaths()...)
	paths = append(paths, o.rawSnapshotPaths()...)
	return paths
}

// RootPaths are the room's sys/ paths that need sudo.
var RootPaths = []string{
	"storage/raft/remove-peer",
	"storage/raft/snapshot", "storage/raft/snapshot-force", "storage/raft/snapshot-auto/config", "storage/raft/snapshot-auto/config/*",
}

// UnauthenticatedPaths are the room's sys/ paths served without a token:
// the join handshake (a joiner has no token).
var UnauthenticatedPaths = []string{"storage/raft/bootstrap/*"}

// raftTLSKey holds the raft TLS keyring, inside the barrier.
const raftTLSKey = "core/raft/tls"

func (o *Ops) raftStorage() RaftStorage {
	r, _ := o.physical.(RaftStorage)
	return r
}

// Bootstrap makes a fresh node a one-node cluster and waits until it
// leads, so init's writes can commit. Nothing without raft storage.
func (o *Ops) Bootstrap(ctx context.Context) error {
	r := o.raftStorage()
	if r == nil {
		return nil
	}
	if !r.HasState() {
		if err := r.Bootstrap(ctx); err != nil {
			return fmt.Errorf("bootstrap raft: %w", err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for !r.IsLeader() {
		if time.Now().After(deadline) {
			return errors.New("bootstrap raft: this node did not become leader within 30s")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// CreateTLS creates and stores the raft TLS keyring at init, and issues
// this (first) node its certificate. The barrier must be open. Nothing
// without raft storage.
func (o *Ops) CreateTLS(ctx context.Context) error {
	r := o.raftStorage()
	if r == nil {
		return nil
	}
	k, err := cluster.NewKeyring()
	if err != nil {
		return err
	}
	if err := o.storeRaftKeyring(ctx, k); err != nil {
		return err
	}
	nc, err := o.issueNodeCert(ctx, k, r.NodeID())
	if err != nil {
		return err
	}
	return o.ctls.install(k, nc)
}

// LoadTLS reads the raft TLS keyring and this node's certificate from the
// barrier and installs them (at unseal, and after a restore). Nothing
// without raft storage.
func (o *Ops) LoadTLS(ctx context.Context) error {
	if o.raftStorage() == nil {
		return nil
	}
	k, err := o.readRaftKeyring(ctx)
	if err != nil {
		return err
	}
	if k == nil {
		return errors.New("raft TLS keyring missing from storage")
	}
	return o.installRaftTLS(ctx, k)
}

// ClearTLS forgets the raft keyring and this node's certificate (at seal):
// the node takes no part in raft until it is unsealed again.
func (o *Ops) ClearTLS() { o.ctls.clear() }

// urlHostPort returns host:port of an address URL ("https://h:8201").
func urlHostPort(addr string) string {
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" {
		return addr
	}
	return u.Host
}

// raftIndexer is implemented by raft storage.
type raftIndexer interface {
	CommittedIndex() uint64
	AppliedIndex() uint64
}

// committedIndex is raft's committed index (0 without raft storage).
func (o *Ops) committedIndex() uint64 {
	if r, ok := o.physical.(raftIndexer); ok {
		return r.CommittedIndex()
	}
	return 0
}

// str builds a string field schema tersely.
func str(desc string) *logical.FieldSchema {
	return &logical.FieldSchema{Type: logical.TypeString, Description: desc}
}
