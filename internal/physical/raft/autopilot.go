package raft

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	autopilot "github.com/hashicorp/raft-autopilot"
)

// Autopilot's defaults: Vault's for the configuration, ours for the loops.
const (
	DefaultLastContactThreshold           = 10 * time.Second
	DefaultDeadServerLastContactThreshold = 24 * time.Hour
	DefaultMaxTrailingLogs                = 1000
	DefaultServerStabilizationTime        = 10 * time.Second
	// DefaultAutopilotReconcileInterval is how often promotions, demotions
	// and removals are applied. hashicorp/raft-autopilot's own default is
	// 10s; reconciling costs a few map lookups, and a shorter interval
	// shortens the time a failed zone voter goes unreplaced.
	DefaultAutopilotReconcileInterval = 2 * time.Second
	// DefaultAutopilotUpdateInterval is how often server health is refreshed.
	DefaultAutopilotUpdateInterval = 2 * time.Second
)

// autopilotPoll is how often the supervisor rechecks that the application
// is still active (leadership changes arrive at once).
const autopilotPoll = 250 * time.Millisecond

// AutopilotConfig tunes autopilot; it is what
// sys/storage/raft/autopilot/configuration reads and writes.
type AutopilotConfig struct {
	// CleanupDeadServers removes servers gone for longer than
	// DeadServerLastContactThreshold, never leaving fewer than MinQuorum
	// potential voters.
	CleanupDeadServers bool
	// LastContactThreshold: a server not heard from for longer is unhealthy.
	LastContactThreshold time.Duration
	// DeadServerLastContactThreshold: a server not heard from for longer is
	// dead (with CleanupDeadServers only).
	DeadServerLastContactThreshold time.Duration
	// MaxTrailingLogs: a server further behind the leader's log is unhealthy.
	MaxTrailingLogs uint64
	// MinQuorum is the fewest potential voters dead server cleanup leaves.
	MinQuorum uint
	// ServerStabilizationTime: how long a non-voter must stay healthy before
	// it is promoted.
	ServerStabilizationTime time.Duration
	// DisableUpgradeMigration turns automated upgrades off.
	DisableUpgradeMigration bool
}

// DefaultAutopilotConfig is the configuration before any is set.
func DefaultAutopilotConfig() AutopilotConfig {
	return AutopilotConfig{
		LastContactThreshold:           DefaultLastContactThreshold,
		DeadServerLastContactThreshold: DefaultDeadServerLastContactThreshold,
		MaxTrailingLogs:                DefaultMaxTrailingLogs,
		ServerStabilizationTime:        DefaultServerStabilizationTime,
	}
}

// FollowerReport is what one node last said about itself in its heartbeat
// to the active node.
type FollowerReport struct {
	NodeID        string
	LastHeartbeat time.Time
	// AppliedIndex and Term are the node's raft applied index and term.
	AppliedIndex uint64
	Term         uint64
	// Version is the server binary's version; UpgradeVersion the one
	// automated upgrades compare (autopilot_upgrade_version or Version).
	Version        string
	UpgradeVersion string
	RedundancyZone string
	// NonVoter: the node is configured to stay a non-voter (read replica).
	NonVoter bool
}

// AutopilotLocal is what this node's heartbeats say about its raft storage.
type AutopilotLocal struct {
	AppliedIndex   uint64
	Term           uint64
	RedundancyZone string
	// UpgradeVersion is autopilot_upgrade_version ("" when not set).
	UpgradeVersion string
	NonVoter       bool
}

// AutopilotLocal describes this node for its heartbeats to the active node.
func (b *Backend) AutopilotLocal() AutopilotLocal {
	return AutopilotLocal{
		AppliedIndex:   b.raft.AppliedIndex(),
		Term:           b.raft.CurrentTerm(),
		RedundancyZone: b.conf.AutopilotRedundancyZone,
		UpgradeVersion: b.conf.AutopilotUpgradeVersion,
		NonVoter:       b.conf.NonVoter,
	}
}

// AutopilotApp is the application autopilot works for: the core. Its
// methods are called from autopilot's goroutines without any lock of this
// package held; they must return promptly.
type AutopilotApp interface {
	// AutopilotActive reports whether this node's core is the active node.
	// Autopilot runs only while it is and this node leads raft.
	AutopilotActive() bool
	// LoadAutopilot returns the persisted configuration and server records
	// (nil when none); called each time autopilot starts.
	LoadAutopilot(ctx context.Context) (AutopilotConfig, []byte, error)
	// SaveAutopilotServers persists the server records (versions, zones,
	// suffrage), so that a new active node knows them before servers report.
	SaveAutopilotServers(ctx context.Context, records []byte) error
	// AutopilotSelf describes this node as its heartbeat would.
	AutopilotSelf() FollowerReport
	// AutopilotFollowers returns the latest heartbeat of each standby.
	AutopilotFollowers() map[string]FollowerReport
}

