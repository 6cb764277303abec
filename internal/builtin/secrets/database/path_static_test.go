package database

import (
	"testing"
	"time"
)

func TestNextRotation(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name string
		r    staticRole
		now  string
		want string // "" = zero time (due at once)
	}{
		{"period", staticRole{RotationPeriod: 90, LastVaultRotation: at("2026-01-01T10:00:00Z")}, "2026-01-01T10:00:30Z", "2026-01-01T10:01:30Z"},
		{"schedule", staticRole{RotationSchedule: "0 * * * *", LastVaultRotation: at("2026-01-01T10:00:00Z")}, "2026-01-01T10:30:00Z", "2026-01-01T11:00:00Z"},
		{"schedule missed, no window: due", staticRole{RotationSchedule: "0 3 * * *", LastVaultRotation: at("2026-01-01T03:00:00Z")}, "2026-01-03T05:00:00Z", "2026-01-02T03:00:00Z"},
		{"window open", staticRole{RotationSchedule: "0 3 * * *", RotationWindow: 7200, LastVaultRotation: at("2026-01-01T03:00:00Z")}, "2026-01-03T04:00:00Z", "2026-01-03T03:00:00Z"},
		{"window closed: next occurrence", staticRole{RotationSchedule: "0 3 * * *", RotationWindow: 3600, LastVaultRotation: at("2026-01-01T03:00:00Z")}, "2026-01-03T05:00:00Z", "2026-01-04T03:00:00Z"},
		{"pending", staticRole{RotationPeriod: 3600, PendingPassword: "x", LastVaultRotation: at("2026-01-01T10:00:00Z")}, "2026-01-01T10:00:01Z", ""},
	}
	for _, c := range cases {
		got := c.r.nextRotation(at(c.now))
		if c.want == "" {
			if !got.IsZero() {
				t.Errorf("%s: %v, want due at once", c.name, got)
			}
			continue
		}
		if !got.Equal(at(c.want)) {
			t.Errorf("%s: %v, want %s", c.name, got, c.want)
		}
	}
}
