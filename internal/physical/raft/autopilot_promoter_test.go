package raft

import (
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	autopilot "github.com/hashicorp/raft-autopilot"
)

// srv describes one server of a synthetic autopilot state.
type srv struct {
	id      string
	state   autopilot.RaftState
	zone    string
	version string
	replica bool
	// health: "ok" (healthy, stable), "new" (healthy, not yet stable),
	// "lag" (unhealthy but in contact), "dead" (out of contact).
	health string
}

var planNow = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func planConfig() *autopilot.Config {
	c := DefaultAutopilotConfig()
	c.ServerStabilizationTime = 10 * time.Second
	return &autopilot.Config{
		LastContactThreshold: c.LastContactThreshold, MaxTrailingLogs: c.MaxTrailingLogs,
		ServerStabilizationTime: c.ServerStabilizationTime, Ext: c,
	}
}

func syntheticState(servers []srv) *autopilot.State {
	st := &autopilot.State{Servers: map[raft.ServerID]*autopilot.ServerState{}}
	for _, s := range servers {
		ss := &autopilot.ServerState{
			Server: autopilot.Server{
				ID: raft.ServerID(s.id), Name: s.id, NodeStatus: autopilot.NodeAlive,
				Meta: serverMeta(s.zone, s.version, s.replica),
			},
			State: s.state,
		}
		switch s.health {
		case "ok":
			ss.Health = autopilot.ServerHealth{Healthy: true, StableSince: planNow.Add(-time.Hour)}
		case "new":
			ss.Health = autopilot.ServerHealth{Healthy: true, StableSince: planNow.Add(-time.Second)}
		case "lag":
			ss.Health = autopilot.ServerHealth{Healthy: false, StableSince: planNow.Add(-time.Second)}
			ss.Stats.LastContact = time.Second
		case "dead":
			ss.Health = autopilot.ServerHealth{Healthy: false, StableSince: planNow.Add(-time.Minute)}
			ss.Stats.LastContact = time.Minute
		}
		if s.state == autopilot.RaftLeader {
			st.Leader = ss.Server.ID
		}
		if ss.HasVotingRights() {
			st.Voters = append(st.Voters, ss.Server.ID)
		}
		st.Servers[ss.Server.ID] = ss
	}
	return st
}

const (
	L  = autopilot.RaftLeader
	V  = autopilot.RaftVoter
	NV = autopilot.RaftNonVoter
)

func ids(list []raft.ServerID) []string {
	out := make([]string, len(list))
	for i, id := range list {
		out[i] = string(id)
	}
	slices.Sort(out)
	return out
}

