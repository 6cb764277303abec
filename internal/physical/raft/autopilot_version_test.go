package raft

import (
	"strings"
	"testing"
	"time"
)

func TestVersionCompare(t *testing.T) {
	// Vault's automated upgrade examples, and semver.org's ordering.
	cases := []struct {
		a, b string
		want int
	}{
		{"1.11.0", "1.11.0", 0},
		{"1.11.0-release.1", "1.11.0-release.2", -1},
		{"1.11.0-release.1", "1.11.1", -1},
		{"1.11.0", "1.11.0-release.1", 1},
		{"1.11.0+release.1", "1.11.0+release.2", 0},
		{"1.11.0-release.1+123", "1.11.0-release.1+456", 0},
		{"v1.2", "1.2.0", 0},
		{"1", "1.0.1", -1},
		{"1.10.0", "1.9.9", 1},
		{"1.0.0-alpha", "1.0.0-alpha.1", -1},
		{"1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
		{"1.0.0-beta.2", "1.0.0-beta.11", -1},
		{"1.0.0-rc.1", "1.0.0", -1},
	}
	for _, c := range cases {
		a, err := parseVersion(c.a)
		if err != nil {
			t.Fatalf("parse %q: %v", c.a, err)
		}
		b, err := parseVersion(c.b)
		if err != nil {
			t.Fatalf("parse %q: %v", c.b, err)
		}
		if got := a.compare(b); got != c.want {
			t.Errorf("compare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := b.compare(a); got != -c.want {
			t.Errorf("compare(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func TestVersionParseErrors(t *testing.T) {
	for _, s := range []string{"", "v", "dev", "1.2.3.4", "1..2", "1.2.x", "1.0.0-", "1.0.0+", "1.0.0-a..b", "-1.0.0"} {
		if v, err := parseVersion(s); err == nil {
			t.Errorf("parseVersion(%q) = %+v, want an error", s, v)
		}
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.11.0", "v1.2.3-rc.1+build.5", "1.0.0-alpha.beta", "1", "", "1.2.3.4", "1.0.0-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseVersion(s)
		if err != nil {
			return
		}
		if v.compare(v) != 0 {
			t.Fatalf("%q is not equal to itself", s)
		}
		w, err := parseVersion(strings.TrimSpace(s) + "+meta")
		if err != nil || v.compare(w) != 0 {
			t.Fatalf("build metadata changed %q: %v %v", s, w, err)
		}
	})
}

func TestConfigFromMapAutopilotKeys(t *testing.T) {
	c, err := ConfigFromMap(map[string]string{
		"path": "/data", "autopilot_redundancy_zone": " zone-a ", "autopilot_upgrade_version": "1.11.0-release.1",
		"autopilot_reconcile_interval": "500ms", "autopilot_update_interval": "2", "retry_join_as_non_voter": "true",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.AutopilotRedundancyZone != "zone-a" || c.AutopilotUpgradeVersion != "1.11.0-release.1" ||
		c.AutopilotReconcileInterval != 500*time.Millisecond || c.AutopilotUpdateInterval != 2*time.Second || !c.NonVoter {
		t.Fatalf("config %+v", c)
	}
	for key, bad := range map[string]string{
		"autopilot_upgrade_version":    "latest",
		"autopilot_reconcile_interval": "-1s",
		"autopilot_update_interval":    "often",
	} {
		if _, err := ConfigFromMap(map[string]string{"path": "/data", key: bad}); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s = %q: err %v", key, bad, err)
		}
	}
}