// Autopilot runs hashicorp/raft-autopilot over one Backend: on the node
// that leads raft while its application is active, it tracks the servers'
// health from their heartbeats, promotes non-voters once stable, keeps one
// voter per redundancy zone, drives automated upgrades and removes dead
// servers. All methods are safe for concurrent use.
type Autopilot struct {
	b      *Backend
	logger *slog.Logger
	kick   chan struct{}

	// done is closed when the supervisor (started by Enable) returns.
	done chan struct{}

	mu      sync.Mutex
	app     AutopilotApp
	conf    AutopilotConfig
	run     *autopilotRun // non-nil while running
	records map[string]serverRecord
	// joins are the suffrage choices of servers that joined through this
	// node (true: as a non-voter), kept until a state lists the server and
	// its record takes the choice over.
	joins map[string]bool
	// saved is the last records blob persisted; saving guards one save.
	saved  string
	saving bool
}

// autopilotRun is one period of running autopilot.
type autopilotRun struct {
	ap      *autopilot.Autopilot
	cancel  context.CancelFunc
	started time.Time
}

// serverRecord is what autopilot remembers of a server across leaders.
type serverRecord struct {
	Version        string `json:"version,omitempty"`
	UpgradeVersion string `json:"upgrade_version,omitempty"`
	RedundancyZone string `json:"redundancy_zone,omitempty"`
	NonVoter       bool   `json:"non_voter,omitempty"`
	// JoinedNonVoter: the server asked to join as a non-voter.
	JoinedNonVoter bool `json:"joined_non_voter,omitempty"`
}

// NewAutopilot returns b's autopilot, idle until Enable.
func NewAutopilot(b *Backend) *Autopilot {
	return &Autopilot{
		b:      b,
		logger: b.logger.With("component", "autopilot"),
		kick:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		conf:   DefaultAutopilotConfig(),
	}
}

// Enable hands autopilot its application. From then on autopilot runs
// whenever this node leads raft and app.AutopilotActive() holds, until the
// backend closes. Later calls only wake the supervisor.
func (p *Autopilot) Enable(app AutopilotApp) {
	p.mu.Lock()
	first := p.app == nil
	if first {
		p.app = app
	}
	p.mu.Unlock()
	if first {
		go p.supervise(app)
	}
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Enabled reports whether Enable was called.
func (p *Autopilot) Enabled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.app != nil
}

// Running reports whether autopilot runs on this node now.
func (p *Autopilot) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.run != nil
}

// SetConfig replaces the configuration; a running autopilot uses it from
// its next round.
func (p *Autopilot) SetConfig(c AutopilotConfig) {
	p.mu.Lock()
	p.conf = c
	run := p.run
	p.mu.Unlock()
	p.logger.Info("autopilot configuration updated", "cleanup_dead_servers", c.CleanupDeadServers,
		"last_contact_threshold", c.LastContactThreshold, "dead_server_last_contact_threshold", c.DeadServerLastContactThreshold,
		"max_trailing_logs", c.MaxTrailingLogs, "min_quorum", c.MinQuorum,
		"server_stabilization_time", c.ServerStabilizationTime, "disable_upgrade_migration", c.DisableUpgradeMigration)
	if run != nil && c.CleanupDeadServers {
		run.ap.RemoveDeadServers()
	}
}

// Config returns the configuration in use.
func (p *Autopilot) Config() AutopilotConfig {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conf
}

// State returns autopilot's latest view of the cluster, or nil when
// autopilot does not run on this node.
func (p *Autopilot) State() *AutopilotState {
	p.mu.Lock()
	run := p.run
	p.mu.Unlock()
	if run == nil {
		return nil
	}
	return apiState(run.ap.GetState())
}

