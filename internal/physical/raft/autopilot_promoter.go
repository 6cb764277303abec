package raft

import (
	"sort"
	"time"

	"github.com/hashicorp/raft"
	autopilot "github.com/hashicorp/raft-autopilot"
)

// Node types autopilot assigns (Vault Enterprise's names), shown as
// node_type in the autopilot state.
const (
	// NodeTypeVoter: a server that should vote.
	NodeTypeVoter = "voter"
	// NodeTypeReadReplica: a server that joined as a non-voter; it
	// replicates the data and is never promoted.
	NodeTypeReadReplica = "read-replica"
	// NodeTypeZoneVoter: the one voter of a redundancy zone.
	NodeTypeZoneVoter = "zone-voter"
	// NodeTypeZoneExtraVoter: an additional voter in a zone, standing in
	// for a zone that has no healthy server (or for the old leader during
	// an upgrade).
	NodeTypeZoneExtraVoter = "zone-extra-voter"
	// NodeTypeZoneStandby: a non-voter of a zone, promoted when the zone's
	// voter fails.
	NodeTypeZoneStandby = "zone-standby"
)

// Automated upgrade statuses, shown as upgrade_info.status.
const (
	UpgradeIdle               = "idle"
	UpgradeDisabled           = "disabled"
	UpgradeAwaitNewVoters     = "await-new-voters"
	UpgradePromoting          = "promoting"
	UpgradeDemoting           = "demoting"
	UpgradeLeaderTransfer     = "leader-transfer"
	UpgradeAwaitServerRemoval = "await-server-removal"
)

// Keys of autopilot.Server.Meta that the delegate fills in for the promoter.
const (
	metaZone           = "redundancy_zone"
	metaUpgradeVersion = "upgrade_version"
	metaNonVoter       = "non_voter"
)

// promoter is autopilot's Promoter with Vault Enterprise's semantics:
// server stabilization (a new voter first serves as a non-voter), read
// replicas that are never promoted, redundancy zones (one voter per zone,
// a zone's non-voter promoted when that voter fails) and automated upgrades
// (a newer upgrade version takes over once it has as many healthy servers
// as the old version has voters). Its methods make no I/O.
type promoter struct {
	now func() time.Time
}

var _ autopilot.Promoter = promoter{}

func (promoter) GetServerExt(*autopilot.Config, *autopilot.ServerState) any { return nil }

// GetStateExt computes the plan once per state; the state API reads it.
func (p promoter) GetStateExt(c *autopilot.Config, s *autopilot.State) any {
	return computePlan(c, s, p.now())
}

func (p promoter) GetNodeTypes(c *autopilot.Config, s *autopilot.State) map[raft.ServerID]autopilot.NodeType {
	if plan, ok := s.Ext.(*clusterPlan); ok {
		return plan.types
	}
	return computePlan(c, s, p.now()).types
}

// CalculatePromotionsAndDemotions recomputes the plan: stability depends on
// the time, which has moved since the state was made. Autopilot applies
// promotions first, then demotions, then the leadership transfer, one kind
// per round, and skips promotions of unhealthy servers.
func (p promoter) CalculatePromotionsAndDemotions(c *autopilot.Config, s *autopilot.State) autopilot.RaftChanges {
	plan := computePlan(c, s, p.now())
	return autopilot.RaftChanges{Promotions: plan.promote, Demotions: plan.demote, Leader: plan.leader}
}

func (promoter) FilterFailedServerRemovals(_ *autopilot.Config, _ *autopilot.State, f *autopilot.FailedServers) *autopilot.FailedServers {
	return f
}

// IsPotentialVoter says which servers count toward min_quorum when
// autopilot considers removing dead servers.
func (promoter) IsPotentialVoter(t autopilot.NodeType) bool {
	switch t {
	case NodeTypeVoter, NodeTypeZoneVoter, NodeTypeZoneExtraVoter:
		return true
	}
	return false
}

// clusterPlan is what the promoter wants of the cluster given one state.
type clusterPlan struct {
	types   map[raft.ServerID]autopilot.NodeType
	promote []raft.ServerID
	demote  []raft.ServerID
	leader  raft.ServerID // transfer leadership to it ("": stay)
	// zones is nil when no server names a redundancy zone.
	zones      map[string]*zonePlan
	upgrade    upgradePlan
	optimistic int
}

type zonePlan struct {
	servers, voters  []string
	failureTolerance int
}

type upgradePlan struct {
	status string
	target string
	// Servers by version (the target one or another) and suffrage.
	targetVoters, targetNonVoters, targetReplicas []string
	otherVoters, otherNonVoters, otherReplicas    []string
	zones                                         map[string]*zoneUpgrade
}

