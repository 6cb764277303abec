package raft

import (
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"
)

// Defaults for Config fields left zero.
const (
	// VaultPerformanceMultiplier is Vault's default multiplier (timers five
	// times raft's base values). Strongbox's default timers (performance_
	// multiplier unset) are defaultTiming instead; an explicit multiplier
	// scales the base timers exactly as Vault does.
	VaultPerformanceMultiplier = 5
	// MaxPerformanceMultiplier is the largest multiplier accepted (as Vault).
	MaxPerformanceMultiplier = 10
	// DefaultApplyTimeout bounds how long a write waits to be committed and
	// applied before it fails with ErrCommitTimeout.
	DefaultApplyTimeout = 10 * time.Second
	// DefaultMaxEntrySize is the largest encoded write (one Put or one
	// Transaction) accepted. Vault's default is 1 MiB; ours is larger because
	// the storage contract (physicaltest) requires 4 MiB values.
	DefaultMaxEntrySize = 8 << 20
	// minMaxEntrySize keeps max_entry_size from making every write fail.
	minMaxEntrySize = 1024
)

// Raft's base timers, multiplied by the performance multiplier. They are
// hashicorp/raft's defaults.
const (
	baseHeartbeatTimeout   = 1000 * time.Millisecond
	baseElectionTimeout    = 1000 * time.Millisecond
	baseLeaderLeaseTimeout = 500 * time.Millisecond
)

// Config configures a Backend. Zero values take the documented defaults.
type Config struct {
	// Path is the data directory (required); see the package doc for its layout.
	Path string
	// NodeID names this node in the raft configuration, unique across the
	// cluster for all time. Empty: read <Path>/node-id, or generate a UUID
	// once and persist it there.
	NodeID string
	// Logger receives the backend's and raft's logs; nil discards them.
	Logger *slog.Logger

	// PerformanceMultiplier scales raft's timers as Vault does (heartbeat
	// and election timeouts 1s×m, leader lease 500ms×m; the allowed range
	// is 1–10). 0 (unset) means Strongbox's defaults, defaultTiming:
	// heartbeat and election 1 s, leader lease 800 ms (failover under 3 s).
	// Higher values tolerate longer disk or network stalls without an
	// election, at the cost of a slower failover (≈ 1–2 heartbeat timeouts);
	// Vault's own default is 5.
	PerformanceMultiplier int
	// SnapshotThreshold is how many log entries since the last snapshot
	// trigger a new one (0: raft's default, 8192).
	SnapshotThreshold uint64
	// TrailingLogs is how many entries are kept in the log after a snapshot,
	// so a briefly absent follower catches up from the log instead of a
	// whole snapshot (0: raft's default, 10240).
	TrailingLogs uint64
	// SnapshotInterval is how often raft checks SnapshotThreshold (0: raft's
	// default, 120s; raft adds up to the same again as jitter).
	SnapshotInterval time.Duration

	// StreamLayer carries raft RPCs: in production the cluster port's raft
	// ALPN stream. Its Addr() must be the address peers dial, and Dial gets
	// peers' addresses as given to AddPeer. nil: listen on BindAddr with
	// plain TCP (tests). The backend owns it from New on: Close closes it,
	// and so does New when it fails.
	StreamLayer raft.StreamLayer
	// BindAddr is the TCP listen address when StreamLayer is nil
	// (default "127.0.0.1:0", a random port).
	BindAddr string
	// AdvertiseAddr is the address peers dial when StreamLayer is nil and it
	// differs from the bound address. It must be an IP:port.
	AdvertiseAddr string

	// NonVoter marks a node meant to join as a non-voter (read replica).
	// The joining flow reads it; a non-voter cannot Bootstrap.
	NonVoter bool
	// AutopilotRedundancyZone names this node's redundancy zone: autopilot
	// keeps one voter per zone and the other members as non-voters ready to
	// replace it (autopilot.go).
	AutopilotRedundancyZone string
	// AutopilotUpgradeVersion is the version autopilot's automated upgrades
	// compare (a semantic version); empty means the server binary's version.
	AutopilotUpgradeVersion string
	// AutopilotReconcileInterval is how often autopilot applies promotions,
	// demotions and removals (0: DefaultAutopilotReconcileInterval).
	AutopilotReconcileInterval time.Duration
	// AutopilotUpdateInterval is how often autopilot refreshes its view of
	// the servers' health (0: DefaultAutopilotUpdateInterval).
	AutopilotUpdateInterval time.Duration

	// ApplyTimeout bounds every write, ConsistentRead and cluster change:
	// when raft cannot commit in that time (quorum lost) the call fails with
	// ErrCommitTimeout instead of hanging. 0: DefaultApplyTimeout.
	ApplyTimeout time.Duration
	// MaxEntrySize is the largest encoded write accepted (0: DefaultMaxEntrySize).
	MaxEntrySize int

	// timing, when set, replaces the base timers (tests run fast elections).
	timing *timing
	// noCoalesce sends every write as its own raft entry (benchmarks).
	noCoalesce bool
	// walSegmentSize, when set, replaces raft-wal's 64 MiB segments (tests
	// need sealed segments so that compaction really drops entries).
	walSegmentSize int
}

