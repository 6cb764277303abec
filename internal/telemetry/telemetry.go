package telemetry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	promsink "github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/strongbox/strongbox/internal/config"
)

// ErrPrometheusDisabled is returned for the Prometheus format when
// prometheus_retention_time is 0 (Vault answers 400).
var ErrPrometheusDisabled = errors.New("prometheus is not enabled")

// ErrUnknownFormat is returned for a format other than "" or "prometheus".
var ErrUnknownFormat = errors.New("unknown metrics format")

// DefaultPrefix is the name every metric starts with, as in Vault.
const DefaultPrefix = "vault"

// Vault keeps ten-second intervals for one minute in its in-memory sink.
const (
	inmemInterval = 10 * time.Second
	inmemRetain   = time.Minute
)

// Telemetry is the installed pipeline.
type Telemetry struct {
	inmem    *metrics.InmemSink
	registry *prometheus.Registry // nil when Prometheus is off
	sinks    []metrics.MetricSink
	// UsageGaugePeriod is how often the expensive usage gauges (token
	// count, lease count) are computed; 0 turns them off.
	UsageGaugePeriod time.Duration
	prom             *promsink.PrometheusSink
}

// Setup builds the sinks cfg asks for (nil means no telemetry stanza:
// Vault's defaults without Prometheus) and installs them as go-metrics'
// global. The last Setup wins: go-metrics, and the raft library with it,
// has one global.
func Setup(cfg *config.Telemetry, logger *slog.Logger) (*Telemetry, error) {
	if logger == nil {
		logger = slog.Default()
	}
	t := &Telemetry{inmem: metrics.NewInmemSink(inmemInterval, inmemRetain)}
	prefix, retention := DefaultPrefix, time.Duration(0)
	mc := metrics.DefaultConfig(prefix)
	mc.EnableHostname = true
	t.UsageGaugePeriod = 10 * time.Minute
	fanout := metrics.FanoutSink{t.inmem}
	if cfg != nil {
		if cfg.MetricsPrefix != "" {
			prefix = cfg.MetricsPrefix
		}
		mc = metrics.DefaultConfig(prefix)
		mc.EnableHostname = !cfg.DisableHostname
		mc.EnableHostnameLabel = cfg.EnableHostnameLabel
		if cfg.EnableHostnameLabel {
			// The hostname rides as a label instead of in the name.
			mc.EnableHostname = false
		}
		retention = cfg.PrometheusRetentionTime
		t.UsageGaugePeriod = cfg.UsageGaugePeriod
		mc.FilterDefault = true
		if cfg.FilterDefault != nil {
			mc.FilterDefault = *cfg.FilterDefault
		}
		for _, f := range cfg.PrefixFilter {
			switch {
			case strings.HasPrefix(f, "+"):
				mc.AllowedPrefixes = append(mc.AllowedPrefixes, f[1:])
			case strings.HasPrefix(f, "-"):
				mc.BlockedPrefixes = append(mc.BlockedPrefixes, f[1:])
			default:
				return nil, fmt.Errorf("telemetry: prefix_filter %q: must start with + or -", f)
			}
		}
		for _, s := range []struct {
			addr string
			mk   func(string) (metrics.MetricSink, error)
		}{
			{cfg.StatsdAddress, func(a string) (metrics.MetricSink, error) { return metrics.NewStatsdSink(a) }},
			{cfg.StatsiteAddress, func(a string) (metrics.MetricSink, error) { return metrics.NewStatsiteSink(a) }},
		} {
			if s.addr == "" {
				continue
			}
			sink, err := s.mk(s.addr)
			if err != nil {
				t.Close()
				return nil, fmt.Errorf("telemetry: %s: %w", s.addr, err)
			}
			t.sinks = append(t.sinks, sink)
			fanout = append(fanout, sink)
		}
	}
	if retention > 0 {
		t.registry = prometheus.NewRegistry()
		ps, err := promsink.NewPrometheusSinkFrom(promsink.PrometheusOpts{Expiration: retention, Registerer: t.registry})
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("telemetry: prometheus sink: %w", err)
		}
		t.prom = ps
		fanout = append(fanout, ps)
	}
	mc.EnableRuntimeMetrics = true
	if _, err := metrics.NewGlobal(mc, fanout); err != nil {
		t.Close()
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	logger.Debug("telemetry set up", "prefix", prefix, "prometheus_retention", retention, "sinks", len(fanout))
	return t, nil
}

// Close stops the forwarding sinks. The global keeps pointing at the
// in-memory sinks until the next Setup.
func (t *Telemetry) Close() {
	for _, s := range t.sinks {
		if sh, ok := s.(metrics.ShutdownSink); ok {
			sh.Shutdown()
		}
	}
	t.sinks = nil
	if t.registry != nil && t.prom != nil {
		t.registry.Unregister(t.prom)
	}
}

// Gather renders the metrics in format: "" (or "json") for go-metrics'
// summary (Timestamp, Gauges, Counters, Samples, Points) as Vault's
// sys/metrics answers it, "prometheus" for the text exposition format.
func (t *Telemetry) Gather(format string) (contentType string, body []byte, err error) {
	switch format {
	case "", "json":
		v, err := t.inmem.DisplayMetrics(nil, nil)
		if err != nil {
			return "", nil, fmt.Errorf("metrics: %w", err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return "", nil, fmt.Errorf("metrics: %w", err)
		}
		return "application/json", b, nil
	case "prometheus":
		if t.registry == nil {
			return "", nil, ErrPrometheusDisabled
		}
		mfs, err := t.registry.Gather()
		if err != nil {
			return "", nil, fmt.Errorf("metrics: gather: %w", err)
		}
		var buf bytes.Buffer
		f := expfmt.NewFormat(expfmt.TypeTextPlain)
		enc := expfmt.NewEncoder(&buf, f)
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				return "", nil, fmt.Errorf("metrics: encode: %w", err)
			}
		}
		return string(f), buf.Bytes(), nil
	}
	return "", nil, fmt.Errorf("%w %q", ErrUnknownFormat, format)
}
