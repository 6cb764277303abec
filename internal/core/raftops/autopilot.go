package raftops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
)

// Where autopilot keeps its configuration (the fields set through the
// API) and its server records, inside the barrier (Vault's paths).
const (
	autopilotConfigKey  = "core/raft/autopilot/configuration"
	autopilotServersKey = "core/raft/autopilot/state"
)

// minDeadServerThreshold is Vault's lower bound for
// dead_server_last_contact_threshold; below it Strongbox warns (Vault
// refuses), so that tests and drills can use seconds.
const minDeadServerThreshold = time.Minute

// AutopilotConfig is autopilot's configuration
// (sys/storage/raft/autopilot/configuration). Its fields match
// raft.AutopilotConfig one for one.
type AutopilotConfig struct {
	CleanupDeadServers             bool
	LastContactThreshold           time.Duration
	DeadServerLastContactThreshold time.Duration
	MaxTrailingLogs                uint64
	MinQuorum                      uint
	ServerStabilizationTime        time.Duration
	DisableUpgradeMigration        bool
}

// defaultAutopilotConfig is Vault's.
func defaultAutopilotConfig() AutopilotConfig {
	return AutopilotConfig{
		LastContactThreshold:           10 * time.Second,
		DeadServerLastContactThreshold: 24 * time.Hour,
		MaxTrailingLogs:                1000,
		ServerStabilizationTime:        10 * time.Second,
	}
}

// AutopilotFollower is one node's heartbeat as autopilot reads it; its
// fields match raft.FollowerReport one for one.
type AutopilotFollower struct {
	NodeID         string
	LastHeartbeat  time.Time
	AppliedIndex   uint64
	Term           uint64
	Version        string
	UpgradeVersion string
	RedundancyZone string
	NonVoter       bool
}

// AutopilotLocal is what raft storage tells this node's heartbeats; its
// fields match raft.AutopilotLocal one for one.
type AutopilotLocal struct {
	AppliedIndex   uint64
	Term           uint64
	RedundancyZone string
	UpgradeVersion string
	NonVoter       bool
}

// AutopilotApp is what autopilot asks of the core. Its methods return
// promptly; autopilot calls them from its own goroutines.
type AutopilotApp interface {
	// AutopilotActive reports whether the core is the active node.
	AutopilotActive() bool
	// LoadAutopilot returns the effective configuration and the persisted
	// server records (nil when none).
	LoadAutopilot(ctx context.Context) (AutopilotConfig, []byte, error)
	// SaveAutopilotServers persists the server records.
	SaveAutopilotServers(ctx context.Context, records []byte) error
	// AutopilotSelf describes this node as its heartbeat would.
	AutopilotSelf() AutopilotFollower
	// AutopilotFollowers returns the standbys' latest heartbeats.
	AutopilotFollowers() map[string]AutopilotFollower
}

// AutopilotStorage is raft storage running hashicorp/raft-autopilot.
type AutopilotStorage interface {
	// EnableAutopilot hands autopilot the core. Autopilot then runs on its
	// own whenever this node leads raft and the core is active, and stops
	// when either ends (demotion, seal). Idempotent.
	EnableAutopilot(app AutopilotApp)
	// SetAutopilotConfig replaces the running configuration.
	SetAutopilotConfig(conf AutopilotConfig)
	// AutopilotState returns the state in the shape of the state endpoint,
	// or nil when autopilot does not run on this node.
	AutopilotState() map[string]any
	// AutopilotLocal describes this node's raft storage for heartbeats.
	AutopilotLocal() AutopilotLocal
	// JoinPeer adds a joining server: a voter starts as a non-voter and is
	// promoted by autopilot once stable; a non-voter stays one.
	JoinPeer(ctx context.Context, id, addr string, nonVoter bool) error
}

func (o *Ops) autopilotStorage() AutopilotStorage {
	s, _ := o.physical.(AutopilotStorage)
	return s
}

// AddPeer adds a server that answered the join challenge: through
// autopilot when the storage runs it (a voter starts as a non-voter), else
// straight into the raft configuration.
func (o *Ops) AddPeer(ctx context.Context, id, addr string, nonVoter bool) error {
	if s := o.autopilotStorage(); s != nil {
		return s.JoinPeer(ctx, id, addr, nonVoter)
	}
	return o.raftStorage().AddPeer(ctx, id, addr, !nonVoter)
}

// AutopilotLocal is what this node's heartbeats tell autopilot: raft
// indexes, redundancy zone, upgrade version (the binary's by default),
// suffrage. False without autopilot storage.
func (o *Ops) AutopilotLocal() (AutopilotLocal, bool) {
	s := o.autopilotStorage()
	if s == nil {
		return AutopilotLocal{}, false
	}
	l := s.AutopilotLocal()
	if l.UpgradeVersion == "" {
		l.UpgradeVersion = o.conf.Version
	}
	return l, true
}