type zoneUpgrade struct {
	targetVoters, targetNonVoters, otherVoters, otherNonVoters []string
}

// member is one server as the plan sees it.
type member struct {
	id      raft.ServerID
	zone    string
	replica bool
	ver     *version // nil when unknown or unparseable
	verStr  string
	voter   bool
	leader  bool
	healthy bool
	stable  bool
	// failed: gone (dead, left) or out of contact for longer than
	// last_contact_threshold. A voter that is merely behind is not failed:
	// replacing it would only add churn.
	failed bool
	target bool // runs the upgrade's target version
}

// ready: could serve as a voter now.
func (m *member) ready() bool { return m.healthy && !m.failed && (m.voter || m.stable) }

// eligible: a non-voter that may be promoted.
func (m *member) eligible() bool { return !m.voter && m.healthy && m.stable }

// upgradeInputs is the automated upgrade's phase.
type upgradeInputs struct {
	status    string
	target    *version
	targetStr string
	// active: enough target-version servers are ready; they become the
	// voters, the old version's voters give way, leadership moves.
	active bool
	// hold: a newer version is joining but is not numerous enough yet;
	// its servers are not added as voters (they still replace failed ones).
	hold bool
	// newestOnly: upgrades are on and versions known; servers of an older
	// version are not promoted (they still replace failed zone voters).
	newestOnly bool
}

// computePlan works out node types, promotions, demotions and a leader
// transfer. Invariants: the leader is never demoted, and no healthy voter
// is demoted while a promotion is pending (so the voter count never dips
// below what the plan ends with).
func computePlan(conf *autopilot.Config, st *autopilot.State, now time.Time) *clusterPlan {
	ms := planMembers(conf, st, now)
	p := &clusterPlan{types: make(map[raft.ServerID]autopilot.NodeType, len(ms))}
	byZone := map[string][]*member{}
	var leader *member
	for _, m := range ms {
		if m.leader {
			leader = m
		}
		if !m.replica && m.zone != "" {
			byZone[m.zone] = append(byZone[m.zone], m)
		}
	}
	up := analyzeUpgrade(ms, pilotConfigOf(conf).DisableUpgradeMigration, len(byZone) > 0)

	desired := map[raft.ServerID]bool{}
	for _, m := range ms {
		switch {
		case m.replica:
			p.types[m.id] = NodeTypeReadReplica
		case m.zone == "":
			p.types[m.id] = NodeTypeVoter
			if wantFreeVoter(m, up) {
				desired[m.id] = true
			}
		}
	}
	zoneNames := make([]string, 0, len(byZone))
	for z := range byZone {
		zoneNames = append(zoneNames, z)
	}
	sort.Strings(zoneNames)
	var lacking []string
	for _, z := range zoneNames {
		mem := byZone[z]
		for _, m := range mem {
			p.types[m.id] = NodeTypeZoneStandby
		}
		pick := pickZoneVoter(mem, up)
		if pick != nil {
			p.types[pick.id] = NodeTypeZoneVoter
			desired[pick.id] = true
		}
		if pick == nil || pick.failed {
			lacking = append(lacking, z)
		}
	}
	// A zone without a healthy server borrows a voter from another zone, so
	// the cluster keeps as many healthy voters as it has zones.
	for _, z := range lacking {
		extra := pickExtraVoter(byZone, z, desired)
		if extra == nil {
			continue
		}
		desired[extra.id] = true
		p.types[extra.id] = NodeTypeZoneExtraVoter
		for _, m := range byZone[z] {
			if m.voter && m.failed && !m.leader {
				delete(desired, m.id)
				p.types[m.id] = NodeTypeZoneStandby
			}
		}
	}
	if leader != nil && !desired[leader.id] {
		// Only during an upgrade: the old leader votes until it hands over.
		desired[leader.id] = true
		if leader.zone != "" && !leader.replica {
			p.types[leader.id] = NodeTypeZoneExtraVoter
		}
	}

	for _, m := range ms {
		switch {
		case desired[m.id] && m.eligible():
			p.promote = append(p.promote, m.id)
		case !desired[m.id] && m.voter && !m.leader:
			p.demote = append(p.demote, m.id)
		}
	}
	if len(p.promote) > 0 {
		kept := p.demote[:0]
		for _, id := range p.demote {
			if st.Servers[id] != nil && !st.Servers[id].Health.Healthy {
				kept = append(kept, id)
			}
		}
		p.demote = kept
	}
	if up.active && leader != nil && !leader.target {
		for _, m := range ms {
			if m.target && m.voter && m.healthy {
				p.leader = m.id
				break
			}
		}
	}
	p.upgrade = describeUpgrade(ms, up, p, leader)
	if len(byZone) > 0 {
		p.zones = describeZones(byZone)
	}
	p.optimistic = optimisticTolerance(ms)
	return p
}

