package tokenutil

import (
	"slices"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestAddrAllowed(t *testing.T) {
	cidrs := []string{"10.0.0.0/8", "192.168.1.7", "2001:db8::/32"}
	for _, tc := range []struct {
		remote string
		want   bool
	}{
		{"10.2.3.4:5555", true},
		{"11.0.0.1:5555", false},
		{"192.168.1.7:1", true},
		{"192.168.1.8:1", false},
		{"[2001:db8::1]:443", true},
		{"[::ffff:10.0.0.1]:80", true},
		{"10.9.9.9", true},
		{"garbage", false},
		{"", false},
	} {
		if got := AddrAllowed(tc.remote, cidrs); got != tc.want {
			t.Errorf("AddrAllowed(%q) = %v, want %v", tc.remote, got, tc.want)
		}
	}
	if !AddrAllowed("garbage", nil) {
		t.Error("no CIDRs must allow everything")
	}
	if ConnAllowed(nil, cidrs) || !ConnAllowed(nil, nil) {
		t.Error("ConnAllowed: a missing connection is refused only when there are CIDRs")
	}
	if !ConnAllowed(&logical.Connection{RemoteAddr: "10.0.0.1:1"}, cidrs) {
		t.Error("ConnAllowed refused an address inside")
	}
}

// FuzzParseCIDRs: an accepted list is normalized (parsing it again gives
// it back unchanged), and every block it holds allows its own address.
func FuzzParseCIDRs(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "127.0.0.1/32", "::1", "10.1.2.3/8", "x", "1.2.3.4/40", "fe80::/10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := ParseCIDRs([]string{s})
		if err != nil {
			return
		}
		again, err := ParseCIDRs(out)
		if err != nil || !slices.Equal(again, out) {
			t.Fatalf("%q -> %v -> %v, %v", s, out, again, err)
		}
		for _, c := range out {
			p, _ := parsePrefix(c)
			if !AddrAllowed(p.Addr().String(), out) {
				t.Fatalf("%q: own address %s refused", c, p.Addr())
			}
		}
	})
}
