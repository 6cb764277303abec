package raft

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	autopilot "github.com/hashicorp/raft-autopilot"
)

// delegate is autopilot's ApplicationIntegration for one run.
type delegate struct {
	p   *Autopilot
	app AutopilotApp
	run *autopilotRun
	ap  *autopilot.Autopilot

	mu sync.Mutex
	// seen keeps the newest report of each server during this run, so a
	// report the application forgets does not make a server look fresh
	// or dead.
	seen map[string]FollowerReport
	// removing are dead servers being removed.
	removing map[raft.ServerID]bool
}

var _ autopilot.ApplicationIntegration = (*delegate)(nil)

func (d *delegate) AutopilotConfig() *autopilot.Config {
	c := d.p.Config()
	return &autopilot.Config{
		CleanupDeadServers:      c.CleanupDeadServers,
		LastContactThreshold:    c.LastContactThreshold,
		MaxTrailingLogs:         c.MaxTrailingLogs,
		MinQuorum:               c.MinQuorum,
		ServerStabilizationTime: c.ServerStabilizationTime,
		Ext:                     c,
	}
}

// NotifyState records what the state says of each server (servers gone
// from the configuration are forgotten) and persists it when it changed.
func (d *delegate) NotifyState(st *autopilot.State) {
	records := make(map[string]serverRecord, len(st.Servers))
	d.p.mu.Lock()
	for sid, s := range st.Servers {
		id := string(sid)
		rec := d.p.records[id]
		if nonVoter, ok := d.p.joins[id]; ok {
			rec.JoinedNonVoter = nonVoter
			delete(d.p.joins, id)
		}
		rec.Version = s.Server.Version
		rec.UpgradeVersion = s.Server.Meta[metaUpgradeVersion]
		rec.RedundancyZone = s.Server.Meta[metaZone]
		if r, ok := d.latest(id); ok {
			rec.NonVoter = r.NonVoter
		}
		records[id] = rec
	}
	d.p.records = records
	d.p.mu.Unlock()
	d.p.saveRecords(d.app, records)
}

// latest returns the newest report of a server seen in this run.
func (d *delegate) latest(id string) (FollowerReport, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.seen[id]
	return r, ok
}

// reports merges the application's latest heartbeats into seen.
func (d *delegate) reports() map[string]FollowerReport {
	latest := d.app.AutopilotFollowers()
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, r := range latest {
		if old, ok := d.seen[id]; !ok || r.LastHeartbeat.After(old.LastHeartbeat) {
			d.seen[id] = r
		}
	}
	out := make(map[string]FollowerReport, len(d.seen))
	for id, r := range d.seen {
		out[id] = r
	}
	return out
}

// lastContact is how long ago a server was heard from: since its last
// heartbeat, but never longer than this run (a heartbeat sent to another
// active node, or none yet, says nothing about now).
func (d *delegate) lastContact(r FollowerReport, ok bool, now time.Time) time.Duration {
	since := d.run.started
	if ok && r.LastHeartbeat.After(since) {
		since = r.LastHeartbeat
	}
	return now.Sub(since)
}

func (d *delegate) FetchServerStats(_ context.Context, servers map[raft.ServerID]*autopilot.Server) map[raft.ServerID]*autopilot.ServerStats {
	now := time.Now()
	reports := d.reports()
	out := make(map[raft.ServerID]*autopilot.ServerStats, len(servers))
	for id := range servers {
		if string(id) == d.p.b.nodeID {
			term, _ := strconv.ParseUint(d.p.b.raft.Stats()["last_log_term"], 10, 64)
			out[id] = &autopilot.ServerStats{LastTerm: term, LastIndex: d.p.b.raft.LastIndex()}
			continue
		}
		r, ok := reports[string(id)]
		out[id] = &autopilot.ServerStats{LastContact: d.lastContact(r, ok, now), LastTerm: r.Term, LastIndex: r.AppliedIndex}
	}
	return out
}

