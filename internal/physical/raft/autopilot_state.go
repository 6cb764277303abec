package raft

import (
	"slices"
	"sort"
	"time"

	autopilot "github.com/hashicorp/raft-autopilot"
)

// AutopilotState is autopilot's view of the cluster in the shape of
// Vault's sys/storage/raft/autopilot/state response.
type AutopilotState struct {
	Healthy          bool `json:"healthy"`
	FailureTolerance int  `json:"failure_tolerance"`
	// OptimisticFailureTolerance counts the voters that could fail one by
	// one, each replaced by a standby in time (omitted when 0, as Vault).
	OptimisticFailureTolerance int                         `json:"optimistic_failure_tolerance,omitempty"`
	Leader                     string                      `json:"leader"`
	Voters                     []string                    `json:"voters"`
	NonVoters                  []string                    `json:"non_voters,omitempty"`
	Servers                    map[string]*AutopilotServer `json:"servers"`
	RedundancyZones            map[string]*AutopilotZone   `json:"redundancy_zones,omitempty"`
	Upgrade                    *AutopilotUpgrade           `json:"upgrade_info,omitempty"`
}

// AutopilotServer is one server in AutopilotState.
type AutopilotServer struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Address    string `json:"address"`
	NodeStatus string `json:"node_status"`
	// LastContact is a Go duration string ("516.49595ms").
	LastContact    string    `json:"last_contact"`
	LastTerm       uint64    `json:"last_term"`
	LastIndex      uint64    `json:"last_index"`
	Healthy        bool      `json:"healthy"`
	StableSince    time.Time `json:"stable_since"`
	Status         string    `json:"status"` // leader, voter, non-voter
	Version        string    `json:"version"`
	UpgradeVersion string    `json:"upgrade_version,omitempty"`
	RedundancyZone string    `json:"redundancy_zone,omitempty"`
	NodeType       string    `json:"node_type,omitempty"`
}

// AutopilotZone is one redundancy zone in AutopilotState.
type AutopilotZone struct {
	Servers          []string `json:"servers,omitempty"`
	Voters           []string `json:"voters,omitempty"`
	FailureTolerance int      `json:"failure_tolerance"`
}

// AutopilotUpgrade is the automated upgrade's progress.
type AutopilotUpgrade struct {
	Status                    string                                   `json:"status"`
	TargetVersion             string                                   `json:"target_version,omitempty"`
	TargetVersionVoters       []string                                 `json:"target_version_voters,omitempty"`
	TargetVersionNonVoters    []string                                 `json:"target_version_non_voters,omitempty"`
	TargetVersionReadReplicas []string                                 `json:"target_version_read_replicas,omitempty"`
	OtherVersionVoters        []string                                 `json:"other_version_voters,omitempty"`
	OtherVersionNonVoters     []string                                 `json:"other_version_non_voters,omitempty"`
	OtherVersionReadReplicas  []string                                 `json:"other_version_read_replicas,omitempty"`
	RedundancyZones           map[string]*AutopilotZoneUpgradeVersions `json:"redundancy_zones,omitempty"`
}

// AutopilotZoneUpgradeVersions is one zone's servers by version.
type AutopilotZoneUpgradeVersions struct {
	TargetVersionVoters    []string `json:"target_version_voters,omitempty"`
	TargetVersionNonVoters []string `json:"target_version_non_voters,omitempty"`
	OtherVersionVoters     []string `json:"other_version_voters,omitempty"`
	OtherVersionNonVoters  []string `json:"other_version_non_voters,omitempty"`
}

// apiState converts autopilot's state (and the promoter's plan in its Ext).
func apiState(st *autopilot.State) *AutopilotState {
	out := &AutopilotState{
		Healthy:          st.Healthy,
		FailureTolerance: st.FailureTolerance,
		Leader:           string(st.Leader),
		Voters:           []string{},
		Servers:          make(map[string]*AutopilotServer, len(st.Servers)),
	}
	for _, id := range st.Voters {
		out.Voters = append(out.Voters, string(id))
	}
	for id, s := range st.Servers {
		out.Servers[string(id)] = &AutopilotServer{
			ID:             string(id),
			Name:           s.Server.Name,
			Address:        string(s.Server.Address),
			NodeStatus:     string(s.Server.NodeStatus),
			LastContact:    s.Stats.LastContact.String(),
			LastTerm:       s.Stats.LastTerm,
			LastIndex:      s.Stats.LastIndex,
			Healthy:        s.Health.Healthy,
			StableSince:    s.Health.StableSince,
			Status:         string(s.State),
			Version:        s.Server.Version,
			UpgradeVersion: s.Server.Meta[metaUpgradeVersion],
			RedundancyZone: s.Server.Meta[metaZone],
			NodeType:       string(s.Server.NodeType),
		}
		if !s.HasVotingRights() {
			out.NonVoters = append(out.NonVoters, string(id))
		}
	}
	sort.Strings(out.NonVoters)
	plan, ok := st.Ext.(*clusterPlan)
	if !ok {
		return out
	}
	out.OptimisticFailureTolerance = plan.optimistic
	if plan.zones != nil {
		out.RedundancyZones = make(map[string]*AutopilotZone, len(plan.zones))
		for name, z := range plan.zones {
			out.RedundancyZones[name] = &AutopilotZone{Servers: sorted(z.servers), Voters: sorted(z.voters), FailureTolerance: z.failureTolerance}
		}
	}
	u := plan.upgrade
	out.Upgrade = &AutopilotUpgrade{
		Status:                    u.status,
		TargetVersion:             u.target,
		TargetVersionVoters:       sorted(u.targetVoters),
		TargetVersionNonVoters:    sorted(u.targetNonVoters),
		TargetVersionReadReplicas: sorted(u.targetReplicas),
		OtherVersionVoters:        sorted(u.otherVoters),
		OtherVersionNonVoters:     sorted(u.otherNonVoters),
		OtherVersionReadReplicas:  sorted(u.otherReplicas),
	}
	if len(u.zones) > 0 {
		out.Upgrade.RedundancyZones = make(map[string]*AutopilotZoneUpgradeVersions, len(u.zones))
		for name, z := range u.zones {
			out.Upgrade.RedundancyZones[name] = &AutopilotZoneUpgradeVersions{
				TargetVersionVoters: sorted(z.targetVoters), TargetVersionNonVoters: sorted(z.targetNonVoters),
				OtherVersionVoters: sorted(z.otherVoters), OtherVersionNonVoters: sorted(z.otherNonVoters),
			}
		}
	}
	return out
}

// sorted returns a sorted copy: the plan is shared by concurrent readers.
func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}