// autopilotPaths serve sys/storage/raft/autopilot/{state,configuration}.
// The sys backend is built each time this node becomes active, which is
// when autopilot learns of the core; from then on autopilot follows raft
// leadership and the core's active state by itself.
func (o *Ops) autopilotPaths() []*logical.Path {
	s := o.autopilotStorage()
	if s == nil {
		return nil
	}
	s.EnableAutopilot(autopilotApp{o})
	dur := func(desc string) *logical.FieldSchema {
		return &logical.FieldSchema{Type: logical.TypeDurationSecond, Description: desc}
	}
	return []*logical.Path{
		{
			Pattern: "storage/raft/autopilot/state",
			Fields:  map[string]*logical.FieldSchema{"dr_operation_token": str("unused: no DR secondaries")},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
					st := s.AutopilotState()
					if st == nil {
						return nil, nil
					}
					return &logical.Response{Data: st}, nil
				},
			},
			HelpSynopsis: "Returns the state of the raft cluster under integrated storage as seen by autopilot.",
		},
		{
			Pattern: "storage/raft/autopilot/configuration",
			Fields: map[string]*logical.FieldSchema{
				"cleanup_dead_servers":               {Type: logical.TypeBool, Description: "Remove dead servers from the raft configuration."},
				"last_contact_threshold":             dur("How long a server may go without contact before it is unhealthy."),
				"dead_server_last_contact_threshold": dur("How long a server may go without contact before it is dead."),
				"max_trailing_logs":                  {Type: logical.TypeInt, Description: "How far behind the leader's log a server may be and stay healthy."},
				"min_quorum":                         {Type: logical.TypeInt, Description: "The fewest voters dead server cleanup leaves; at least 3."},
				"server_stabilization_time":          dur("How long a new server must be healthy before it becomes a voter."),
				"disable_upgrade_migration":          {Type: logical.TypeBool, Description: "Turn automated upgrades off."},
				"dr_operation_token":                 str("unused: no DR secondaries"),
			},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation:   o.autopilotConfigRead,
				logical.UpdateOperation: o.autopilotConfigWrite,
			},
			HelpSynopsis: "Returns or sets the autopilot configuration.",
		},
	}
}

// storedAutopilotConfig is what the API set, field by field; zero means
// "not set" (Vault's merge rule), except for the booleans.
type storedAutopilotConfig struct {
	CleanupDeadServers             *bool         `json:"cleanup_dead_servers,omitempty"`
	LastContactThreshold           time.Duration `json:"last_contact_threshold,omitempty"`
	DeadServerLastContactThreshold time.Duration `json:"dead_server_last_contact_threshold,omitempty"`
	MaxTrailingLogs                uint64        `json:"max_trailing_logs,omitempty"`
	MinQuorum                      uint          `json:"min_quorum,omitempty"`
	ServerStabilizationTime        time.Duration `json:"server_stabilization_time,omitempty"`
	DisableUpgradeMigration        bool          `json:"disable_upgrade_migration,omitempty"`
}

// effective merges the stored fields over the defaults.
func (s storedAutopilotConfig) effective() AutopilotConfig {
	c := defaultAutopilotConfig()
	if s.CleanupDeadServers != nil {
		c.CleanupDeadServers = *s.CleanupDeadServers
	}
	if s.LastContactThreshold != 0 {
		c.LastContactThreshold = s.LastContactThreshold
	}
	if s.DeadServerLastContactThreshold != 0 {
		c.DeadServerLastContactThreshold = s.DeadServerLastContactThreshold
	}
	if s.MaxTrailingLogs != 0 {
		c.MaxTrailingLogs = s.MaxTrailingLogs
	}
	if s.MinQuorum != 0 {
		c.MinQuorum = s.MinQuorum
	}
	if s.ServerStabilizationTime != 0 {
		c.ServerStabilizationTime = s.ServerStabilizationTime
	}
	c.DisableUpgradeMigration = s.DisableUpgradeMigration
	return c
}

func (o *Ops) loadStoredAutopilotConfig(ctx context.Context) (storedAutopilotConfig, error) {
	var s storedAutopilotConfig
	e, err := o.barrier.Get(ctx, autopilotConfigKey)
	if err != nil {
		return s, fmt.Errorf("read autopilot configuration: %w", err)
	}
	if e == nil {
		return s, nil
	}
	if err := json.Unmarshal(e.Value, &s); err != nil {
		return s, fmt.Errorf("decode autopilot configuration: %w", err)
	}
	return s, nil
}

func (o *Ops) autopilotConfigRead(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	s, err := o.loadStoredAutopilotConfig(ctx)
	if err != nil {
		return nil, err
	}
	conf := s.effective()
	return &logical.Response{Data: map[string]any{
		"cleanup_dead_servers":               conf.CleanupDeadServers,
		"last_contact_threshold":             conf.LastContactThreshold.String(),
		"dead_server_last_contact_threshold": conf.DeadServerLastContactThreshold.String(),
		"max_trailing_logs":                  conf.MaxTrailingLogs,
		"min_quorum":                         conf.MinQuorum,
		"server_stabilization_time":          conf.ServerStabilizationTime.String(),
		"disable_upgrade_migration":          conf.DisableUpgradeMigration,
	}}, nil
}

