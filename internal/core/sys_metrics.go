package core

import (
	"context"
	"strings"
	"time"

	metrics "github.com/hashicorp/go-metrics"

	"github.com/strongbox/strongbox/internal/audit"
	"github.com/strongbox/strongbox/internal/core/diag"
	"github.com/strongbox/strongbox/internal/logical"
)

// MetricsSource renders the node's metrics (core/diag).
type MetricsSource = diag.MetricsSource

// InFlightRequest is one request sys/in-flight-req shows (core/diag).
type InFlightRequest = diag.InFlightRequest

// Metric names, as Vault emits them; allocated once, off the hot path.
var (
	metricHandleRequest      = []string{"core", "handle_request"}
	metricHandleLoginRequest = []string{"core", "handle_login_request"}
	metricAuditRequest       = []string{"audit", "log_request"}
	metricAuditResponse      = []string{"audit", "log_response"}
	metricUnseal             = []string{"core", "unseal"}
	metricStepDown           = []string{"core", "step_down"}
)

// measureRequest times one request as vault.core.handle_request, or
// handle_login_request for a request to an auth mount made without a token
// (a login).
func measureRequest(req *logical.Request, start time.Time) {
	key := metricHandleRequest
	if req.ClientToken == "" && strings.HasPrefix(req.Path, "auth/") {
		key = metricHandleLoginRequest
	}
	metrics.MeasureSince(key, start)
}

// logRequest writes the request's audit entry, timed as
// vault.audit.log_request.
func (c *Core) logRequest(ctx context.Context, in *audit.LogInput) error {
	defer metrics.MeasureSince(metricAuditRequest, time.Now())
	return c.audit.LogRequest(ctx, in)
}

// logResponse writes the response's audit entry, timed as
// vault.audit.log_response.
func (c *Core) logResponse(ctx context.Context, in *audit.LogInput) error {
	defer metrics.MeasureSince(metricAuditResponse, time.Now())
	return c.audit.LogResponse(ctx, in)
}

// MetricsSource is the node's metrics, for the HTTP layer's
// unauthenticated sys/metrics.
func (c *Core) MetricsSource() MetricsSource { return c.conf.Metrics }

// InFlight is the node's in-flight request table (the HTTP layer fills it).
func (c *Core) InFlight() *diag.InFlight { return &c.inFlight }

// PprofUnauthenticated serves sys/pprof/<rel> without a token (core/diag).
func (c *Core) PprofUnauthenticated(ctx context.Context, rel string, data map[string]any) (*logical.Response, error) {
	return diag.PprofUnauthenticated(ctx, rel, data)
}

// autopilotStater is raft storage running autopilot (package raft).
type autopilotStater interface {
	AutopilotState() map[string]any
}

// RunMetricsLoop sets the node's state and autopilot gauges every second
// and the usage gauges (vault.expire.num_leases) every usagePeriod (0:
// never), until ctx ends.
func (c *Core) RunMetricsLoop(ctx context.Context, usagePeriod time.Duration) {
	state := time.NewTicker(time.Second)
	defer state.Stop()
	var usage <-chan time.Time
	if usagePeriod > 0 {
		t := time.NewTicker(usagePeriod)
		defer t.Stop()
		usage = t.C
	}
	gauges := func(withUsage bool) {
		c.stateLock.RLock()
		sealed, standby := c.sealed, c.standby
		if withUsage && !sealed && !standby && c.expiration != nil {
			diag.LeaseGauge(c.expiration.InMemory())
		}
		c.stateLock.RUnlock()
		diag.StateGauges(sealed, standby)
		if ap, ok := c.physical.(autopilotStater); ok {
			diag.AutopilotGauges(ap.AutopilotState())
		}
	}
	gauges(true)
	for {
		select {
		case <-ctx.Done():
			return
		case <-state.C:
			gauges(false)
		case <-usage:
			gauges(true)
		}
	}
}
