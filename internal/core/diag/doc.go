// Package diag is the core's diagnostics room: sys/metrics (over the
// telemetry package's sinks) and the node's gauges, sys/pprof/*,
// sys/in-flight-req, sys/host-info and sys/config/state/sanitized.
package diag
