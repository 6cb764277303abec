package core

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	metrics "github.com/hashicorp/go-metrics"

	"github.com/strongbox/strongbox/internal/audit"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/telemetry"
)

// MetricsSource renders the node's metrics (package telemetry).
type MetricsSource interface {
	// Gather renders the metrics in format ("" for JSON, "prometheus");
	// the error wraps telemetry.ErrPrometheusDisabled or
	// telemetry.ErrUnknownFormat when the format cannot be served.
	Gather(format string) (contentType string, body []byte, err error)
}

// metricsPaths serve sys/metrics: a read, so a token needs read on
// sys/metrics (the listener's unauthenticated_metrics_access lets the HTTP
// layer answer without one).
func (c *Core) metricsPaths() []*logical.Path {
	return []*logical.Path{{
		Pattern: "metrics",
		Fields:  map[string]*logical.FieldSchema{"format": {Type: logical.TypeString}},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: func(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
				return MetricsResponse(c.conf.Metrics, d.Get("format").(string))
			},
		},
	}}
}

// MetricsResponse renders src in format as a raw response, the way Vault's
// sys/metrics answers: 400 for a format it cannot serve.
func MetricsResponse(src MetricsSource, format string) (*logical.Response, error) {
	if src == nil {
		return nil, logical.BadRequest("metrics are not configured on this node")
	}
	ct, body, err := src.Gather(format)
	switch {
	case errors.Is(err, telemetry.ErrPrometheusDisabled):
		return nil, logical.BadRequest("prometheus is not enabled")
	case errors.Is(err, telemetry.ErrUnknownFormat):
		return nil, logical.BadRequest("%s", err.Error())
	case err != nil:
		return nil, err
	}
	return &logical.Response{Raw: body, RawContentType: ct, RawStatus: http.StatusOK}, nil
}

// Metric names, as Vault emits them; allocated once, off the hot path.
var (
	metricHandleRequest      = []string{"core", "handle_request"}
	metricHandleLoginRequest = []string{"core", "handle_login_request"}
	metricAuditRequest       = []string{"audit", "log_request"}
	metricAuditResponse      = []string{"audit", "log_response"}
	metricUnseal             = []string{"core", "unseal"}
	metricStepDown           = []string{"core", "step_down"}
	metricActive             = []string{"core", "active"}
	metricStandby            = []string{"core", "standby"}
	metricUnsealed           = []string{"core", "unsealed"}
	metricNumLeases          = []string{"expire", "num_leases"}
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

// RunMetricsLoop sets the node's state gauges every second
// (vault.core.active, standby, unsealed) and the usage gauges
// (vault.expire.num_leases) every usagePeriod (0: never), until ctx ends.
func (c *Core) RunMetricsLoop(ctx context.Context, usagePeriod time.Duration) {
	state := time.NewTicker(time.Second)
	defer state.Stop()
	var usage <-chan time.Time
	if usagePeriod > 0 {
		t := time.NewTicker(usagePeriod)
		defer t.Stop()
		usage = t.C
	}
	c.emitStateGauges()
	c.emitUsageGauges()
	for {
		select {
		case <-ctx.Done():
			return
		case <-state.C:
			c.emitStateGauges()
			c.emitAutopilotGauges()
		case <-usage:
			c.emitUsageGauges()
		}
	}
}

func (c *Core) emitStateGauges() {
	c.stateLock.RLock()
	sealed, standby := c.sealed, c.standby
	c.stateLock.RUnlock()
	metrics.SetGauge(metricUnsealed, boolGauge(!sealed))
	metrics.SetGauge(metricActive, boolGauge(!sealed && !standby))
	metrics.SetGauge(metricStandby, boolGauge(!sealed && standby))
}

// emitUsageGauges reports the leases the expiration manager tracks, on the
// active node (a standby tracks none).
func (c *Core) emitUsageGauges() {
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	if c.sealed || c.standby || c.expiration == nil {
		return
	}
	metrics.SetGauge(metricNumLeases, float32(c.expiration.InMemory()))
}

func boolGauge(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// autopilotStater is raft storage running autopilot (package raft).
type autopilotStater interface {
	AutopilotState() map[string]any
}

var (
	metricAutopilotHealthy   = []string{"autopilot", "healthy"}
	metricAutopilotTolerance = []string{"autopilot", "failure_tolerance"}
	metricAutopilotNode      = []string{"autopilot", "node", "healthy"}
)

// emitAutopilotGauges reports autopilot's view, as Vault does, on the node
// that runs it (the raft leader): vault.autopilot.healthy,
// failure_tolerance, and node.healthy per server (label node_id).
func (c *Core) emitAutopilotGauges() {
	ap, ok := c.physical.(autopilotStater)
	if !ok {
		return
	}
	st := ap.AutopilotState()
	if st == nil {
		return
	}
	if h, ok := st["healthy"].(bool); ok {
		metrics.SetGauge(metricAutopilotHealthy, boolGauge(h))
	}
	if ft, ok := asFloat(st["failure_tolerance"]); ok {
		metrics.SetGauge(metricAutopilotTolerance, float32(ft))
	}
	if servers, ok := st["servers"].(map[string]any); ok {
		for id, s := range servers {
			if m, ok := s.(map[string]any); ok {
				if h, ok := m["healthy"].(bool); ok {
					metrics.SetGaugeWithLabels(metricAutopilotNode, boolGauge(h), []metrics.Label{{Name: "node_id", Value: id}})
				}
			}
		}
	}
}

func asFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}
