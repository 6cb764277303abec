package raft

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	uuid "github.com/hashicorp/go-uuid"
	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

const (
	nodeIDFileName = "node-id"
	// retainSnapshots is how many raft snapshots are kept on disk.
	retainSnapshots = 2
	// transportTimeout bounds one raft RPC's I/O (as Vault).
	transportTimeout = 10 * time.Second
	// transportMaxPool is the pooled connections per peer.
	transportMaxPool = 3
)

// Backend is the raft storage backend: a physical.Transactional whose
// writes are replicated through raft, plus the cluster controls the core
// needs (bootstrap, membership, leadership, snapshots). All methods are safe
// for concurrent use; none but Close may be called after Close.
type Backend struct {
	conf             Config
	dir              string
	logger           *slog.Logger
	nodeID           string
	heartbeatTimeout time.Duration // raft's, after the multiplier
	leaderLease      time.Duration // raft's, after the multiplier

	fsm     *fsm
	wal     *wal.WAL
	walMeta *metadb.BoltMetaDB
	snaps   *raft.FileSnapshotStore
	trans   *raft.NetworkTransport
	raft    *raft.Raft

	writes   *batcher
	leaders  *leaderWatch
	barriers *barrierGroup
	verifies *barrierGroup
	// acks records which followers accepted this leader's RPCs, and when
	// they were sent (readindex.go).
	acks *ackTransport

	leaderMu  sync.Mutex // orders leadership changes
	leaderGen uint64     // bumped by each raft notification
	ready     atomic.Bool

	closeOnce sync.Once
	closeErr  error
	closed    chan struct{}
	bg        sync.WaitGroup
}

// New opens (creating if needed) the raft storage in conf.Path and starts
// raft. A node without raft state waits for Bootstrap or to be added to a
// cluster by its leader. If vault.db is behind the newest raft snapshot
// (lost, or a restore was interrupted), the snapshot is installed first; it
// is never rolled back to an older state.
func New(ctx context.Context, conf Config) (*Backend, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("raft storage: %w", err)
	}
	conf, err := conf.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Backend{
		conf:     conf,
		dir:      conf.Path,
		logger:   conf.Logger,
		closed:   make(chan struct{}),
		leaders:  newLeaderWatch(),
		barriers: &barrierGroup{},
		verifies: &barrierGroup{},
	}
	ok := false
	defer func() {
		if !ok {
			b.release()
		}
	}()
	walDir := filepath.Join(b.dir, "raft", "wal")
	if err := os.MkdirAll(walDir, 0o700); err != nil {
		return nil, fmt.Errorf("raft storage: create %s: %w", walDir, err)
	}
	if b.nodeID, err = resolveNodeID(b.dir, conf.NodeID); err != nil {
		return nil, err
	}
	// vault.db first: its file lock keeps a second server off the path
	// before anything else (raft-wal's own lock would wait forever).
	if b.fsm, err = openFSM(filepath.Join(b.dir, fsmFileName), b.logger); err != nil {
		return nil, err
	}
	b.removeStaleSpools()
	if b.wal, b.walMeta, err = openLogStore(walDir, conf.walSegmentSize, b.logger); err != nil {
		return nil, err
	}
	if b.snaps, err = raft.NewFileSnapshotStoreWithLogger(filepath.Join(b.dir, "raft"), retainSnapshots, newHCLogger(b.logger, "raft-snapshots")); err != nil {
		return nil, fmt.Errorf("raft storage: open snapshot store: %w", err)
	}
	hasState, err := raft.HasExistingState(b.wal, b.wal, b.snaps)
	if err != nil {
		return nil, fmt.Errorf("raft storage: inspect raft state: %w", err)
	}
	if idx := b.fsm.applied.Load(); !hasState && idx > 0 {
		return nil, fmt.Errorf("raft storage: %s reflects raft log index %d but %s holds no raft state; "+
			"restore the raft directory, or remove vault.db to join a cluster as a fresh node",
			b.fsm.path, idx, filepath.Join(b.dir, "raft"))
	}
	if err := b.reconcileSnapshot(); err != nil {
		return nil, err
	}
	if b.trans, err = newTransport(conf, b.logger); err != nil {
		return nil, err
	}
	notify := make(chan bool, 1)
	rc := conf.raftConfig(b.nodeID, notify)
	b.heartbeatTimeout = rc.HeartbeatTimeout
	b.leaderLease = rc.LeaderLeaseTimeout
	b.acks = newAckTransport(b.trans)
	b.raft, err = raft.NewRaft(rc, b.fsm, b.wal, b.wal, b.snaps, b.acks)
	if err != nil {
		return nil, fmt.Errorf("raft storage: start raft: %w", err)
	}
	if hasState {
		// A restarted one-node server leads again at once.
		b.startSoleVoterElection()
	}
	b.writes = newBatcher(b.raft.Apply, conf.ApplyTimeout, min(coalesceTarget, conf.MaxEntrySize), pipelineDepth, conf.noCoalesce)
	b.bg.Add(1)
	go b.watchLeadership(notify)
	ok = true
	b.logger.Info("raft storage opened", "path", b.dir, "node_id", b.nodeID,
		"address", string(b.trans.LocalAddr()), "applied_index", b.fsm.applied.Load(), "has_state", hasState)
	return b, nil
}

