package raft

import (
	"strings"
	"testing"
	"time"
)

func TestConfigFromMap(t *testing.T) {
	tests := []struct {
		name    string
		in      map[string]string
		want    Config
		wantErr string
	}{
		{name: "path only", in: map[string]string{"path": "/data"}, want: Config{Path: "/data"}},
		{
			name: "all keys",
			in: map[string]string{
				"path": " /data ", "node_id": "n1", "performance_multiplier": "1",
				"snapshot_threshold": "100", "trailing_logs": "50", "snapshot_interval": "30s",
				"non_voter": "true", "autopilot_redundancy_zone": "az1", "max_entry_size": "2048",
				"retry_join": "ignored here",
			},
			want: Config{
				Path: "/data", NodeID: "n1", PerformanceMultiplier: 1, SnapshotThreshold: 100,
				TrailingLogs: 50, SnapshotInterval: 30 * time.Second, NonVoter: true,
				AutopilotRedundancyZone: "az1", MaxEntrySize: 2048,
			},
		},
		{name: "interval in seconds", in: map[string]string{"path": "p", "snapshot_interval": "90"}, want: Config{Path: "p", SnapshotInterval: 90 * time.Second}},
		{name: "vault's non-voter key", in: map[string]string{"path": "p", "retry_join_as_non_voter": "1"}, want: Config{Path: "p", NonVoter: true}},
		{name: "multiplier zero means default", in: map[string]string{"path": "p", "performance_multiplier": "0"}, want: Config{Path: "p"}},
		{name: "no path", in: map[string]string{"node_id": "x"}, wantErr: `"path" is required`},
		{name: "blank path", in: map[string]string{"path": "  "}, wantErr: `"path" is required`},
		{name: "multiplier not a number", in: map[string]string{"path": "p", "performance_multiplier": "fast"}, wantErr: "performance_multiplier must be an integer"},
		{name: "multiplier too big", in: map[string]string{"path": "p", "performance_multiplier": "11"}, wantErr: "performance_multiplier must be between 0 and 10"},
		{name: "multiplier negative", in: map[string]string{"path": "p", "performance_multiplier": "-1"}, wantErr: "between 0 and 10"},
		{name: "threshold negative", in: map[string]string{"path": "p", "snapshot_threshold": "-5"}, wantErr: "snapshot_threshold must be a non-negative integer"},
		{name: "trailing logs word", in: map[string]string{"path": "p", "trailing_logs": "many"}, wantErr: "trailing_logs must be a non-negative integer"},
		{name: "bad interval", in: map[string]string{"path": "p", "snapshot_interval": "soon"}, wantErr: "snapshot_interval must be a duration"},
		{name: "negative interval", in: map[string]string{"path": "p", "snapshot_interval": "-3s"}, wantErr: "non-negative duration"},
		{name: "bad bool", in: map[string]string{"path": "p", "non_voter": "maybe"}, wantErr: "non_voter must be true or false"},
		{name: "entry size too small", in: map[string]string{"path": "p", "max_entry_size": "10"}, wantErr: "max_entry_size must be between 1024"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ConfigFromMap(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func FuzzConfigFromMap(f *testing.F) {
	f.Add("/data", "1", "100", "30s", "true", "2048")
	f.Add("", "x", "-1", "soon", "maybe", "1")
	f.Add("p", "10", "18446744073709551616", "9223372036", "0", "999999999999")
	f.Fuzz(func(t *testing.T, path, mult, threshold, interval, nonVoter, maxEntry string) {
		c, err := ConfigFromMap(map[string]string{
			"path": path, "performance_multiplier": mult, "snapshot_threshold": threshold,
			"trailing_logs": threshold, "snapshot_interval": interval, "non_voter": nonVoter,
			"max_entry_size": maxEntry,
		})
		if err != nil {
			return
		}
		if c.Path == "" || c.PerformanceMultiplier < 0 || c.PerformanceMultiplier > MaxPerformanceMultiplier ||
			c.SnapshotInterval < 0 || c.MaxEntrySize < minMaxEntrySize {
			t.Fatalf("accepted an invalid config: %+v", c)
		}
		if _, err := c.withDefaults(); err != nil {
			t.Fatalf("parsed config fails validation: %v", err)
		}
	})
}

func TestPerformanceMultiplier(t *testing.T) {
	for _, tc := range []struct {
		mult      int
		heartbeat time.Duration
		lease     time.Duration
	}{
		{0, time.Second, 800 * time.Millisecond}, // defaultTiming
		{5, 5 * time.Second, 2500 * time.Millisecond},
		{1, time.Second, 500 * time.Millisecond},
		{10, 10 * time.Second, 5 * time.Second},
	} {
		c, err := Config{Path: "p", PerformanceMultiplier: tc.mult}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		rc := c.raftConfig("id", nil)
		if rc.HeartbeatTimeout != tc.heartbeat || rc.ElectionTimeout != tc.heartbeat || rc.LeaderLeaseTimeout != tc.lease {
			t.Errorf("multiplier %d: heartbeat %s election %s lease %s", tc.mult, rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout)
		}
		if !rc.NoSnapshotRestoreOnStart {
			t.Error("raft would restore its snapshot over vault.db on start")
		}
	}
	if _, err := (Config{Path: "p", PerformanceMultiplier: 11}).withDefaults(); err == nil {
		t.Error("multiplier 11 accepted")
	}
	c, _ := Config{Path: "p"}.withDefaults()
	if c.ApplyTimeout != DefaultApplyTimeout || c.MaxEntrySize != DefaultMaxEntrySize || c.BindAddr != "127.0.0.1:0" {
		t.Errorf("defaults: %+v", c)
	}
}
