package tokenutil

import (
	"net"
	"net/netip"
	"strings"

	"github.com/strongbox/strongbox/internal/logical"
)

// ParseCIDRs checks and normalizes a list of CIDR blocks or IP addresses:
// "10.0.0.0/8" stays a block, "127.0.0.1" and "127.0.0.1/32" read back as
// the address alone (as Vault shows them). Errors are 400s.
func ParseCIDRs(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := parsePrefix(s)
		if err != nil {
			return nil, logical.BadRequest("invalid 'token_bound_cidrs' entry %q: not a CIDR block or an IP address", s)
		}
		if p.IsSingleIP() {
			out = append(out, p.Addr().String())
		} else {
			out = append(out, p.Masked().String())
		}
	}
	return out, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// AddrAllowed reports whether a remote address ("host:port" as a
// connection has it, or a bare IP) lies inside one of the CIDRs. No CIDRs
// allow every address; an address that cannot be read is never allowed
// when there are some.
func AddrAllowed(remote string, cidrs []string) bool {
	if len(cidrs) == 0 {
		return true
	}
	host := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		host = h
	}
	addr, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, c := range cidrs {
		p, err := parsePrefix(c)
		if err != nil {
			continue
		}
		if p.Contains(addr) || (p.Addr().Is4In6() && p.Bits() >= 96 && netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Contains(addr)) {
			return true
		}
	}
	return false
}

// ConnAllowed is AddrAllowed for a request's connection; a request without
// one is refused when there are CIDRs.
func ConnAllowed(conn *logical.Connection, cidrs []string) bool {
	if len(cidrs) == 0 {
		return true
	}
	if conn == nil {
		return false
	}
	return AddrAllowed(conn.RemoteAddr, cidrs)
}
