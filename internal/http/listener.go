package http

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"time"
)

// ListenerOptions are a listener stanza's per-request settings, applied by
// WrapListener around the API handler.
type ListenerOptions struct {
	// RequireRequestHeader answers 412 to requests without
	// "X-Vault-Request: true" (require_request_header), a guard against
	// browsers being tricked into calling the API.
	RequireRequestHeader bool
	// XFF, when non-nil, takes the client address from X-Forwarded-For.
	XFF *XFFOptions
	// CORS returns the cross-origin policy in force; nil means none.
	CORS func(ctx context.Context) CORSPolicy
	// CustomHeaders maps "default", a class ("4xx") or a status code
	// ("404") to headers set on responses with that status.
	CustomHeaders map[string]map[string][]string
	// Hostname, when set, is sent as X-Vault-Hostname on every response
	// (enable_response_header_hostname).
	Hostname string
	// RaftNodeID, when set, is sent as X-Vault-Raft-Node-ID on every
	// response (enable_response_header_raft_node_id).
	RaftNodeID string
	// MaxRequestDuration bounds each request's context; 0 means none.
	MaxRequestDuration time.Duration
	// LogRequests, when set, logs every completed request at that level
	// (log_requests_level) to Logger.
	LogRequests *slog.Level
	Logger      *slog.Logger
}

// XFFOptions are a listener's x_forwarded_for_* settings.
type XFFOptions struct {
	// AuthorizedAddrs are the proxies whose X-Forwarded-For is trusted.
	AuthorizedAddrs []netip.Prefix
	// HopSkips is how many addresses to skip from the right of the chain.
	HopSkips int
	// RejectNotAuthorized answers 403 to an X-Forwarded-For from an
	// address not in AuthorizedAddrs, instead of ignoring the header.
	RejectNotAuthorized bool
	// RejectNotPresent answers 400 to a request without X-Forwarded-For.
	RejectNotPresent bool
}

// ParsePrefixes turns addresses and CIDR blocks into prefixes (an address
// becomes a single-address prefix).
func ParsePrefixes(addrs []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(addrs))
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a); err == nil {
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return nil, errors.New("not an IP address or CIDR block: " + a)
		}
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out, nil
}

func containsAddr(prefixes []netip.Prefix, ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// WrapListener applies a listener's settings around next. Custom headers
// come outermost so that every answer, refusals included, carries them.
func WrapListener(next http.Handler, o ListenerOptions) http.Handler {
	h := next
	if o.MaxRequestDuration > 0 {
		h = withDeadline(h, o.MaxRequestDuration)
	}
	if o.RequireRequestHeader {
		h = requireRequestHeader(h)
	}
	if o.CORS != nil {
		h = withCORS(h, o.CORS)
	}
	if o.XFF != nil {
		h = withXFF(h, *o.XFF)
	}
	if len(o.CustomHeaders) > 0 || o.Hostname != "" || o.RaftNodeID != "" || o.LogRequests != nil {
		h = withResponseHeaders(h, o)
	}
	return h
}

func withDeadline(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func requireRequestHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Values("X-Vault-Request"); len(v) != 1 || v[0] != "true" {
			respondError(w, http.StatusPreconditionFailed, errors.New(`missing "X-Vault-Request" header`))
			return
		}
		next.ServeHTTP(w, r)
	})
}