// timing holds raft's timers before the multiplier is applied.
type timing struct {
	heartbeat, election, lease, commit time.Duration
}

// defaultTiming is used when performance_multiplier is unset: failover
// after a kill -9 of the leader in under 3 s (a follower stands after one
// to two heartbeat timeouts without contact; pre-vote keeps a node that
// merely missed heartbeats, e.g. paused or on a stalled disk, from
// deposing a healthy leader), while a 200 ms delay on every link (heartbeat
// round trips of 500–600 ms) stays inside the leader lease. The lease is
// longer than Vault's 500 ms at multiplier 1 for that reason; it must stay
// below the heartbeat timeout (raft requires lease <= heartbeat, and the
// sole-voter election in cluster.go lowers the timeout towards the lease).
// README.md ("Raft timers") and bench/results/2026-12-07-raft.txt record
// the measurements.
var defaultTiming = timing{
	heartbeat: 1000 * time.Millisecond,
	election:  1000 * time.Millisecond,
	lease:     800 * time.Millisecond,
}

// withDefaults validates conf and fills in defaults.
func (c Config) withDefaults() (Config, error) {
	if strings.TrimSpace(c.Path) == "" {
		return c, fmt.Errorf(`raft storage: "path" is required: the directory that holds the raft log and data`)
	}
	switch {
	case c.PerformanceMultiplier < 0 || c.PerformanceMultiplier > MaxPerformanceMultiplier:
		return c, fmt.Errorf("raft storage: performance_multiplier must be between 0 and %d, got %d", MaxPerformanceMultiplier, c.PerformanceMultiplier)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ApplyTimeout <= 0 {
		c.ApplyTimeout = DefaultApplyTimeout
	}
	switch {
	case c.MaxEntrySize == 0:
		c.MaxEntrySize = DefaultMaxEntrySize
	case c.MaxEntrySize < minMaxEntrySize:
		return c, fmt.Errorf("raft storage: max_entry_size must be at least %d bytes, got %d", minMaxEntrySize, c.MaxEntrySize)
	}
	if c.StreamLayer == nil && c.BindAddr == "" {
		c.BindAddr = "127.0.0.1:0"
	}
	return c, nil
}

// raftConfig builds hashicorp/raft's configuration.
func (c Config) raftConfig(nodeID string, notify chan<- bool) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(nodeID)
	rc.Logger = newHCLogger(c.Logger, "raft")
	rc.NotifyCh = notify
	t := timing{heartbeat: baseHeartbeatTimeout, election: baseElectionTimeout, lease: baseLeaderLeaseTimeout, commit: rc.CommitTimeout}
	m := time.Duration(c.PerformanceMultiplier)
	if m == 0 {
		t, m = defaultTiming, 1
		t.commit = rc.CommitTimeout
	}
	if c.timing != nil {
		t = *c.timing
	}
	rc.HeartbeatTimeout = t.heartbeat * m
	rc.ElectionTimeout = t.election * m
	rc.LeaderLeaseTimeout = t.lease * m
	rc.CommitTimeout = t.commit
	if c.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = c.SnapshotThreshold
	}
	if c.TrailingLogs > 0 {
		rc.TrailingLogs = c.TrailingLogs
	}
	if c.SnapshotInterval > 0 {
		rc.SnapshotInterval = c.SnapshotInterval
	}
	// The FSM is durable and knows which index it reflects (open.go decides
	// whether a snapshot must be restored); restoring raft's snapshot on
	// every start would roll the FSM back and replay the log over it.
	rc.NoSnapshotRestoreOnStart = true
	// Let raft take up to MaxAppendEntries queued applies per disk write.
	rc.BatchApplyCh = true
	rc.MaxAppendEntries = 64
	return rc
}