// removeStaleSpools deletes snapshot spools a crash left behind; it runs
// under vault.db's lock, so no restore of ours is using them.
func (b *Backend) removeStaleSpools() {
	for _, pattern := range []string{
		filepath.Join(b.dir, fsmFileName+".restore-*"),
		filepath.Join(b.dir, "raft", userSpoolName+".restore-*"),
	} {
		stale, _ := filepath.Glob(pattern)
		for _, p := range stale {
			if err := os.Remove(p); err != nil {
				b.logger.Warn("raft storage: remove stale snapshot spool", "path", p, "error", err)
			}
		}
	}
}

// reconcileSnapshot installs the newest raft snapshot into vault.db when
// vault.db does not already reflect it. Raft itself is told not to restore
// on start (its restore would roll a durable FSM back and replay the log).
func (b *Backend) reconcileSnapshot() error {
	list, err := b.snaps.List()
	if err != nil {
		return fmt.Errorf("raft storage: list snapshots: %w", err)
	}
	if len(list) == 0 || b.fsm.applied.Load() >= list[0].Index {
		return nil
	}
	latest := list[0]
	meta, rc, err := b.snaps.Open(latest.ID)
	if err != nil {
		return fmt.Errorf("raft storage: open snapshot %s: %w", latest.ID, err)
	}
	defer func() { _ = rc.Close() }()
	h, err := readSnapshotHeader(rc)
	if err != nil {
		return fmt.Errorf("raft storage: snapshot %s: %w", latest.ID, err)
	}
	// The snapshot's own index is that of the last entry its data reflects;
	// entries after it up to meta.Index changed nothing (barriers, no-ops).
	// If vault.db already reflects that entry, it holds the same data.
	if h.index != 0 && h.index <= b.fsm.applied.Load() {
		return nil
	}
	b.logger.Info("raft storage: vault.db is behind the newest snapshot; installing it",
		"applied_index", b.fsm.applied.Load(), "snapshot_index", meta.Index)
	if err := b.fsm.install(h, rc, meta.Index, meta.Term); err != nil {
		return fmt.Errorf("raft storage: install snapshot %s: %w", latest.ID, err)
	}
	return nil
}

// resolveNodeID returns the configured ID, else the one persisted in
// <dir>/node-id, else a new UUID which it persists there.
func resolveNodeID(dir, configured string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	path := filepath.Join(dir, nodeIDFileName)
	raw, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(raw)) != "" {
		return strings.TrimSpace(string(raw)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("raft storage: read %s: %w", path, err)
	}
	id, err := uuid.GenerateUUID()
	if err != nil {
		return "", fmt.Errorf("raft storage: generate node ID: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(id), 0o600); err != nil {
		return "", fmt.Errorf("raft storage: write %s: %w", tmp, err)
	}
	if err := syncFile(tmp); err != nil {
		return "", fmt.Errorf("raft storage: fsync %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("raft storage: write %s: %w", path, err)
	}
	if err := syncDir(path); err != nil {
		return "", fmt.Errorf("raft storage: fsync %s: %w", dir, err)
	}
	return id, nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	return f.Sync()
}

// newTransport builds raft's network transport on conf.StreamLayer, or on a
// plain TCP listener at conf.BindAddr.
func newTransport(conf Config, logger *slog.Logger) (*raft.NetworkTransport, error) {
	tc := &raft.NetworkTransportConfig{
		Stream:  conf.StreamLayer,
		MaxPool: transportMaxPool,
		Timeout: transportTimeout,
		Logger:  newHCLogger(logger, "raft-transport"),
	}
	if conf.StreamLayer != nil {
		return raft.NewNetworkTransportWithConfig(tc), nil
	}
	var advertise net.Addr
	if conf.AdvertiseAddr != "" {
		a, err := net.ResolveTCPAddr("tcp", conf.AdvertiseAddr)
		if err != nil {
			return nil, fmt.Errorf("raft storage: advertise address %q: %w", conf.AdvertiseAddr, err)
		}
		advertise = a
	}
	t, err := raft.NewTCPTransportWithConfig(conf.BindAddr, advertise, tc)
	if err != nil {
		return nil, fmt.Errorf("raft storage: listen on %q: %w", conf.BindAddr, err)
	}
	return t, nil
}

// Close shuts raft down (this node leaves no state half-written; it stays
// a member of the cluster), stops the write dispatcher and closes the log
// and vault.db. Writes still waiting fail with ErrClosed. Leadership
// watchers' channels are closed. Calling Close again returns the first
// result.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		close(b.closed)
		b.closeErr = b.release()
		b.logger.Info("raft storage closed", "node_id", b.nodeID)
	})
	return b.closeErr
}

// release stops whatever New started, in dependency order.
func (b *Backend) release() error {
	var errs []error
	if b.writes != nil {
		b.writes.close()
	}
	if b.raft != nil {
		// Shutdown also closes the transport (and so the stream layer).
		if err := b.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("raft storage: shut down raft: %w", err))
		}
	} else if b.trans != nil {
		errs = append(errs, b.trans.Close())
	} else if b.conf.StreamLayer != nil {
		errs = append(errs, b.conf.StreamLayer.Close())
	}
	b.bg.Wait()
	b.leaders.close()
	if b.wal != nil {
		if err := b.wal.Close(); err != nil {
			errs = append(errs, fmt.Errorf("raft storage: close log: %w", err))
		}
	}
	if b.walMeta != nil {
		if err := b.walMeta.Close(); err != nil {
			errs = append(errs, fmt.Errorf("raft storage: close log metadata: %w", err))
		}
	}
	if b.fsm != nil {
		errs = append(errs, b.fsm.close())
	}
	return errors.Join(errs...)
}
