package http

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// withXFF takes the client's address from X-Forwarded-For when the request
// comes from an authorized proxy, as Vault's listener does: the address
// HopSkips places from the right of the chain replaces r.RemoteAddr, so the
// audit log's remote_address and token_bound_cidrs see the real client.
func withXFF(next http.Handler, o XFFOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		values := r.Header.Values("X-Forwarded-For")
		if len(values) == 0 {
			if o.RejectNotPresent {
				respondError(w, http.StatusBadRequest, errors.New("missing x-forwarded-for header and configured to reject when not present"))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		host, port, err := net.SplitHostPort(r.RemoteAddr)
		var ip netip.Addr
		if err == nil {
			ip, err = netip.ParseAddr(host)
		}
		if err != nil {
			// An address we cannot read cannot be authorized.
			if o.RejectNotPresent {
				respondError(w, http.StatusBadRequest, fmt.Errorf("error parsing client address: %w", err))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if !containsAddr(o.AuthorizedAddrs, ip) {
			if o.RejectNotAuthorized {
				respondError(w, http.StatusForbidden, errors.New("client address not authorized for x-forwarded-for and configured to reject connection"))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		var chain []string
		for _, v := range values {
			for _, a := range strings.Split(v, ",") {
				if a = strings.TrimSpace(a); a != "" {
					chain = append(chain, a)
				}
			}
		}
		i := len(chain) - 1 - o.HopSkips
		if i < 0 {
			respondError(w, http.StatusBadRequest, fmt.Errorf("malformed x-forwarded-for configuration or request, hops to skip (%d) would skip before earliest chain link (chain length %d)", o.HopSkips, len(chain)))
			return
		}
		client := chain[i]
		// A proxy may send "host:port" or a bracketed IPv6 address.
		if h, _, err := net.SplitHostPort(client); err == nil {
			client = h
		}
		client = strings.Trim(client, "[]")
		if _, err := netip.ParseAddr(client); err != nil {
			respondError(w, http.StatusBadRequest, fmt.Errorf("malformed x-forwarded-for header: %q is not an IP address", chain[i]))
			return
		}
		r2 := r.Clone(r.Context())
		r2.RemoteAddr = net.JoinHostPort(client, port)
		next.ServeHTTP(w, r2)
	})
}
