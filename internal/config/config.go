package config

import "time"

// Defaults Vault applies, which the server uses where a setting is zero.
const (
	// DefaultListenAddress is a tcp listener's address when none is given.
	DefaultListenAddress = "127.0.0.1:8200"
	// DefaultMaxRequestSize is a listener's request body limit (32 MiB).
	DefaultMaxRequestSize = 32 << 20
	// DefaultMaxRequestDuration applies when neither the listener's
	// max_request_duration nor the top-level default_max_request_duration
	// is set.
	DefaultMaxRequestDuration = 90 * time.Second
	// DefaultLeaseTTL is the system default and maximum lease TTL when
	// default_lease_ttl / max_lease_ttl are unset (32 days).
	DefaultLeaseTTL = 768 * time.Hour
)

// Config is a server configuration. Zero values mean "not set": the
// server falls back to the defaults above.
type Config struct {
	// Storage is the one storage stanza (`storage` or legacy `backend`).
	Storage *Storage
	// HAStorage is the optional `ha_storage` (or `ha_backend`) stanza.
	HAStorage *Storage
	// Listeners in file order; several files accumulate.
	Listeners []*Listener
	// Seals in file order; two seals mean a seal migration.
	Seals []*Seal
	// Telemetry is nil when the file has no telemetry stanza.
	Telemetry *Telemetry
	// UserLockouts are the user_lockout stanzas, one per name; a later
	// file's stanza replaces an earlier one of the same name.
	UserLockouts []*UserLockout
	// Audits are the audit stanzas, in file order: devices the server
	// enables at unseal if they are missing.
	Audits []*Audit
	// DisableAPIAuditCreation (disable_api_audit_creation) refuses
	// POST sys/audit/:path, so devices that write to files and sockets are
	// only declared here, by whoever controls the server's configuration.
	DisableAPIAuditCreation bool

	APIAddr     string // api_addr: the address advertised to clients and standbys
	ClusterAddr string // cluster_addr: the address advertised for cluster traffic
	ClusterName string // cluster_name

	UI                 bool // ui
	DisableMlock       bool // disable_mlock
	DisableCache       bool // disable_cache
	RawStorageEndpoint bool // raw_storage_endpoint: enables sys/raw

	LogLevel  string // log_level: trace, debug, info, warn, error
	LogFormat string // log_format: standard or json
	LogFile   string // log_file
	PidFile   string // pid_file

	DefaultLeaseTTL time.Duration // default_lease_ttl
	MaxLeaseTTL     time.Duration // max_lease_ttl
	// DefaultMaxRequestDuration (default_max_request_duration) bounds a
	// request on listeners without their own max_request_duration.
	DefaultMaxRequestDuration time.Duration

	PluginDirectory string // plugin_directory

	CacheSize                      int64  // cache_size: entries in the physical read cache
	DisableClustering              bool   // disable_clustering
	DisablePerformanceStandby      bool   // disable_performance_standby
	DisablePrintableCheck          bool   // disable_printable_check
	IntrospectionEndpoint          bool   // introspection_endpoint
	EnableResponseHeaderHostname   bool   // enable_response_header_hostname
	EnableResponseHeaderRaftNodeID bool   // enable_response_header_raft_node_id
	LogRequestsLevel               string // log_requests_level
	ClusterCipherSuites            string // cluster_cipher_suites

	// LogRotateDuration (log_rotate_duration) starts a new log_file after
	// this long; 0 means Vault's default, 24h.
	LogRotateDuration time.Duration
	// LogRotateBytes (log_rotate_bytes) starts a new log_file once it holds
	// this many bytes; 0 means no size limit.
	LogRotateBytes int64
	// LogRotateMaxFiles (log_rotate_max_files) is how many rotated files to
	// keep: 0 keeps all, -1 keeps none.
	LogRotateMaxFiles int64

	// Ignored lists settings Vault knows that Strongbox does not act on, as
	// "file:line: key". Validate refuses each of them.
	Ignored []string

	// set records which top-level scalar keys a file set, so that merging
	// lets a later file override an earlier one even with a zero value.
	set map[string]bool
	// pos records where each top-level scalar key was set, for errors.
	pos map[string]keyAt
	// unsupported are the keys behind Ignored, located.
	unsupported []keyAt
}

// keyAt is where a key was set.
type keyAt struct {
	File string
	Line int
	Key  string
}