// autopilotConfigWrite stores the fields given over the ones stored before
// and applies the result at once. As in Vault, a zero number or duration
// leaves its field as it was. Nothing changes when a value is invalid.
func (o *Ops) autopilotConfigWrite(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s, err := o.loadStoredAutopilotConfig(ctx)
	if err != nil {
		return nil, err
	}
	if v, ok := d.GetOk("cleanup_dead_servers"); ok {
		b := v.(bool)
		s.CleanupDeadServers = &b
	}
	for _, f := range []struct {
		name string
		dst  *time.Duration
	}{
		{"last_contact_threshold", &s.LastContactThreshold},
		{"dead_server_last_contact_threshold", &s.DeadServerLastContactThreshold},
		{"server_stabilization_time", &s.ServerStabilizationTime},
	} {
		if v, ok := d.GetOk(f.name); ok {
			if v.(int) < 0 {
				return nil, logical.BadRequest("%s must not be negative", f.name)
			}
			if v.(int) > 0 {
				*f.dst = time.Duration(v.(int)) * time.Second
			}
		}
	}
	if v, ok := d.GetOk("max_trailing_logs"); ok {
		if v.(int) < 0 {
			return nil, logical.BadRequest("max_trailing_logs must not be negative")
		}
		if v.(int) > 0 {
			s.MaxTrailingLogs = uint64(v.(int))
		}
	}
	if v, ok := d.GetOk("min_quorum"); ok {
		if v.(int) < 0 {
			return nil, logical.BadRequest("min_quorum must not be negative")
		}
		if v.(int) > 0 {
			s.MinQuorum = uint(v.(int))
		}
	}
	if v, ok := d.GetOk("disable_upgrade_migration"); ok {
		s.DisableUpgradeMigration = v.(bool)
	}
	conf := s.effective()
	if conf.CleanupDeadServers && conf.MinQuorum < 3 {
		return nil, logical.BadRequest("min_quorum must be set when cleanup_dead_servers is set and it should at least be 3; cleanup_dead_servers: %#v, min_quorum: %#v",
			conf.CleanupDeadServers, conf.MinQuorum)
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	if err := o.barrier.Put(ctx, &physical.Entry{Key: autopilotConfigKey, Value: raw}); err != nil {
		return nil, fmt.Errorf("store autopilot configuration: %w", err)
	}
	if st := o.autopilotStorage(); st != nil {
		st.SetAutopilotConfig(conf)
	}
	if conf.CleanupDeadServers && conf.DeadServerLastContactThreshold < minDeadServerThreshold {
		return &logical.Response{Warnings: []string{fmt.Sprintf(
			"dead_server_last_contact_threshold is %s, under 1m: a server that is only restarting or loading a snapshot may be removed as dead",
			conf.DeadServerLastContactThreshold)}}, nil
	}
	return nil, nil
}

// autopilotApp is the core as autopilot's application.
type autopilotApp struct{ o *Ops }

// AutopilotActive implements AutopilotApp.
func (a autopilotApp) AutopilotActive() (active bool) {
	a.o.host.ReadState(func(st State) { active = !st.Sealed && !st.Standby })
	return active
}

// LoadAutopilot implements AutopilotApp.
func (a autopilotApp) LoadAutopilot(ctx context.Context) (AutopilotConfig, []byte, error) {
	s, err := a.o.loadStoredAutopilotConfig(ctx)
	if err != nil {
		return AutopilotConfig{}, nil, err
	}
	e, err := a.o.barrier.Get(ctx, autopilotServersKey)
	if err != nil {
		return AutopilotConfig{}, nil, fmt.Errorf("read autopilot server records: %w", err)
	}
	var records []byte
	if e != nil {
		records = e.Value
	}
	return s.effective(), records, nil
}

// SaveAutopilotServers implements AutopilotApp.
func (a autopilotApp) SaveAutopilotServers(ctx context.Context, records []byte) error {
	if a.o.sealed() {
		return errors.New("save autopilot server records: sealed")
	}
	if err := a.o.barrier.Put(ctx, &physical.Entry{Key: autopilotServersKey, Value: records}); err != nil {
		return fmt.Errorf("save autopilot server records: %w", err)
	}
	return nil
}

// AutopilotSelf implements AutopilotApp.
func (a autopilotApp) AutopilotSelf() AutopilotFollower { return a.o.host.AutopilotSelf() }

// AutopilotFollowers implements AutopilotApp.
func (a autopilotApp) AutopilotFollowers() map[string]AutopilotFollower {
	return a.o.host.AutopilotFollowers()
}
