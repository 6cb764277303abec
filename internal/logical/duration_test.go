package logical

import (
	"encoding/json"
	"testing"
	"time"
)

// TestParseDuration: seconds, Go durations and days parse; what does not
// fit a time.Duration is an error rather than a wrapped-around value (a
// wrap TTL of 1e10 seconds once came out negative, which asked for no
// wrapping at all).
func TestParseDuration(t *testing.T) {
	ok := map[any]time.Duration{
		"300": 300 * time.Second, "5m": 5 * time.Minute, "2d": 48 * time.Hour, 90: 90 * time.Second,
		int64(7): 7 * time.Second, json.Number("12"): 12 * time.Second, json.Number("1.5"): 1500 * time.Millisecond,
		1.5: 1500 * time.Millisecond, "": 0, nil: 0, "9223372036": 9223372036 * time.Second,
	}
	for in, want := range ok {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%#v) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []any{
		"10000000000", "9223372037", "300000000d", int64(1) << 40, 1e12, json.Number("10000000000"),
		json.Number("1e300"), "-5", "-1m", "soon", "99999999999999999999999h",
	} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%#v) = %v, want an error", in, got)
		}
	}
}

// FuzzParseDuration: any string either fails or gives a duration that is
// not negative.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"300", "5m", "2d", "10000000000", "300000000d", "-1", "1.5h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseDuration(s); err == nil && d < 0 {
			t.Fatalf("ParseDuration(%q) = %v", s, d)
		}
	})
}
