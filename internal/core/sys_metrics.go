package core

import (
	"context"
	"time"

	"github.com/strongbox/strongbox/internal/audit"
	"github.com/strongbox/strongbox/internal/core/diag"
	"github.com/strongbox/strongbox/internal/logical"
)

// MetricsSource renders the node's metrics (core/diag).
type MetricsSource = diag.MetricsSource

// InFlightRequest is one request sys/in-flight-req shows (core/diag).
type InFlightRequest = diag.InFlightRequest

// logRequest writes the request's audit entry, timed as
// vault.audit.log_request.
func (c *Core) logRequest(ctx context.Context, in *audit.LogInput) error {
	defer diag.Measure(diag.MetricAuditRequest, time.Now())
	return c.audit.LogRequest(ctx, in)
}

// logResponse writes the response's audit entry, timed as
// vault.audit.log_response.
func (c *Core) logResponse(ctx context.Context, in *audit.LogInput) error {
	defer diag.Measure(diag.MetricAuditResponse, time.Now())
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

// RunMetricsLoop sets the node's gauges until ctx ends (diag.RunGauges).
func (c *Core) RunMetricsLoop(ctx context.Context, usagePeriod time.Duration) {
	ap, _ := c.physical.(diag.AutopilotStater)
	diag.RunGauges(ctx, usagePeriod, func() (sealed, standby bool, leases int) {
		c.stateLock.RLock()
		defer c.stateLock.RUnlock()
		if !c.sealed && !c.standby && c.expiration != nil {
			leases = c.expiration.InMemory()
		}
		return c.sealed, c.standby, leases
	}, ap)
}