func TestPromoterPlans(t *testing.T) {
	cases := []struct {
		name    string
		servers []srv
		disable bool
		promote []string
		demote  []string
		leader  string
		types   map[string]string
		upgrade string
	}{
		{
			name: "stable non-voter promoted, new one waits, replica never",
			servers: []srv{
				{id: "a", state: L, health: "ok"}, {id: "b", state: V, health: "ok"},
				{id: "c", state: NV, health: "ok"}, {id: "d", state: NV, health: "new"},
				{id: "r", state: NV, health: "ok", replica: true},
			},
			promote: []string{"c"},
			types:   map[string]string{"a": NodeTypeVoter, "c": NodeTypeVoter, "r": NodeTypeReadReplica},
			upgrade: UpgradeIdle,
		},
		{
			name: "outside zones a dead voter is left to dead server cleanup",
			servers: []srv{
				{id: "a", state: L, health: "ok"}, {id: "b", state: V, health: "dead"}, {id: "c", state: V, health: "ok"},
			},
			upgrade: UpgradeIdle,
		},
		{
			name: "one voter per zone: nothing to do",
			servers: []srv{
				{id: "a1", state: L, zone: "a", health: "ok"}, {id: "a2", state: NV, zone: "a", health: "ok"},
				{id: "b1", state: V, zone: "b", health: "ok"}, {id: "b2", state: NV, zone: "b", health: "ok"},
			},
			types: map[string]string{"a1": NodeTypeZoneVoter, "a2": NodeTypeZoneStandby, "b1": NodeTypeZoneVoter, "b2": NodeTypeZoneStandby},
		},
		{
			name: "a zone's dead voter is replaced by its standby",
			servers: []srv{
				{id: "a1", state: L, zone: "a", health: "ok"}, {id: "a2", state: NV, zone: "a", health: "ok"},
				{id: "b1", state: V, zone: "b", health: "dead"}, {id: "b2", state: NV, zone: "b", health: "ok"},
				{id: "c1", state: V, zone: "c", health: "ok"}, {id: "c2", state: NV, zone: "c", health: "ok"},
			},
			promote: []string{"b2"}, demote: []string{"b1"},
			types: map[string]string{"b1": NodeTypeZoneStandby, "b2": NodeTypeZoneVoter},
		},
		{
			name: "a lagging voter in contact is kept",
			servers: []srv{
				{id: "a1", state: L, zone: "a", health: "ok"}, {id: "b1", state: V, zone: "b", health: "lag"},
				{id: "b2", state: NV, zone: "b", health: "ok"},
			},
			types: map[string]string{"b1": NodeTypeZoneVoter, "b2": NodeTypeZoneStandby},
		},
		{
			name: "a zone's second voter is demoted",
			servers: []srv{
				{id: "a1", state: L, zone: "a", health: "ok"}, {id: "a2", state: V, zone: "a", health: "ok"},
				{id: "b1", state: V, zone: "b", health: "ok"},
			},
			demote: []string{"a2"},
		},
		{
			name: "a lost zone borrows a voter from another zone",
			servers: []srv{
				{id: "a1", state: L, zone: "a", health: "ok"}, {id: "a2", state: NV, zone: "a", health: "ok"},
				{id: "b1", state: V, zone: "b", health: "dead"}, {id: "b2", state: NV, zone: "b", health: "dead"},
				{id: "c1", state: V, zone: "c", health: "ok"}, {id: "c2", state: NV, zone: "c", health: "ok"},
			},
			promote: []string{"a2"}, demote: []string{"b1"},
			types: map[string]string{"a2": NodeTypeZoneExtraVoter, "b1": NodeTypeZoneStandby},
		},
		{
			name: "a dead standby is replaced by nobody and changes nothing",
			servers: []srv{
				{id: "a1", state: L, zone: "a", health: "ok"}, {id: "a2", state: NV, zone: "a", health: "dead"},
			},
		},
		{
			name: "upgrade: too few new servers, they wait as non-voters",
			servers: []srv{
				{id: "o1", state: L, version: "1.0.0", health: "ok"}, {id: "o2", state: V, version: "1.0.0", health: "ok"},
				{id: "o3", state: V, version: "1.0.0", health: "ok"},
				{id: "n1", state: NV, version: "1.1.0", health: "ok"}, {id: "n2", state: NV, version: "1.1.0", health: "ok"},
			},
			upgrade: UpgradeAwaitNewVoters,
		},
		{
			name: "upgrade: enough new servers are promoted, nobody demoted yet",
			servers: []srv{
				{id: "o1", state: L, version: "1.0.0", health: "ok"}, {id: "o2", state: V, version: "1.0.0", health: "ok"},
				{id: "o3", state: V, version: "1.0.0", health: "ok"},
				{id: "n1", state: NV, version: "1.1.0", health: "ok"}, {id: "n2", state: NV, version: "1.1.0", health: "ok"},
				{id: "n3", state: NV, version: "1.1.0", health: "ok"},
			},
			promote: []string{"n1", "n2", "n3"},
			upgrade: UpgradePromoting,
		},
		{
			name: "upgrade: old voters demoted, the leader last, after handing over",
			servers: []srv{
				{id: "o1", state: L, version: "1.0.0", health: "ok"}, {id: "o2", state: V, version: "1.0.0", health: "ok"},
				{id: "o3", state: V, version: "1.0.0", health: "ok"},
				{id: "n1", state: V, version: "1.1.0", health: "ok"}, {id: "n2", state: V, version: "1.1.0", health: "ok"},
				{id: "n3", state: V, version: "1.1.0", health: "ok"},
			},
			demote: []string{"o2", "o3"}, leader: "n1",
			types:   map[string]string{"o1": NodeTypeVoter},
			upgrade: UpgradeDemoting,
		},
		{
			name: "upgrade: the old leader hands over",
			servers: []srv{
				{id: "o1", state: L, version: "1.0.0", health: "ok"}, {id: "o2", state: NV, version: "1.0.0", health: "ok"},
				{id: "n1", state: V, version: "1.1.0", health: "ok"}, {id: "n2", state: V, version: "1.1.0", health: "ok"},
			},
			leader:  "n1",
			upgrade: UpgradeLeaderTransfer,
		},
		{
			name: "upgrade: done, old servers wait for removal",
			servers: []srv{
				{id: "n1", state: L, version: "1.1.0", health: "ok"}, {id: "n2", state: V, version: "1.1.0", health: "ok"},
				{id: "o1", state: NV, version: "1.0.0", health: "ok"},
			},
			upgrade: UpgradeAwaitServerRemoval,
		},
		{
			name: "upgrade: after the handover the new leader demotes the old one",
			servers: []srv{
				{id: "n1", state: L, version: "1.1.0", health: "ok"}, {id: "n2", state: V, version: "1.1.0", health: "ok"},
				{id: "o1", state: V, version: "1.0.0", health: "ok"},
			},
			demote:  []string{"o1"},
			upgrade: UpgradeDemoting,
		},
		{
			name:    "upgrade migration disabled: new servers are ordinary voters",
			disable: true,
			servers: []srv{
				{id: "o1", state: L, version: "1.0.0", health: "ok"},
				{id: "n1", state: NV, version: "1.1.0", health: "ok"},
			},
			promote: []string{"n1"},
			upgrade: UpgradeDisabled,
		},
		{
			name: "an older version (pre-releases sort first) is not promoted",
			servers: []srv{
				{id: "o1", state: L, version: "1.11.0-release.2", health: "ok"},
				{id: "n1", state: NV, version: "1.11.0-release.1", health: "ok"},
			},
			upgrade: UpgradeAwaitServerRemoval,
		},
		{
			name: "upgrade with zones: each zone's new server takes over",
			servers: []srv{
				{id: "a1", state: L, zone: "a", version: "1.0.0", health: "ok"}, {id: "a2", state: NV, zone: "a", version: "1.1.0", health: "ok"},
				{id: "b1", state: V, zone: "b", version: "1.0.0", health: "ok"}, {id: "b2", state: NV, zone: "b", version: "1.1.0", health: "ok"},
			},
			promote: []string{"a2", "b2"},
			types:   map[string]string{"a1": NodeTypeZoneExtraVoter, "a2": NodeTypeZoneVoter, "b1": NodeTypeZoneStandby},
			upgrade: UpgradePromoting,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conf := planConfig()
			pc := conf.Ext.(AutopilotConfig)
			pc.DisableUpgradeMigration = c.disable
			conf.Ext = pc
			p := computePlan(conf, syntheticState(c.servers), planNow)
			if got := ids(p.promote); !slices.Equal(got, nonNil(c.promote)) {
				t.Errorf("promote = %v, want %v", got, c.promote)
			}
			if got := ids(p.demote); !slices.Equal(got, nonNil(c.demote)) {
				t.Errorf("demote = %v, want %v", got, c.demote)
			}
			if string(p.leader) != c.leader {
				t.Errorf("leader = %q, want %q", p.leader, c.leader)
			}
			for id, want := range c.types {
				if got := string(p.types[raft.ServerID(id)]); got != want {
					t.Errorf("type of %s = %q, want %q", id, got, want)
				}
			}
			if c.upgrade != "" && p.upgrade.status != c.upgrade {
				t.Errorf("upgrade status = %q, want %q", p.upgrade.status, c.upgrade)
			}
			for _, id := range p.demote {
				if s := syntheticState(c.servers).Servers[id]; s.State == L {
					t.Errorf("the leader %s is demoted", id)
				}
			}
		})
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func TestPromoterToleranceAndZones(t *testing.T) {
	st := syntheticState([]srv{
		{id: "a1", state: L, zone: "a", health: "ok"}, {id: "a2", state: NV, zone: "a", health: "ok"},
		{id: "a3", state: NV, zone: "a", health: "ok"},
		{id: "b1", state: V, zone: "b", health: "ok"}, {id: "b2", state: NV, zone: "b", health: "dead"},
		{id: "r1", state: NV, health: "ok", replica: true},
	})
	p := computePlan(planConfig(), st, planNow)
	// 2 voters (quorum 2); healthy potential voters a1 a2 a3 b1.
	if p.optimistic != 2 {
		t.Errorf("optimistic failure tolerance = %d, want 2", p.optimistic)
	}
	za, zb := p.zones["a"], p.zones["b"]
	if za == nil || zb == nil || len(p.zones) != 2 {
		t.Fatalf("zones = %v", p.zones)
	}
	if !slices.Equal(za.servers, []string{"a1", "a2", "a3"}) || !slices.Equal(za.voters, []string{"a1"}) || za.failureTolerance != 2 {
		t.Errorf("zone a = %+v", za)
	}
	if !slices.Equal(zb.servers, []string{"b1", "b2"}) || zb.failureTolerance != 0 {
		t.Errorf("zone b = %+v", zb)
	}

	pr := promoter{now: func() time.Time { return planNow }}
	for typ, want := range map[autopilot.NodeType]bool{
		NodeTypeVoter: true, NodeTypeZoneVoter: true, NodeTypeZoneExtraVoter: true,
		NodeTypeZoneStandby: false, NodeTypeReadReplica: false,
	} {
		if got := pr.IsPotentialVoter(typ); got != want {
			t.Errorf("IsPotentialVoter(%s) = %v", typ, got)
		}
	}
	st.Ext = pr.GetStateExt(planConfig(), st)
	if types := pr.GetNodeTypes(planConfig(), st); types["r1"] != NodeTypeReadReplica || types["a2"] != NodeTypeZoneStandby {
		t.Errorf("node types %v", types)
	}
	api := apiState(st)
	if api.RedundancyZones["a"].FailureTolerance != 2 || api.Upgrade == nil || api.Upgrade.Status != UpgradeIdle {
		t.Errorf("api state zones %+v upgrade %+v", api.RedundancyZones, api.Upgrade)
	}
	if !slices.Equal(api.NonVoters, []string{"a2", "a3", "b2", "r1"}) {
		t.Errorf("non_voters = %v", api.NonVoters)
	}
}
