// Package telemetry is the server's metrics pipeline: it turns the
// configuration's telemetry stanza into hashicorp/go-metrics sinks (an
// in-memory sink for sys/metrics' JSON, a Prometheus sink for its text
// exposition, statsd and statsite forwarders) installed as go-metrics'
// global, so that core, the barrier and the raft library all report to the
// same place under Vault's metric names. The server package sets it up;
// core serves it at sys/metrics through the small Source interface.
package telemetry