// Storage is a storage or ha_storage stanza.
type Storage struct {
	// Type is the stanza's label: inmem, file, raft, postgresql.
	Type string
	// Config holds the stanza's keys with scalar values rendered as
	// strings ("8", "true"); the backend validates them.
	Config map[string]string
	// RetryJoin holds raft's retry_join blocks.
	RetryJoin []*RetryJoin
	// File and Line locate the stanza, for error messages.
	File string
	Line int
	// lines records the line of each key, for errors.
	lines map[string]int
	// stanza is the keyword used: storage, backend, ha_storage, ha_backend.
	stanza string
}

// RetryJoin is one retry_join block of raft storage: a leader to join, or
// a go-discover auto_join expression.
type RetryJoin struct {
	LeaderAPIAddr        string // leader_api_addr
	AutoJoin             string // auto_join
	AutoJoinScheme       string // auto_join_scheme: http or https
	AutoJoinPort         int64  // auto_join_port
	LeaderTLSServerName  string // leader_tls_servername
	LeaderCACertFile     string // leader_ca_cert_file
	LeaderClientCertFile string // leader_client_cert_file
	LeaderClientKeyFile  string // leader_client_key_file
	LeaderCACert         string // leader_ca_cert: PEM inline
	LeaderClientCert     string // leader_client_cert: PEM inline
	LeaderClientKey      string // leader_client_key: PEM inline
	// LeaderAllowHTTP (leader_allow_http) lets leader_api_addr be a
	// plaintext http:// URL; without it such a leader is refused.
	LeaderAllowHTTP bool
}

// Listener is a listener stanza.
type Listener struct {
	// Type is "tcp" or "unix".
	Type string
	// Address to bind: host:port for tcp (default 127.0.0.1:8200), a socket
	// path for unix.
	Address string
	// ClusterAddress binds the cluster port; empty means the API port + 1.
	ClusterAddress string

	TLSDisable                    bool   // tls_disable
	TLSCertFile                   string // tls_cert_file
	TLSKeyFile                    string // tls_key_file
	TLSClientCAFile               string // tls_client_ca_file
	TLSMinVersion                 string // tls_min_version: tls10 … tls13 (default tls12)
	TLSMaxVersion                 string // tls_max_version
	TLSCipherSuites               string // tls_cipher_suites, comma-separated
	TLSRequireAndVerifyClientCert bool   // tls_require_and_verify_client_cert
	TLSDisableClientCerts         bool   // tls_disable_client_certs

	// MaxRequestSize is the body limit in bytes: 0 in the file means the
	// default (32 MiB, applied when parsing), a negative value no limit.
	MaxRequestSize int64
	// MaxRequestDuration bounds a request; 0 means the server default.
	MaxRequestDuration   time.Duration
	RequireRequestHeader bool // require_request_header: X-Vault-Request must be set

	HTTPReadTimeout       time.Duration // http_read_timeout
	HTTPReadHeaderTimeout time.Duration // http_read_header_timeout
	HTTPWriteTimeout      time.Duration // http_write_timeout
	HTTPIdleTimeout       time.Duration // http_idle_timeout

	ProxyProtocolBehavior        string   // proxy_protocol_behavior
	ProxyProtocolAuthorizedAddrs []string // proxy_protocol_authorized_addrs

	XForwardedForAuthorizedAddrs     []string // x_forwarded_for_authorized_addrs (list or comma-separated)
	XForwardedForHopSkips            int64    // x_forwarded_for_hop_skips
	XForwardedForRejectNotAuthorized bool     // x_forwarded_for_reject_not_authorized
	XForwardedForRejectNotPresent    bool     // x_forwarded_for_reject_not_present

	SocketMode  string // socket_mode (unix)
	SocketUser  string // socket_user (unix)
	SocketGroup string // socket_group (unix)

	// UnauthenticatedMetricsAccess is telemetry { unauthenticated_metrics_access }.
	UnauthenticatedMetricsAccess bool
	// UnauthenticatedPProfAccess is profiling { unauthenticated_pprof_access }.
	UnauthenticatedPProfAccess bool
	// UnauthenticatedInFlightAccess is inflight_requests_logging
	// { unauthenticated_in_flight_requests_access }.
	UnauthenticatedInFlightAccess bool

	CORSEnabled        bool     // cors_enabled
	CORSAllowedOrigins []string // cors_allowed_origins
	CORSAllowedHeaders []string // cors_allowed_headers

	// CustomResponseHeaders maps a status code ("200", "4xx", "default") to
	// header names and their values.
	CustomResponseHeaders map[string]map[string][]string

	ChrootNamespace                   string // chroot_namespace
	RedactAddresses                   bool   // redact_addresses
	RedactClusterName                 bool   // redact_cluster_name
	RedactVersion                     bool   // redact_version
	DisableReplicationStatusEndpoints bool   // disable_replication_status_endpoints
	DisableRequestLimiter             bool   // disable_request_limiter

	// File and Line locate the stanza, for error messages.
	File string
	Line int
	// lines records the line of each key set in the stanza.
	lines map[string]int
}