// planMembers lists the servers, best first (autopilot's order: leader,
// voters, healthy, longest stable).
func planMembers(conf *autopilot.Config, st *autopilot.State, now time.Time) []*member {
	stab := st.ServerStabilizationTime(conf)
	ids := make([]raft.ServerID, 0, len(st.Servers))
	for id := range st.Servers {
		ids = append(ids, id)
	}
	autopilot.SortServers(ids, st)
	ms := make([]*member, 0, len(ids))
	for _, id := range ids {
		s := st.Servers[id]
		m := &member{
			id:      id,
			zone:    s.Server.Meta[metaZone],
			replica: s.Server.Meta[metaNonVoter] == "true",
			voter:   s.HasVotingRights(),
			leader:  s.State == autopilot.RaftLeader,
			healthy: s.Health.Healthy,
			stable:  s.Health.IsStable(now, stab),
		}
		m.failed = !m.leader && (s.Server.NodeStatus != autopilot.NodeAlive || s.Stats.LastContact > conf.LastContactThreshold)
		if v := s.Server.Meta[metaUpgradeVersion]; v != "" {
			m.ver, _ = parseVersion(v)
			m.verStr = v
		}
		ms = append(ms, m)
	}
	return ms
}

// analyzeUpgrade finds the newest upgrade version and the upgrade's phase.
// A server whose version is unknown counts as running the leader's, so it
// is never demoted for want of a report (Vault does the same).
func analyzeUpgrade(ms []*member, disabled, zoned bool) upgradeInputs {
	var up upgradeInputs
	var leaderVer *version
	for _, m := range ms {
		if m.leader {
			leaderVer = m.ver
		}
		if m.replica || m.failed || m.ver == nil {
			continue
		}
		if up.target == nil || m.ver.compare(up.target) > 0 {
			up.target, up.targetStr = m.ver, m.verStr
		}
	}
	if up.target == nil {
		up.status = UpgradeIdle
		return up
	}
	up.newestOnly = !disabled
	otherVoters, otherServers := 0, 0
	for _, m := range ms {
		v := m.ver
		if v == nil {
			v = leaderVer
		}
		m.target = v != nil && v.compare(up.target) == 0
		if m.replica || m.target {
			continue
		}
		otherServers++
		if m.voter {
			otherVoters++
		}
	}
	switch {
	case otherServers == 0:
		up.status = UpgradeIdle
	case otherVoters == 0:
		up.status = UpgradeAwaitServerRemoval
	case disabled:
		up.status = UpgradeDisabled
	case readyTargets(ms, zoned) < otherVoters:
		up.status, up.hold = UpgradeAwaitNewVoters, true
	default:
		up.active = true
	}
	return up
}

// readyTargets counts the target version's servers ready to vote; with
// redundancy zones, a zone counts once (one voter per zone).
func readyTargets(ms []*member, zoned bool) int {
	n := 0
	zones := map[string]bool{}
	for _, m := range ms {
		if m.replica || !m.target || !m.ready() {
			continue
		}
		if zoned && m.zone != "" {
			zones[m.zone] = true
		} else {
			n++
		}
	}
	return n + len(zones)
}

// wantFreeVoter decides for a server outside any zone.
func wantFreeVoter(m *member, up upgradeInputs) bool {
	switch {
	case m.leader:
		return true
	case up.active:
		return m.target && m.ready()
	case m.voter:
		// Outside zones a failed voter keeps its vote: dead server cleanup,
		// not demotion, is what removes it.
		return true
	case up.hold && m.target, up.newestOnly && !m.target:
		return false
	}
	return m.eligible()
}

// pickZoneVoter chooses a zone's voter: during an upgrade a ready server of
// the new version; else the leader, a voter still in contact, the most
// stable healthy non-voter, or (nothing better) a failed voter.
func pickZoneVoter(mem []*member, up upgradeInputs) *member {
	if up.active {
		if m := firstMember(mem, func(m *member) bool { return m.target && m.ready() }); m != nil {
			return m
		}
	}
	if m := firstMember(mem, func(m *member) bool { return m.leader }); m != nil {
		return m
	}
	if m := firstMember(mem, func(m *member) bool { return m.voter && !m.failed }); m != nil {
		return m
	}
	cands := mem
	switch {
	case up.hold:
		// Replace a failed voter with the old version when possible.
		cands = append([]*member(nil), mem...)
		sort.SliceStable(cands, func(i, j int) bool { return !cands[i].target && cands[j].target })
	case up.newestOnly:
		cands = append([]*member(nil), mem...)
		sort.SliceStable(cands, func(i, j int) bool { return cands[i].target && !cands[j].target })
	}
	if m := firstMember(cands, (*member).eligible); m != nil {
		return m
	}
	return firstMember(mem, func(m *member) bool { return m.voter })
}

