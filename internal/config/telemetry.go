package config

import (
	"strings"
	"time"

	"github.com/hashicorp/hcl/hcl/ast"
)

var telemetryFields = map[string]func(*Telemetry) any{
	"statsite_address":                   func(t *Telemetry) any { return &t.StatsiteAddress },
	"statsd_address":                     func(t *Telemetry) any { return &t.StatsdAddress },
	"dogstatsd_addr":                     func(t *Telemetry) any { return &t.DogStatsDAddr },
	"dogstatsd_tags":                     func(t *Telemetry) any { return &t.DogStatsDTags },
	"disable_hostname":                   func(t *Telemetry) any { return &t.DisableHostname },
	"enable_hostname_label":              func(t *Telemetry) any { return &t.EnableHostnameLabel },
	"metrics_prefix":                     func(t *Telemetry) any { return &t.MetricsPrefix },
	"prometheus_retention_time":          func(t *Telemetry) any { return &t.PrometheusRetentionTime },
	"usage_gauge_period":                 func(t *Telemetry) any { return &t.UsageGaugePeriod },
	"maximum_gauge_cardinality":          func(t *Telemetry) any { return &t.MaximumGaugeCardinality },
	"lease_metrics_epsilon":              func(t *Telemetry) any { return &t.LeaseMetricsEpsilon },
	"num_lease_metrics_buckets":          func(t *Telemetry) any { return &t.NumLeaseMetricsBuckets },
	"add_lease_metrics_namespace_labels": func(t *Telemetry) any { return &t.AddLeaseMetricsNamespaceLabels },
	"filter_default":                     func(t *Telemetry) any { return &t.FilterDefault },
	"prefix_filter":                      func(t *Telemetry) any { return &t.PrefixFilter },
}

func (d *decoder) telemetry(it *ast.ObjectItem) *Telemetry {
	_, body, ok := d.block(it, "telemetry", false)
	if !ok {
		return nil
	}
	t := newTelemetry()
	t.File, t.Line = d.file, itemLine(it)
	const where = "telemetry"
	for _, sub := range body.Items {
		if len(sub.Keys) > 0 {
			t.lines[keyName(sub.Keys[0])] = itemLine(sub)
		}
	}
	decodeObject(d, body, where, t, telemetryFields, func(name string, sub *ast.ObjectItem) bool {
		line := itemLine(sub)
		switch {
		case name == "usage_gauge_period" || name == "lease_metrics_epsilon":
			// Vault accepts "none" for these two to turn them off.
			if s, err := asString(sub.Val); err == nil && strings.EqualFold(strings.TrimSpace(s), "none") {
				*telemetryFields[name](t).(*time.Duration) = 0
				return true
			}
			return false
		case strings.HasPrefix(name, "circonus_"), strings.HasPrefix(name, "stackdriver_"),
			name == "opentelemetry_disable":
			v, err := render(sub.Val)
			if err != nil {
				d.errorf(line, "telemetry: %s: %v", name, err)
			} else {
				t.Other[name] = v
			}
			return true
		}
		return false
	})
	return t
}

// telemetryRefused are the telemetry keys Strongbox does not act on: sinks
// it does not build (DogStatsD, Circonus, Stackdriver, OpenTelemetry) and
// the lease-expiry histogram and per-mount gauge tuning of Vault's usage
// metrics, which it does not emit. Setting one is refused.
var telemetryRefused = map[string]string{
	"dogstatsd_addr":                     "the DogStatsD sink",
	"dogstatsd_tags":                     "the DogStatsD sink",
	"maximum_gauge_cardinality":          "per-mount usage gauges",
	"lease_metrics_epsilon":              "the lease expiry histogram (vault.expire.leases.by_expiration)",
	"num_lease_metrics_buckets":          "the lease expiry histogram (vault.expire.leases.by_expiration)",
	"add_lease_metrics_namespace_labels": "the lease expiry histogram (vault.expire.leases.by_expiration)",
	"opentelemetry_disable":              "OpenTelemetry tracing",
}

// refusals reports the telemetry keys Strongbox cannot honour, each at its
// own line, and prefix_filter entries that are neither "+prefix" nor
// "-prefix".
func (t *Telemetry) refusals(add func(file string, line int, format string, args ...any)) {
	for key, line := range t.lines {
		what, ok := telemetryRefused[key]
		switch {
		case ok:
		case strings.HasPrefix(key, "circonus_"):
			what = "the Circonus sink"
		case strings.HasPrefix(key, "stackdriver_"):
			what = "the Stackdriver sink"
		default:
			continue
		}
		add(t.File, line, "telemetry: %s: %s %s", key, what, errNotBuilt)
	}
	for _, f := range t.PrefixFilter {
		if !strings.HasPrefix(f, "+") && !strings.HasPrefix(f, "-") {
			add(t.File, t.lines["prefix_filter"], "telemetry: prefix_filter: %q must start with + (allow) or - (block)", f)
		}
	}
}
