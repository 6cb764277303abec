package logical

import "strings"

// ReplicationState is a node's replication role, as a set of flags with
// the names and bit positions of Vault's consts.ReplicationState. Strongbox has no replication
// yet: every node reports ReplicationUnknown, which reads as "disabled".
type ReplicationState uint32

// The replication flags; ReplicationUnknown (no flag) is "disabled".
const (
	ReplicationUnknown            ReplicationState = 0
	ReplicationPerformancePrimary ReplicationState = 1 << (iota + 4)
	ReplicationPerformanceSecondary
	_ // Vault's OldSplitReplicationBootstrapping
	ReplicationDRPrimary
	ReplicationDRSecondary
	ReplicationPerformanceBootstrapping
	ReplicationDRBootstrapping
	ReplicationPerformanceStandby
)

// HasState reports whether every flag of flag is set.
func (r ReplicationState) HasState(flag ReplicationState) bool {
	return flag != 0 && r&flag == flag
}

// String lists the set flags ("perf-primary, dr-secondary"), or
// "disabled" when none is.
func (r ReplicationState) String() string {
	var out []string
	for _, f := range []struct {
		flag ReplicationState
		name string
	}{
		{ReplicationPerformancePrimary, "perf-primary"},
		{ReplicationPerformanceSecondary, "perf-secondary"},
		{ReplicationDRPrimary, "dr-primary"},
		{ReplicationDRSecondary, "dr-secondary"},
		{ReplicationPerformanceBootstrapping, "perf-bootstrapping"},
		{ReplicationDRBootstrapping, "dr-bootstrapping"},
		{ReplicationPerformanceStandby, "perf-standby"},
	} {
		if r.HasState(f.flag) {
			out = append(out, f.name)
		}
	}
	if len(out) == 0 {
		return "disabled"
	}
	return strings.Join(out, ", ")
}
