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
