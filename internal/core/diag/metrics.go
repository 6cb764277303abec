package diag

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	metrics "github.com/hashicorp/go-metrics"

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

// MetricsPaths serve sys/metrics: a read, so a token needs read on
// sys/metrics (the listener's unauthenticated_metrics_access lets the HTTP
// layer answer without one).
func MetricsPaths(src MetricsSource) []*logical.Path {
	return []*logical.Path{{
		Pattern: "metrics",
		Fields:  map[string]*logical.FieldSchema{"format": {Type: logical.TypeString}},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: func(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
				return MetricsResponse(src, d.Get("format").(string))
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

// Gauge names, as Vault emits them.
var (
	metricActive             = []string{"core", "active"}
	metricStandby            = []string{"core", "standby"}
	metricUnsealed           = []string{"core", "unsealed"}
	metricNumLeases          = []string{"expire", "num_leases"}
	metricAutopilotHealthy   = []string{"autopilot", "healthy"}
	metricAutopilotTolerance = []string{"autopilot", "failure_tolerance"}
	metricAutopilotNode      = []string{"autopilot", "node", "healthy"}
)

// StateGauges sets vault.core.unsealed, active and standby.
func StateGauges(sealed, standby bool) {
	metrics.SetGauge(metricUnsealed, boolGauge(!sealed))
	metrics.SetGauge(metricActive, boolGauge(!sealed && !standby))
	metrics.SetGauge(metricStandby, boolGauge(!sealed && standby))
}

// LeaseGauge sets vault.expire.num_leases.
func LeaseGauge(n int) { metrics.SetGauge(metricNumLeases, float32(n)) }

// AutopilotGauges reports autopilot's view, as Vault does, on the node
// that runs it (the raft leader): vault.autopilot.healthy,
// failure_tolerance, and node.healthy per server (label node_id). st is
// the raft storage's autopilot state; nil: nothing to report.
func AutopilotGauges(st map[string]any) {
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

func boolGauge(b bool) float32 {
	if b {
		return 1
	}
	return 0
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

// AutopilotStater is raft storage running autopilot (package raft).
type AutopilotStater interface {
	AutopilotState() map[string]any
}

// RunGauges sets the node's state and autopilot gauges every second and
// vault.expire.num_leases every usagePeriod (0: never), until ctx ends.
// state reads the node (leases: the active node's, else 0); ap is nil
// without autopilot.
func RunGauges(ctx context.Context, usagePeriod time.Duration, state func() (sealed, standby bool, leases int), ap AutopilotStater) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var usage <-chan time.Time
	if usagePeriod > 0 {
		t := time.NewTicker(usagePeriod)
		defer t.Stop()
		usage = t.C
	}
	emit := func(withUsage bool) {
		sealed, standby, leases := state()
		if withUsage && !sealed && !standby {
			LeaseGauge(leases)
		}
		StateGauges(sealed, standby)
		if ap != nil {
			AutopilotGauges(ap.AutopilotState())
		}
	}
	emit(true)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			emit(false)
		case <-usage:
			emit(true)
		}
	}
}

// Timer names, as Vault emits them; allocated once, off the hot path.
var (
	metricHandleRequest      = []string{"core", "handle_request"}
	metricHandleLoginRequest = []string{"core", "handle_login_request"}
	MetricAuditRequest       = []string{"audit", "log_request"}
	MetricAuditResponse      = []string{"audit", "log_response"}
	MetricUnseal             = []string{"core", "unseal"}
	MetricStepDown           = []string{"core", "step_down"}
)

// Measure records the time since start under key.
func Measure(key []string, start time.Time) { metrics.MeasureSince(key, start) }

// MeasureRequest times one request as vault.core.handle_request, or
// handle_login_request for a request to an auth mount made without a token
// (a login).
func MeasureRequest(req *logical.Request, start time.Time) {
	key := metricHandleRequest
	if req.ClientToken == "" && strings.HasPrefix(req.Path, "auth/") {
		key = metricHandleLoginRequest
	}
	metrics.MeasureSince(key, start)
}