// ConfigFromMap parses Vault's `storage "raft"` stanza keys: path, node_id,
// performance_multiplier, snapshot_threshold, trailing_logs,
// snapshot_interval, non_voter (also Vault's retry_join_as_non_voter),
// max_entry_size, autopilot_redundancy_zone, autopilot_upgrade_version,
// autopilot_reconcile_interval and autopilot_update_interval. Other keys
// (retry_join, …) belong to other layers and are ignored. The caller sets
// Logger, StreamLayer and addresses. Durations are Go durations ("30s") or
// whole seconds ("30").
func ConfigFromMap(m map[string]string) (Config, error) {
	var c Config
	c.Path = strings.TrimSpace(m["path"])
	if c.Path == "" {
		return c, fmt.Errorf(`raft storage: "path" is required: the directory that holds the raft log and data`)
	}
	c.NodeID = strings.TrimSpace(m["node_id"])
	var err error
	if v, ok := m["performance_multiplier"]; ok {
		if c.PerformanceMultiplier, err = parseInt("performance_multiplier", v, 0, MaxPerformanceMultiplier); err != nil {
			return c, err
		}
	}
	if v, ok := m["snapshot_threshold"]; ok {
		if c.SnapshotThreshold, err = parseUint("snapshot_threshold", v); err != nil {
			return c, err
		}
	}
	if v, ok := m["trailing_logs"]; ok {
		if c.TrailingLogs, err = parseUint("trailing_logs", v); err != nil {
			return c, err
		}
	}
	if v, ok := m["snapshot_interval"]; ok {
		if c.SnapshotInterval, err = parseDuration("snapshot_interval", v); err != nil {
			return c, err
		}
	}
	for _, key := range []string{"non_voter", "retry_join_as_non_voter"} {
		if v, ok := m[key]; ok {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return c, fmt.Errorf("raft storage: %s must be true or false, got %q", key, v)
			}
			c.NonVoter = c.NonVoter || b
		}
	}
	if v, ok := m["max_entry_size"]; ok {
		if c.MaxEntrySize, err = parseInt("max_entry_size", v, minMaxEntrySize, math.MaxInt32); err != nil {
			return c, err
		}
	}
	c.AutopilotRedundancyZone = strings.TrimSpace(m["autopilot_redundancy_zone"])
	if v := strings.TrimSpace(m["autopilot_upgrade_version"]); v != "" {
		if _, err := parseVersion(v); err != nil {
			return c, fmt.Errorf("raft storage: autopilot_upgrade_version %q: %w", v, err)
		}
		c.AutopilotUpgradeVersion = v
	}
	if v, ok := m["autopilot_reconcile_interval"]; ok {
		if c.AutopilotReconcileInterval, err = parseDuration("autopilot_reconcile_interval", v); err != nil {
			return c, err
		}
	}
	if v, ok := m["autopilot_update_interval"]; ok {
		if c.AutopilotUpdateInterval, err = parseDuration("autopilot_update_interval", v); err != nil {
			return c, err
		}
	}
	return c, nil
}

func parseInt(key, v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("raft storage: %s must be an integer, got %q", key, v)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("raft storage: %s must be between %d and %d, got %d", key, lo, hi, n)
	}
	return n, nil
}

func parseUint(key, v string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("raft storage: %s must be a non-negative integer, got %q", key, v)
	}
	return n, nil
}

func parseDuration(key, v string) (time.Duration, error) {
	s := strings.TrimSpace(v)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > int64(math.MaxInt64/time.Second) {
			return 0, fmt.Errorf("raft storage: %s must be a non-negative duration, got %q", key, v)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("raft storage: %s must be a duration such as \"120s\", got %q", key, v)
	}
	if d < 0 {
		return 0, fmt.Errorf("raft storage: %s must be a non-negative duration, got %q", key, v)
	}
	return d, nil
}