// pickExtraVoter lends a voter to zone lacking from the zone with the most
// healthy servers, preferring a server that already votes.
func pickExtraVoter(byZone map[string][]*member, lacking string, desired map[raft.ServerID]bool) *member {
	names := make([]string, 0, len(byZone))
	healthy := map[string]int{}
	for z, mem := range byZone {
		if z == lacking {
			continue
		}
		names = append(names, z)
		for _, m := range mem {
			if m.healthy {
				healthy[z]++
			}
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if healthy[names[i]] != healthy[names[j]] {
			return healthy[names[i]] > healthy[names[j]]
		}
		return names[i] < names[j]
	})
	for _, ok := range []func(*member) bool{
		func(m *member) bool { return m.voter && m.healthy && !m.failed },
		(*member).eligible,
	} {
		for _, z := range names {
			if m := firstMember(byZone[z], func(m *member) bool { return !desired[m.id] && ok(m) }); m != nil {
				return m
			}
		}
	}
	return nil
}

func firstMember(ms []*member, ok func(*member) bool) *member {
	for _, m := range ms {
		if ok(m) {
			return m
		}
	}
	return nil
}

// describeUpgrade fills upgrade_info.
func describeUpgrade(ms []*member, up upgradeInputs, p *clusterPlan, leader *member) upgradePlan {
	u := upgradePlan{status: up.status}
	if up.target == nil {
		return u
	}
	u.target = up.targetStr
	if up.active {
		promoting := false
		for _, id := range p.promote {
			for _, m := range ms {
				promoting = promoting || (m.id == id && m.target)
			}
		}
		switch {
		case promoting:
			u.status = UpgradePromoting
		case len(p.demote) > 0:
			u.status = UpgradeDemoting
		case leader != nil && !leader.target:
			u.status = UpgradeLeaderTransfer
		default:
			u.status = UpgradePromoting
		}
	}
	for _, m := range ms {
		id := string(m.id)
		var list *[]string
		switch {
		case m.replica && m.target:
			list = &u.targetReplicas
		case m.replica:
			list = &u.otherReplicas
		case m.voter && m.target:
			list = &u.targetVoters
		case m.voter:
			list = &u.otherVoters
		case m.target:
			list = &u.targetNonVoters
		default:
			list = &u.otherNonVoters
		}
		*list = append(*list, id)
		if m.replica || m.zone == "" {
			continue
		}
		if u.zones == nil {
			u.zones = map[string]*zoneUpgrade{}
		}
		z := u.zones[m.zone]
		if z == nil {
			z = &zoneUpgrade{}
			u.zones[m.zone] = z
		}
		switch {
		case m.voter && m.target:
			z.targetVoters = append(z.targetVoters, id)
		case m.voter:
			z.otherVoters = append(z.otherVoters, id)
		case m.target:
			z.targetNonVoters = append(z.targetNonVoters, id)
		default:
			z.otherNonVoters = append(z.otherNonVoters, id)
		}
	}
	return u
}

// describeZones fills redundancy_zones: a zone's failure tolerance is how
// many of its healthy servers can fail while one remains.
func describeZones(byZone map[string][]*member) map[string]*zonePlan {
	out := make(map[string]*zonePlan, len(byZone))
	for z, mem := range byZone {
		zp := &zonePlan{}
		healthy := 0
		for _, m := range mem {
			zp.servers = append(zp.servers, string(m.id))
			if m.voter {
				zp.voters = append(zp.voters, string(m.id))
			}
			if m.healthy {
				healthy++
			}
		}
		sort.Strings(zp.servers)
		sort.Strings(zp.voters)
		zp.failureTolerance = max(healthy-1, 0)
		out[z] = zp
	}
	return out
}

// optimisticTolerance is how many healthy voters and potential voters can
// fail one after another, each replaced in time, before quorum is lost.
func optimisticTolerance(ms []*member) int {
	voters, healthy := 0, 0
	for _, m := range ms {
		if m.voter {
			voters++
		}
		if m.healthy && !m.replica {
			healthy++
		}
	}
	if voters == 0 {
		return 0
	}
	return max(healthy-(voters/2+1), 0)
}

// pilotConfigOf returns the AutopilotConfig the delegate put in Ext.
func pilotConfigOf(c *autopilot.Config) AutopilotConfig {
	if pc, ok := c.Ext.(AutopilotConfig); ok {
		return pc
	}
	return AutopilotConfig{}
}