// KnownServers lists every server of the raft configuration with what it
// reported (or, before it reports, what was recorded of it). With dead
// server cleanup on, a server silent for longer than
// dead_server_last_contact_threshold is reported as left.
func (d *delegate) KnownServers() map[raft.ServerID]*autopilot.Server {
	f := d.p.b.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		d.p.logger.Warn("autopilot: read raft configuration", "error", err)
		return nil
	}
	conf := d.p.Config()
	self := d.app.AutopilotSelf()
	reports := d.reports()
	var prev map[raft.ServerID]*autopilot.ServerState
	if st := d.ap.GetState(); st != nil {
		prev = st.Servers
	}
	d.p.mu.Lock()
	records := make(map[string]serverRecord, len(d.p.records))
	for id, r := range d.p.records {
		records[id] = r
	}
	for id, nonVoter := range d.p.joins {
		rec := records[id]
		rec.JoinedNonVoter = nonVoter
		records[id] = rec
	}
	d.p.mu.Unlock()

	now := time.Now()
	out := make(map[raft.ServerID]*autopilot.Server, len(f.Configuration().Servers))
	for _, s := range f.Configuration().Servers {
		id := string(s.ID)
		srv := &autopilot.Server{
			ID: s.ID, Name: id, Address: s.Address, RaftVersion: raft.ProtocolVersionMax,
			NodeStatus: autopilot.NodeAlive,
		}
		if id == d.p.b.nodeID {
			srv.IsLeader = true
			srv.NodeType = NodeTypeVoter
			srv.Version = self.Version
			srv.Meta = serverMeta(self.RedundancyZone, self.UpgradeVersion, self.NonVoter)
			out[s.ID] = srv
			continue
		}
		rec := records[id]
		r, reported := reports[id]
		zone, upgrade, version, nonVoter := rec.RedundancyZone, rec.UpgradeVersion, rec.Version, rec.NonVoter
		if reported {
			zone, upgrade, version, nonVoter = r.RedundancyZone, r.UpgradeVersion, r.Version, r.NonVoter
		}
		srv.Version = version
		srv.Meta = serverMeta(zone, upgrade, nonVoter || rec.JoinedNonVoter)
		if ps := prev[s.ID]; ps != nil && ps.Server.NodeType != "" {
			srv.NodeType = ps.Server.NodeType
		} else if !(nonVoter || rec.JoinedNonVoter) {
			srv.NodeType = NodeTypeVoter
		}
		if conf.CleanupDeadServers && conf.DeadServerLastContactThreshold > 0 &&
			d.lastContact(r, reported, now) > conf.DeadServerLastContactThreshold {
			srv.NodeStatus = autopilot.NodeLeft
		}
		out[s.ID] = srv
	}
	return out
}

func serverMeta(zone, upgrade string, nonVoter bool) map[string]string {
	return map[string]string{metaZone: zone, metaUpgradeVersion: upgrade, metaNonVoter: strconv.FormatBool(nonVoter)}
}

// RemoveFailedServer removes a dead server from the raft configuration in
// the background (autopilot wants this call to return at once).
func (d *delegate) RemoveFailedServer(s *autopilot.Server) {
	d.mu.Lock()
	if d.removing == nil {
		d.removing = map[raft.ServerID]bool{}
	}
	if d.removing[s.ID] {
		d.mu.Unlock()
		return
	}
	d.removing[s.ID] = true
	d.mu.Unlock()
	go func() {
		defer func() {
			d.mu.Lock()
			delete(d.removing, s.ID)
			d.mu.Unlock()
		}()
		d.p.logger.Info("autopilot: removing dead server", "peer_id", s.ID, "address", s.Address)
		err := d.p.b.RemovePeer(context.Background(), string(s.ID))
		if err != nil && !errors.Is(err, ErrClosed) {
			d.p.logger.Warn("autopilot: remove dead server", "peer_id", s.ID, "error", err)
		}
	}()
}
