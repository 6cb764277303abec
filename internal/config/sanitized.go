package config

// Sanitized is the configuration as sys/config/state/sanitized shows it:
// Vault's keys, with storage and seal settings (which can hold credentials)
// left out except their type.
func (c *Config) Sanitized() map[string]any {
	out := map[string]any{
		"api_addr":                            c.APIAddr,
		"cache_size":                          c.CacheSize,
		"cluster_addr":                        c.ClusterAddr,
		"cluster_cipher_suites":               c.ClusterCipherSuites,
		"cluster_name":                        c.ClusterName,
		"default_lease_ttl":                   int64(c.DefaultLeaseTTL.Seconds()),
		"default_max_request_duration":        int64(c.DefaultMaxRequestDuration.Seconds()),
		"disable_cache":                       c.DisableCache,
		"disable_clustering":                  c.DisableClustering,
		"disable_mlock":                       c.DisableMlock,
		"disable_performance_standby":         c.DisablePerformanceStandby,
		"disable_printable_check":             c.DisablePrintableCheck,
		"enable_response_header_hostname":     c.EnableResponseHeaderHostname,
		"enable_response_header_raft_node_id": c.EnableResponseHeaderRaftNodeID,
		"enable_ui":                           c.UI,
		"introspection_endpoint":              c.IntrospectionEndpoint,
		"log_format":                          c.LogFormat,
		"log_level":                           c.LogLevel,
		"log_requests_level":                  c.LogRequestsLevel,
		"max_lease_ttl":                       int64(c.MaxLeaseTTL.Seconds()),
		"pid_file":                            c.PidFile,
		"plugin_directory":                    c.PluginDirectory,
		"raw_storage_endpoint":                c.RawStorageEndpoint,
	}
	listeners := []any{}
	for _, l := range c.Listeners {
		lc := map[string]any{
			"address":                            l.Address,
			"cluster_address":                    l.ClusterAddress,
			"tls_disable":                        l.TLSDisable,
			"tls_cert_file":                      l.TLSCertFile,
			"tls_key_file":                       l.TLSKeyFile,
			"tls_client_ca_file":                 l.TLSClientCAFile,
			"tls_min_version":                    l.TLSMinVersion,
			"tls_max_version":                    l.TLSMaxVersion,
			"tls_require_and_verify_client_cert": l.TLSRequireAndVerifyClientCert,
			"tls_disable_client_certs":           l.TLSDisableClientCerts,
			"max_request_size":                   l.MaxRequestSize,
			"max_request_duration":               int64(l.MaxRequestDuration.Seconds()),
			"require_request_header":             l.RequireRequestHeader,
			"telemetry":                          map[string]any{"unauthenticated_metrics_access": l.UnauthenticatedMetricsAccess},
			"profiling":                          map[string]any{"unauthenticated_pprof_access": l.UnauthenticatedPProfAccess},
			"inflight_requests_logging":          map[string]any{"unauthenticated_in_flight_requests_access": l.UnauthenticatedInFlightAccess},
		}
		listeners = append(listeners, map[string]any{"type": l.Type, "config": lc})
	}
	out["listeners"] = listeners
	if s := c.Storage; s != nil {
		out["storage"] = map[string]any{
			"type":               s.Type,
			"redirect_addr":      c.APIAddr,
			"cluster_addr":       c.ClusterAddr,
			"disable_clustering": c.DisableClustering,
		}
	}
	seals := []any{}
	for _, s := range c.Seals {
		seals = append(seals, map[string]any{"type": s.Type, "disabled": s.Disabled})
	}
	if len(seals) == 0 {
		seals = append(seals, map[string]any{"type": "shamir", "disabled": false})
	}
	out["seals"] = seals
	if t := c.Telemetry; t != nil {
		out["telemetry"] = map[string]any{
			"statsite_address":          t.StatsiteAddress,
			"statsd_address":            t.StatsdAddress,
			"disable_hostname":          t.DisableHostname,
			"enable_hostname_label":     t.EnableHostnameLabel,
			"metrics_prefix":            t.MetricsPrefix,
			"prometheus_retention_time": int64(t.PrometheusRetentionTime.Seconds()),
			"usage_gauge_period":        int64(t.UsageGaugePeriod.Seconds()),
			"prefix_filter":             t.PrefixFilter,
		}
	}
	return out
}