// AddServer adds a joining server. A non-voter is added as such and never
// promoted. A voter is added as a non-voter when autopilot is enabled and
// promoted once it has been healthy for server_stabilization_time (a
// server with another server's address replaces it); without autopilot it
// is added as a voter at once. Leader only.
func (p *Autopilot) AddServer(ctx context.Context, id, addr string, nonVoter bool) error {
	p.mu.Lock()
	enabled, run := p.app != nil, p.run
	if p.joins == nil {
		p.joins = map[string]bool{}
	}
	p.joins[id] = nonVoter
	p.mu.Unlock()
	switch {
	case nonVoter:
		return p.b.AddPeer(ctx, id, addr, false)
	case !enabled:
		return p.b.AddPeer(ctx, id, addr, true)
	case run == nil:
		return p.b.AddPeer(ctx, id, addr, false)
	}
	if err := p.b.checkOpen(ctx); err != nil {
		return fmt.Errorf("raft storage: add peer: %w", err)
	}
	errc := make(chan error, 1)
	go func() {
		errc <- run.ap.AddServer(&autopilot.Server{
			ID: raft.ServerID(id), Name: id, Address: raft.ServerAddress(addr),
			RaftVersion: raft.ProtocolVersionMax, NodeType: NodeTypeVoter,
		})
	}()
	timer := time.NewTimer(p.b.conf.ApplyTimeout)
	defer timer.Stop()
	select {
	case err := <-errc:
		if err != nil {
			return fmt.Errorf("raft storage: add peer %q: %w", id, mapRaftErr(err))
		}
	case <-timer.C:
		return fmt.Errorf("raft storage: add peer %q: %w", id, ErrCommitTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
	p.logger.Info("peer added as a non-voter; autopilot promotes it once stable", "peer_id", id, "address", addr)
	return nil
}

// supervise starts and stops autopilot as leadership and the application's
// state change, until the backend closes.
func (p *Autopilot) supervise(app AutopilotApp) {
	defer close(p.done)
	leaders, stop := p.b.WatchLeadership()
	defer stop()
	tick := time.NewTicker(autopilotPoll)
	defer tick.Stop()
	for {
		want := p.b.IsLeader() && app.AutopilotActive()
		switch running := p.Running(); {
		case want && !running:
			p.start(app)
		case !want && running:
			p.stop()
		}
		select {
		case _, ok := <-leaders:
			if !ok {
				p.stop()
				return
			}
		case <-tick.C:
		case <-p.kick:
		case <-p.b.closed:
			p.stop()
			return
		}
	}
}

// start loads the configuration and records and starts autopilot. On
// failure it logs; the supervisor tries again at its next tick.
func (p *Autopilot) start(app AutopilotApp) {
	ctx, cancel := context.WithTimeout(context.Background(), p.b.conf.ApplyTimeout)
	conf, blob, err := app.LoadAutopilot(ctx)
	cancel()
	if err != nil {
		p.logger.Warn("autopilot: cannot load its configuration; will retry", "error", err)
		return
	}
	records := map[string]serverRecord{}
	if len(blob) > 0 {
		if err := json.Unmarshal(blob, &records); err != nil {
			p.logger.Warn("autopilot: stored server records are unreadable; starting without them", "error", err)
			records = map[string]serverRecord{}
		}
	}
	run := &autopilotRun{started: time.Now()}
	d := &delegate{p: p, app: app, run: run, seen: map[string]FollowerReport{}}
	reconcile, update := p.b.conf.AutopilotReconcileInterval, p.b.conf.AutopilotUpdateInterval
	if reconcile <= 0 {
		reconcile = DefaultAutopilotReconcileInterval
	}
	if update <= 0 {
		update = DefaultAutopilotUpdateInterval
	}
	run.ap = autopilot.New(p.b.raft, d,
		autopilot.WithLogger(newHCLogger(p.b.logger, "autopilot")),
		autopilot.WithPromoter(promoter{now: time.Now}),
		autopilot.WithReconcileInterval(reconcile),
		autopilot.WithUpdateInterval(update))
	d.ap = run.ap

	p.mu.Lock()
	p.conf, p.records, p.saved, p.run = conf, records, string(blob), run
	p.mu.Unlock()

	runCtx, runCancel := context.WithCancel(context.Background())
	run.cancel = runCancel
	run.ap.Start(runCtx)
	p.logger.Info("autopilot started", "node_id", p.b.nodeID, "reconcile_interval", reconcile, "update_interval", update)
}

// stop stops a running autopilot and waits for its goroutines.
func (p *Autopilot) stop() {
	p.mu.Lock()
	run := p.run
	p.run = nil
	p.mu.Unlock()
	if run == nil {
		return
	}
	<-run.ap.Stop()
	run.cancel()
	p.logger.Info("autopilot stopped", "node_id", p.b.nodeID)
}

// saveRecords persists the records when they changed, one save at a time
// and off autopilot's goroutines (a save is a raft write).
func (p *Autopilot) saveRecords(app AutopilotApp, records map[string]serverRecord) {
	blob, err := json.Marshal(records)
	if err != nil {
		return
	}
	p.mu.Lock()
	if p.saving || string(blob) == p.saved {
		p.mu.Unlock()
		return
	}
	p.saving = true
	p.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), p.b.conf.ApplyTimeout)
		err := app.SaveAutopilotServers(ctx, blob)
		cancel()
		p.mu.Lock()
		p.saving = false
		if err == nil {
			p.saved = string(blob)
		}
		p.mu.Unlock()
		if err != nil {
			p.logger.Warn("autopilot: cannot save server records; will retry", "error", err)
		}
	}()
}
