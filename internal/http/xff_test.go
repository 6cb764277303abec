package http

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func xffRun(o XFFOptions, remote string, xff []string) (status int, seen string) {
	h := withXFF(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.RemoteAddr }), o)
	r := httptest.NewRequest(http.MethodGet, "/v1/sys/health", nil)
	r.RemoteAddr = remote
	for _, v := range xff {
		r.Header.Add("X-Forwarded-For", v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, seen
}

func TestXFFCases(t *testing.T) {
	auth, _ := ParsePrefixes([]string{"10.0.0.0/8", "::1"})
	o := XFFOptions{AuthorizedAddrs: auth}
	for _, tc := range []struct {
		name     string
		o        XFFOptions
		remote   string
		xff      []string
		status   int
		wantAddr string
	}{
		{"last of the chain", o, "10.1.2.3:5000", []string{"1.1.1.1, 2.2.2.2"}, 200, "2.2.2.2:5000"},
		{"several header lines", XFFOptions{AuthorizedAddrs: auth, HopSkips: 1}, "10.1.2.3:5000", []string{"1.1.1.1", "2.2.2.2"}, 200, "1.1.1.1:5000"},
		{"ipv6 peer and client", o, "[::1]:5000", []string{"2001:db8::7"}, 200, "[2001:db8::7]:5000"},
		{"client with a port", o, "10.1.2.3:5000", []string{"1.1.1.1:443"}, 200, "1.1.1.1:5000"},
		{"unauthorized peer ignored", o, "192.0.2.1:5000", []string{"1.1.1.1"}, 200, "192.0.2.1:5000"},
		{"not an address", o, "10.1.2.3:5000", []string{"not-an-ip"}, 400, ""},
		{"too many hops", XFFOptions{AuthorizedAddrs: auth, HopSkips: 2}, "10.1.2.3:5000", []string{"1.1.1.1, 2.2.2.2"}, 400, ""},
		{"absent, not required", o, "10.1.2.3:5000", nil, 200, "10.1.2.3:5000"},
		{"absent, required", XFFOptions{AuthorizedAddrs: auth, RejectNotPresent: true}, "10.1.2.3:5000", nil, 400, ""},
		{"unauthorized, refused", XFFOptions{AuthorizedAddrs: auth, RejectNotAuthorized: true}, "192.0.2.1:5000", []string{"1.1.1.1"}, 403, ""},
	} {
		status, seen := xffRun(tc.o, tc.remote, tc.xff)
		if status != tc.status || seen != tc.wantAddr {
			t.Errorf("%s: status %d, remote %q; want %d, %q", tc.name, status, seen, tc.status, tc.wantAddr)
		}
	}
}

// FuzzXFF: whatever the header holds, the request is refused with a 4xx
// (never a 5xx) or reaches the handler with an IP address on the peer's
// port.
func FuzzXFF(f *testing.F) {
	for _, s := range []string{"1.1.1.1", "1.1.1.1, 2.2.2.2", "[::1]:80", ",,,", "", "a b c", "1.1.1.1:99999"} {
		f.Add(s, uint8(0))
	}
	auth := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	f.Fuzz(func(t *testing.T, header string, hops uint8) {
		status, seen := xffRun(XFFOptions{AuthorizedAddrs: auth, HopSkips: int(hops % 4)}, "10.0.0.1:7000", []string{header})
		if status >= 400 {
			if status >= 500 {
				t.Fatalf("status %d for %q", status, header)
			}
			return
		}
		host, port, err := net.SplitHostPort(seen)
		if err != nil || port != "7000" {
			t.Fatalf("remote %q for %q", seen, header)
		}
		if _, err := netip.ParseAddr(host); err != nil {
			t.Fatalf("remote %q is not an IP address (header %q)", seen, header)
		}
	})
}
