package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/config"
	"github.com/strongbox/strongbox/internal/core"
	apihttp "github.com/strongbox/strongbox/internal/http"
)

// nodeInfo is what the listeners may tell about this node.
type nodeInfo struct {
	raftNodeID string // empty unless the storage is raft
}

// Vault's listener defaults.
const (
	defaultReadTimeout       = 30 * time.Second
	defaultReadHeaderTimeout = 10 * time.Second
	defaultIdleTimeout       = 5 * time.Minute
)

// newHTTPServer builds one listener's HTTP server: the API handler wrapped
// in the listener's per-request settings, with its timeouts.
func newHTTPServer(cfg *config.Config, l *config.Listener, c *core.Core, node nodeInfo, logger *slog.Logger) (*http.Server, *apihttp.Handler, error) {
	// Options first: the handler starts background work that a failure
	// here would leak.
	opts, err := listenerOptions(cfg, l, c, logger)
	if err != nil {
		return nil, nil, err
	}
	if cfg.EnableResponseHeaderRaftNodeID {
		// As in Vault, only raft storage has a node id to show.
		opts.RaftNodeID = node.raftNodeID
	}
	h := apihttp.NewHandler(c, apihttp.Options{
		Logger:         logger.With("component", "http"),
		MaxRequestSize: l.MaxRequestSize,
		Redact:         apihttp.Redaction{Addresses: l.RedactAddresses, ClusterName: l.RedactClusterName, Version: l.RedactVersion},

		UnauthenticatedMetrics:  l.UnauthenticatedMetricsAccess,
		UnauthenticatedInFlight: l.UnauthenticatedInFlightAccess,
		UnauthenticatedPprof:    l.UnauthenticatedPProfAccess,
	})
	hs := &http.Server{
		Handler:  apihttp.WrapListener(h, opts),
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	applyTimeouts(hs, l)
	return hs, h, nil
}

// applyTimeouts sets the listener's http_*_timeout settings, with Vault's
// defaults. A body trickled slower than the read timeout is cut: the read
// fails, the handler answers 400 and the connection is closed.
func applyTimeouts(hs *http.Server, l *config.Listener) {
	hs.ReadTimeout = orDefault(l.HTTPReadTimeout, defaultReadTimeout)
	hs.ReadHeaderTimeout = orDefault(l.HTTPReadHeaderTimeout, defaultReadHeaderTimeout)
	hs.WriteTimeout = l.HTTPWriteTimeout
	hs.IdleTimeout = orDefault(l.HTTPIdleTimeout, defaultIdleTimeout)
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// defaultHSTS is the Strict-Transport-Security header Vault sends on every
// response unless custom_response_headers "default" sets its own.
const defaultHSTS = "max-age=31536000; includeSubDomains"

// withDefaultHSTS returns the custom headers with Vault's default
// Strict-Transport-Security added (a copy; the configuration is untouched).
func withDefaultHSTS(in map[string]map[string][]string) map[string]map[string][]string {
	out := make(map[string]map[string][]string, len(in)+1)
	for code, headers := range in {
		out[code] = headers
	}
	def := map[string][]string{"Strict-Transport-Security": {defaultHSTS}}
	for name, v := range in["default"] {
		if strings.EqualFold(name, "Strict-Transport-Security") {
			delete(def, "Strict-Transport-Security")
		}
		def[name] = v
	}
	out["default"] = def
	return out
}

// listenerOptions turns a listener stanza (and the top-level settings that
// apply to every listener) into the API's per-request settings.
func listenerOptions(cfg *config.Config, l *config.Listener, c *core.Core, logger *slog.Logger) (apihttp.ListenerOptions, error) {
	o := apihttp.ListenerOptions{
		RequireRequestHeader: l.RequireRequestHeader,
		CustomHeaders:        withDefaultHSTS(l.CustomResponseHeaders),
		Logger:               logger.With("component", "http"),
	}
	o.MaxRequestDuration = l.MaxRequestDuration
	if o.MaxRequestDuration == 0 {
		o.MaxRequestDuration = orDefault(cfg.DefaultMaxRequestDuration, config.DefaultMaxRequestDuration)
	}
	if len(l.XForwardedForAuthorizedAddrs) > 0 {
		addrs, err := apihttp.ParsePrefixes(l.XForwardedForAuthorizedAddrs)
		if err != nil {
			return o, fmt.Errorf("listener %s: x_forwarded_for_authorized_addrs: %w", l.Address, err)
		}
		o.XFF = &apihttp.XFFOptions{
			AuthorizedAddrs:     addrs,
			HopSkips:            int(l.XForwardedForHopSkips),
			RejectNotAuthorized: l.XForwardedForRejectNotAuthorized,
			RejectNotPresent:    l.XForwardedForRejectNotPresent,
		}
	}
	// The listener's cors_* settings, when enabled, are fixed policy;
	// otherwise sys/config/cors decides.
	if l.CORSEnabled {
		p := apihttp.CORSPolicy{Enabled: true, AllowedOrigins: l.CORSAllowedOrigins, AllowedHeaders: l.CORSAllowedHeaders}
		o.CORS = func(context.Context) apihttp.CORSPolicy { return p }
	} else {
		o.CORS = func(ctx context.Context) apihttp.CORSPolicy {
			s := c.CORS(ctx)
			return apihttp.CORSPolicy{Enabled: s.Enabled, AllowedOrigins: s.AllowedOrigins, AllowedHeaders: s.AllowedHeaders}
		}
	}
	if cfg.EnableResponseHeaderHostname {
		name, err := os.Hostname()
		if err != nil {
			return o, fmt.Errorf("enable_response_header_hostname: %w", err)
		}
		o.Hostname = name
	}
	if cfg.LogRequestsLevel != "" {
		lvl := new(slog.LevelVar)
		if err := setLevel(lvl, cfg.LogRequestsLevel); err != nil {
			return o, fmt.Errorf("log_requests_level: %w", err)
		}
		v := lvl.Level()
		o.LogRequests = &v
	}
	return o, nil
}