// Seal is a seal stanza (or legacy hsm stanza).
type Seal struct {
	// Type is the stanza's label: shamir, transit, pkcs11, awskms, …
	Type string
	// Disabled marks the seal being migrated away from.
	Disabled bool
	Name     string // name
	Priority int64  // priority
	// Config holds the other keys, scalar values rendered as strings.
	Config map[string]string
	File   string
	Line   int
	// lines records the line of each key, for errors.
	lines map[string]int
}

// Telemetry is the telemetry stanza. When the stanza is present, unset
// periods get Vault's defaults (prometheus_retention_time 24h,
// usage_gauge_period 10m, maximum_gauge_cardinality 500,
// lease_metrics_epsilon 1h, num_lease_metrics_buckets 168).
type Telemetry struct {
	StatsiteAddress string // statsite_address
	StatsdAddress   string // statsd_address
	DogStatsDAddr   string // dogstatsd_addr
	DogStatsDTags   []string

	DisableHostname     bool   // disable_hostname
	EnableHostnameLabel bool   // enable_hostname_label
	MetricsPrefix       string // metrics_prefix

	// PrometheusRetentionTime is how long /v1/sys/metrics keeps a metric;
	// 0 disables the Prometheus format.
	PrometheusRetentionTime time.Duration
	// UsageGaugePeriod is how often usage gauges are computed; "none" is 0.
	UsageGaugePeriod        time.Duration
	MaximumGaugeCardinality int64 // maximum_gauge_cardinality

	LeaseMetricsEpsilon            time.Duration // lease_metrics_epsilon
	NumLeaseMetricsBuckets         int64         // num_lease_metrics_buckets
	AddLeaseMetricsNamespaceLabels bool          // add_lease_metrics_namespace_labels

	// FilterDefault is nil when filter_default is unset.
	FilterDefault *bool
	PrefixFilter  []string // prefix_filter: "+vault.token", "-vault.expire"

	// Other holds circonus_* and stackdriver_* settings, rendered as strings.
	Other map[string]string

	// File and Line locate the stanza, for error messages.
	File string
	Line int
	// lines records the line of each key set in the stanza.
	lines map[string]int
}

// DevConfig returns the configuration `server -dev` runs with: inmem
// storage, one plain-HTTP tcp listener on listenAddr (DefaultListenAddress
// when empty), mlock off, and, as in Vault, Prometheus metrics kept 24h
// without the hostname in gauge names. (Vault's dev mode also turns on the
// UI, which Strongbox does not build.)
func DevConfig(listenAddr string) *Config {
	if listenAddr == "" {
		listenAddr = DefaultListenAddress
	}
	return &Config{
		Storage: &Storage{Type: "inmem", Config: map[string]string{}},
		Listeners: []*Listener{{
			Type:           "tcp",
			Address:        listenAddr,
			TLSDisable:     true,
			MaxRequestSize: DefaultMaxRequestSize,
		}},
		DisableMlock: true,
		Telemetry:    &Telemetry{PrometheusRetentionTime: 24 * time.Hour, UsageGaugePeriod: 10 * time.Minute, DisableHostname: true, Other: map[string]string{}},
	}
}

func newTelemetry() *Telemetry {
	return &Telemetry{
		PrometheusRetentionTime: 24 * time.Hour,
		UsageGaugePeriod:        10 * time.Minute,
		MaximumGaugeCardinality: 500,
		LeaseMetricsEpsilon:     time.Hour,
		NumLeaseMetricsBuckets:  168,
		Other:                   map[string]string{},
		lines:                   map[string]int{},
	}
}
