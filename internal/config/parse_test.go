package config

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// strip drops what differs between equivalent HCL and JSON sources (file
// positions, Vault-only key positions) so configs can be compared.
func strip(c *Config) *Config {
	out := *c
	out.set = nil
	out.Ignored = nil
	for _, s := range []**Storage{&out.Storage, &out.HAStorage} {
		if *s != nil {
			cp := **s
			cp.File, cp.Line = "", 0
			*s = &cp
		}
	}
	out.Listeners = nil
	for _, l := range c.Listeners {
		cp := *l
		cp.File, cp.Line = "", 0
		out.Listeners = append(out.Listeners, &cp)
	}
	out.Seals = nil
	for _, s := range c.Seals {
		cp := *s
		cp.File, cp.Line = "", 0
		out.Seals = append(out.Seals, &cp)
	}
	if c.Telemetry != nil {
		cp := *c.Telemetry
		cp.File, cp.Line = "", 0
		out.Telemetry = &cp
	}
	return &out
}

func dump(t *testing.T, c *Config) string {
	t.Helper()
	b, err := json.MarshalIndent(strip(c), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustParse(t *testing.T, name, src string) *Config {
	t.Helper()
	c, err := Parse(name, []byte(src))
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return c
}

func tcp(addr string, mod func(l *Listener)) *Listener {
	l := &Listener{Type: "tcp", Address: addr, MaxRequestSize: DefaultMaxRequestSize}
	if mod != nil {
		mod(l)
	}
	return l
}

func boolPtr(b bool) *bool { return &b }

func TestParseHCLAndJSONAgree(t *testing.T) {
	tests := []struct {
		name      string
		hcl, json string
		want      *Config
	}{
		{
			name: "minimal",
			hcl: `storage "inmem" {}
listener "tcp" {
  tls_disable = true
}`,
			json: `{"storage": {"inmem": {}}, "listener": {"tcp": {"tls_disable": true}}}`,
			want: &Config{
				Storage:   &Storage{Type: "inmem", Config: map[string]string{}},
				Listeners: []*Listener{tcp(DefaultListenAddress, func(l *Listener) { l.TLSDisable = true })},
			},
		},
		{
			name: "top-level settings",
			hcl: `
api_addr = "https://a:8200"
cluster_addr = "https://a:8201"
cluster_name = "prod"
ui = "true"
disable_mlock = 1
disable_cache = false
raw_storage_endpoint = true
log_level = "debug"
log_format = "json"
log_file = "/var/log/vault.log"
pid_file = "/run/vault.pid"
default_lease_ttl = "768h"
max_lease_ttl = 2764800
default_max_request_duration = "90s"
plugin_directory = "/plugins"
cache_size = "131072"
disable_clustering = "false"
disable_performance_standby = true
disable_printable_check = true
introspection_endpoint = true
enable_response_header_hostname = true
enable_response_header_raft_node_id = true
log_requests_level = "info"
cluster_cipher_suites = "TLS_AES_128_GCM_SHA256"
storage "file" { path = "/data" }
listener "tcp" { tls_disable = true }
`,
			json: `{
  "api_addr": "https://a:8200", "cluster_addr": "https://a:8201", "cluster_name": "prod",
  "ui": true, "disable_mlock": true, "disable_cache": "false", "raw_storage_endpoint": "1",
  "log_level": "debug", "log_format": "json", "log_file": "/var/log/vault.log", "pid_file": "/run/vault.pid",
  "default_lease_ttl": 2764800, "max_lease_ttl": "2764800", "default_max_request_duration": 90,
  "plugin_directory": "/plugins", "cache_size": 131072, "disable_clustering": false,
  "disable_performance_standby": "true", "disable_printable_check": 1, "introspection_endpoint": true,
  "enable_response_header_hostname": true, "enable_response_header_raft_node_id": "true",
  "log_requests_level": "info", "cluster_cipher_suites": "TLS_AES_128_GCM_SHA256",
  "storage": {"file": {"path": "/data"}},
  "listener": {"tcp": {"tls_disable": "true"}}
}`,
			want: &Config{
				Storage:                        &Storage{Type: "file", Config: map[string]string{"path": "/data"}},
				Listeners:                      []*Listener{tcp(DefaultListenAddress, func(l *Listener) { l.TLSDisable = true })},
				APIAddr:                        "https://a:8200",
				ClusterAddr:                    "https://a:8201",
				ClusterName:                    "prod",
				UI:                             true,
				DisableMlock:                   true,
				RawStorageEndpoint:             true,
				LogLevel:                       "debug",
				LogFormat:                      "json",
				LogFile:                        "/var/log/vault.log",
				PidFile:                        "/run/vault.pid",
				DefaultLeaseTTL:                768 * time.Hour,
				MaxLeaseTTL:                    768 * time.Hour,
				DefaultMaxRequestDuration:      90 * time.Second,
				PluginDirectory:                "/plugins",
				CacheSize:                      131072,
				DisablePerformanceStandby:      true,
				DisablePrintableCheck:          true,
				IntrospectionEndpoint:          true,
				EnableResponseHeaderHostname:   true,
				EnableResponseHeaderRaftNodeID: true,
				LogRequestsLevel:               "info",
				ClusterCipherSuites:            "TLS_AES_128_GCM_SHA256",
			},
		},
		{
			name: "raft with retry_join",
			hcl: `
storage "raft" {
  path = "/raft"
  node_id = "n1"
  performance_multiplier = 1
  snapshot_threshold = "8192"
  trailing_logs = 10000
  non_voter = false
  autopilot_redundancy_zone = "a"
  retry_join {
    leader_api_addr = "https://n2:8200"
    leader_ca_cert_file = "/ca.pem"
  }
  retry_join {
    auto_join = "provider=aws tag_key=vault"
    auto_join_port = 8200
    auto_join_scheme = "http"
  }
}
cluster_addr = "https://n1:8201"
listener "tcp" { tls_disable = true }`,
			json: `{
  "storage": {"raft": {
    "path": "/raft", "node_id": "n1", "performance_multiplier": 1, "snapshot_threshold": 8192,
    "trailing_logs": "10000", "non_voter": false, "autopilot_redundancy_zone": "a",
    "retry_join": [
      {"leader_api_addr": "https://n2:8200", "leader_ca_cert_file": "/ca.pem"},
      {"auto_join": "provider=aws tag_key=vault", "auto_join_port": "8200", "auto_join_scheme": "http"}
    ]}},
  "cluster_addr": "https://n1:8201",
  "listener": [{"tcp": {"tls_disable": true}}]
}`,
			want: &Config{
				Storage: &Storage{
					Type: "raft",
					Config: map[string]string{
						"path": "/raft", "node_id": "n1", "performance_multiplier": "1", "snapshot_threshold": "8192",
						"trailing_logs": "10000", "non_voter": "false", "autopilot_redundancy_zone": "a",
					},
					RetryJoin: []*RetryJoin{
						{LeaderAPIAddr: "https://n2:8200", LeaderCACertFile: "/ca.pem"},
						{AutoJoin: "provider=aws tag_key=vault", AutoJoinPort: 8200, AutoJoinScheme: "http"},
					},
				},
				ClusterAddr: "https://n1:8201",
				Listeners:   []*Listener{tcp(DefaultListenAddress, func(l *Listener) { l.TLSDisable = true })},
			},
		},
		{
			name: "listeners",
			hcl: `
storage "inmem" {}
listener "tcp" {
  address = "0.0.0.0:8200"
  cluster_address = "0.0.0.0:8201"
  tls_cert_file = "/c.pem"
  tls_key_file = "/k.pem"
  tls_client_ca_file = "/ca.pem"
  tls_min_version = "tls13"
  tls_require_and_verify_client_cert = "true"
  max_request_size = -1
  max_request_duration = "2m"
  require_request_header = true
  http_idle_timeout = "5m"
  http_read_header_timeout = 10
  x_forwarded_for_authorized_addrs = "10.0.0.0/8, 192.168.1.1"
  x_forwarded_for_hop_skips = 1
  x_forwarded_for_reject_not_present = true
  proxy_protocol_behavior = "allow_authorized"
  proxy_protocol_authorized_addrs = ["127.0.0.1"]
  cors_enabled = true
  cors_allowed_origins = ["https://a.example"]
  redact_version = true
  telemetry {
    unauthenticated_metrics_access = true
  }
  profiling {
    unauthenticated_pprof_access = "true"
  }
}
listener "unix" {
  address = "/run/s.sock"
  socket_mode = "0600"
  tls_disable = true
}
listener {
  type = "tcp"
  address = "127.0.0.1:9200"
  tls_disable = true
}`,
			json: `{
  "storage": {"inmem": {}},
  "listener": [
    {"tcp": {
      "address": "0.0.0.0:8200", "cluster_address": "0.0.0.0:8201",
      "tls_cert_file": "/c.pem", "tls_key_file": "/k.pem", "tls_client_ca_file": "/ca.pem",
      "tls_min_version": "tls13", "tls_require_and_verify_client_cert": true,
      "max_request_size": "-1", "max_request_duration": 120, "require_request_header": 1,
      "http_idle_timeout": 300, "http_read_header_timeout": "10s",
      "x_forwarded_for_authorized_addrs": ["10.0.0.0/8", "192.168.1.1"], "x_forwarded_for_hop_skips": "1",
      "x_forwarded_for_reject_not_present": "true",
      "proxy_protocol_behavior": "allow_authorized", "proxy_protocol_authorized_addrs": "127.0.0.1",
      "cors_enabled": true, "cors_allowed_origins": ["https://a.example"], "redact_version": true,
      "telemetry": {"unauthenticated_metrics_access": true},
      "profiling": {"unauthenticated_pprof_access": true}
    }},
    {"unix": {"address": "/run/s.sock", "socket_mode": "0600", "tls_disable": true}},
    {"type": "tcp", "address": "127.0.0.1:9200", "tls_disable": true}
  ]
}`,
			want: &Config{
				Storage: &Storage{Type: "inmem", Config: map[string]string{}},
				Listeners: []*Listener{
					tcp("0.0.0.0:8200", func(l *Listener) {
						l.ClusterAddress = "0.0.0.0:8201"
						l.TLSCertFile, l.TLSKeyFile, l.TLSClientCAFile = "/c.pem", "/k.pem", "/ca.pem"
						l.TLSMinVersion = "tls13"
						l.TLSRequireAndVerifyClientCert = true
						l.MaxRequestSize = -1
						l.MaxRequestDuration = 2 * time.Minute
						l.RequireRequestHeader = true
						l.HTTPIdleTimeout = 5 * time.Minute
						l.HTTPReadHeaderTimeout = 10 * time.Second
						l.XForwardedForAuthorizedAddrs = []string{"10.0.0.0/8", "192.168.1.1"}
						l.XForwardedForHopSkips = 1
						l.XForwardedForRejectNotPresent = true
						l.ProxyProtocolBehavior = "allow_authorized"
						l.ProxyProtocolAuthorizedAddrs = []string{"127.0.0.1"}
						l.CORSEnabled = true
						l.CORSAllowedOrigins = []string{"https://a.example"}
						l.RedactVersion = true
						l.UnauthenticatedMetricsAccess = true
						l.UnauthenticatedPProfAccess = true
					}),
					{Type: "unix", Address: "/run/s.sock", SocketMode: "0600", TLSDisable: true, MaxRequestSize: DefaultMaxRequestSize},
					tcp("127.0.0.1:9200", func(l *Listener) { l.TLSDisable = true }),
				},
			},
		},
		{
			name: "seals and telemetry",
			hcl: `
storage "inmem" {}
listener "tcp" { tls_disable = true }
seal "transit" {
  address = "https://vault:8200"
  key_name = "autounseal"
  disable_renewal = false
  priority = 1
  name = "primary"
}
seal "shamir" {
  disabled = "true"
}
telemetry {
  prometheus_retention_time = 30
  usage_gauge_period = "none"
  disable_hostname = true
  dogstatsd_addr = "localhost:8125"
  dogstatsd_tags = ["env:prod", "team:sec"]
  maximum_gauge_cardinality = 100
  filter_default = false
  prefix_filter = ["+vault.token", "-vault.expire"]
  circonus_api_token = "xyz"
}`,
			json: `{
  "storage": {"inmem": {}},
  "listener": {"tcp": {"tls_disable": true}},
  "seal": [
    {"transit": {"address": "https://vault:8200", "key_name": "autounseal", "disable_renewal": "false", "priority": "1", "name": "primary"}},
    {"shamir": {"disabled": true}}
  ],
  "telemetry": {
    "prometheus_retention_time": "30s", "usage_gauge_period": "none", "disable_hostname": "true",
    "dogstatsd_addr": "localhost:8125", "dogstatsd_tags": "env:prod,team:sec",
    "maximum_gauge_cardinality": "100", "filter_default": "false",
    "prefix_filter": ["+vault.token", "-vault.expire"], "circonus_api_token": "xyz"
  }
}`,
			want: &Config{
				Storage:   &Storage{Type: "inmem", Config: map[string]string{}},
				Listeners: []*Listener{tcp(DefaultListenAddress, func(l *Listener) { l.TLSDisable = true })},
				Seals: []*Seal{
					{Type: "transit", Name: "primary", Priority: 1, Config: map[string]string{
						"address": "https://vault:8200", "key_name": "autounseal", "disable_renewal": "false"}},
					{Type: "shamir", Disabled: true, Config: map[string]string{}},
				},
				Telemetry: &Telemetry{
					PrometheusRetentionTime: 30 * time.Second,
					DisableHostname:         true,
					DogStatsDAddr:           "localhost:8125",
					DogStatsDTags:           []string{"env:prod", "team:sec"},
					MaximumGaugeCardinality: 100,
					LeaseMetricsEpsilon:     time.Hour,
					NumLeaseMetricsBuckets:  168,
					FilterDefault:           boolPtr(false),
					PrefixFilter:            []string{"+vault.token", "-vault.expire"},
					Other:                   map[string]string{"circonus_api_token": "xyz"},
				},
			},
		},
		{
			name: "legacy names and storage addresses",
			hcl: `
backend "file" {
  path = "/data"
  redirect_addr = "https://from-storage:8200"
  cluster_addr = "https://from-storage:8201"
  disable_clustering = "true"
}
ha_backend "postgresql" {
  connection_url = "postgres://x"
}
hsm "pkcs11" {
  lib = "/usr/lib/softhsm.so"
  slot = 0
}
listener "TCP" { tls_disable = true }`,
			json: `{
  "backend": {"file": {"path": "/data", "redirect_addr": "https://from-storage:8200",
                        "cluster_addr": "https://from-storage:8201", "disable_clustering": true}},
  "ha_backend": {"postgresql": {"connection_url": "postgres://x"}},
  "hsm": {"pkcs11": {"lib": "/usr/lib/softhsm.so", "slot": "0"}},
  "listener": {"TCP": {"tls_disable": true}}
}`,
			want: &Config{
				Storage:           &Storage{Type: "file", Config: map[string]string{"path": "/data"}},
				HAStorage:         &Storage{Type: "postgresql", Config: map[string]string{"connection_url": "postgres://x"}},
				Seals:             []*Seal{{Type: "pkcs11", Config: map[string]string{"lib": "/usr/lib/softhsm.so", "slot": "0"}}},
				Listeners:         []*Listener{tcp(DefaultListenAddress, func(l *Listener) { l.TLSDisable = true })},
				APIAddr:           "https://from-storage:8200",
				ClusterAddr:       "https://from-storage:8201",
				DisableClustering: true,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := dump(t, tc.want)
			if got := dump(t, mustParse(t, "config.hcl", tc.hcl)); got != want {
				t.Errorf("HCL parsed to\n%s\nwant\n%s", got, want)
			}
			if got := dump(t, mustParse(t, "config.json", tc.json)); got != want {
				t.Errorf("JSON parsed to\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestParseTopLevelAPIAddrBeatsStorageRedirect(t *testing.T) {
	c := mustParse(t, "c.hcl", `
api_addr = "https://top:8200"
storage "file" {
  path = "/d"
  redirect_addr = "https://storage:8200"
}`)
	if c.APIAddr != "https://top:8200" {
		t.Fatalf("APIAddr = %q, want the top-level value", c.APIAddr)
	}
	if _, ok := c.Storage.Config["redirect_addr"]; ok {
		t.Fatal("redirect_addr left in the storage config")
	}
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		src  string
		get  func(c *Config) any
		want any
	}{
		{`default_lease_ttl = "30m"`, func(c *Config) any { return c.DefaultLeaseTTL }, 30 * time.Minute},
		{`default_lease_ttl = 60`, func(c *Config) any { return c.DefaultLeaseTTL }, time.Minute},
		{`default_lease_ttl = "60"`, func(c *Config) any { return c.DefaultLeaseTTL }, time.Minute},
		{`default_lease_ttl = "7d"`, func(c *Config) any { return c.DefaultLeaseTTL }, 7 * 24 * time.Hour},
		{`default_lease_ttl = "1h30m"`, func(c *Config) any { return c.DefaultLeaseTTL }, 90 * time.Minute},
		{`default_lease_ttl = 1.5`, func(c *Config) any { return c.DefaultLeaseTTL }, 1500 * time.Millisecond},
		{`default_lease_ttl = ""`, func(c *Config) any { return c.DefaultLeaseTTL }, time.Duration(0)},
		{`ui = true`, func(c *Config) any { return c.UI }, true},
		{`ui = false`, func(c *Config) any { return c.UI }, false},
		{`ui = "true"`, func(c *Config) any { return c.UI }, true},
		{`ui = "false"`, func(c *Config) any { return c.UI }, false},
		{`ui = 1`, func(c *Config) any { return c.UI }, true},
		{`ui = 0`, func(c *Config) any { return c.UI }, false},
		{`ui = "1"`, func(c *Config) any { return c.UI }, true},
		{`UI = true`, func(c *Config) any { return c.UI }, true},
		{`cache_size = 0x10`, func(c *Config) any { return c.CacheSize }, int64(16)},
		{`cache_size = " 42 "`, func(c *Config) any { return c.CacheSize }, int64(42)},
		{`cluster_name = 42`, func(c *Config) any { return c.ClusterName }, "42"},
		{"cluster_name = <<EOT\nmulti\nline\nEOT\n", func(c *Config) any { return c.ClusterName }, "multi\nline\n"},
		{`{"cache_size": 1e3}`, func(c *Config) any { return c.CacheSize }, int64(1000)},
		{`{"cluster_name": null}`, func(c *Config) any { return c.ClusterName }, ""},
	}
	for _, tc := range tests {
		c := mustParse(t, "c.hcl", tc.src)
		if got := tc.get(c); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.src, got, tc.want)
		}
	}
}

func TestParseIgnoredVaultKeys(t *testing.T) {
	c := mustParse(t, "c.hcl", `storage "inmem" {}
service_registration "consul" {
  address = "x"
}
disable_sealwrap = true
listener "tcp" {
  tls_disable = true
  max_json_depth = 100
}`)
	want := []string{"c.hcl:2: service_registration", "c.hcl:5: disable_sealwrap", "c.hcl:8: listener.max_json_depth"}
	if strings.Join(c.Ignored, "|") != strings.Join(want, "|") {
		t.Fatalf("Ignored = %q, want %q", c.Ignored, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // substrings of the error
	}{
		{"unknown top-level key", "ui = true\nlistner \"tcp\" {}\n", []string{`config.hcl:2: unknown key "listner" (did you mean "listener"?)`}},
		{"unknown listener key", "listener \"tcp\" {\n  tls_disable = true\n  adress = \"x\"\n}\n", []string{`config.hcl:3: listener "tcp": unknown key "adress" (did you mean "address"?)`}},
		{"unknown key no suggestion", "zzzzzz = 1\n", []string{`config.hcl:1: unknown key "zzzzzz"`}},
		{"list for bool", "ui = [true]\n", []string{"config.hcl:1: ui: expected a single value, got a list"}},
		{"block for string", "api_addr {\n x = 1\n}\n", []string{"config.hcl:1: api_addr: expected a single value, got a block"}},
		{"bad bool", "\n\ndisable_mlock = \"maybe\"\n", []string{`config.hcl:3: disable_mlock: expected a boolean, got "maybe"`}},
		{"number 2 for bool", "ui = 2\n", []string{"config.hcl:1: ui: expected a boolean, got 2"}},
		{"bad duration", "max_lease_ttl = \"ten days\"\n", []string{`config.hcl:1: max_lease_ttl: invalid duration "ten days"`}},
		{"negative duration", "max_lease_ttl = \"-5s\"\n", []string{"config.hcl:1: max_lease_ttl: invalid duration \"-5s\": must not be negative"}},
		{"negative seconds", "max_lease_ttl = -5\n", []string{"config.hcl:1: max_lease_ttl: invalid duration -5"}},
		{"huge seconds", "max_lease_ttl = 9223372036854775807\n", []string{"config.hcl:1: max_lease_ttl: invalid duration"}},
		{"number out of range", "cache_size = 99999999999999999999\n", []string{"config.hcl:1: cache_size: number 99999999999999999999 is out of range"}},
		{"bad int", "listener \"tcp\" {\n max_request_size = \"big\"\n}\n", []string{`config.hcl:2: listener "tcp": max_request_size: expected an integer, got "big"`}},
		{"list in storage", "storage \"raft\" {\n  path = \"/p\"\n  node_id = [\"a\"]\n}\n", []string{`config.hcl:3: storage "raft": node_id: expected a single value, got a list`}},
		{"block in storage", "storage \"raft\" {\n  nested {\n    x = 1\n  }\n}\n", []string{`config.hcl:2: storage "raft": nested: expected a single value, got a block`}},
		{"two storage stanzas", "storage \"inmem\" {}\nstorage \"file\" {\n path = \"/x\"\n}\n", []string{`config.hcl:2: only one storage stanza is allowed; storage "inmem" is already set at line 1`}},
		{"storage and backend", "backend \"inmem\" {}\nstorage \"file\" {}\n", []string{`config.hcl:2: only one storage stanza is allowed; backend "inmem"`}},
		{"two ha_storage stanzas", "ha_storage \"inmem\" {}\nha_storage \"file\" {}\n", []string{"config.hcl:2: only one ha_storage stanza"}},
		{"storage without type", "storage {\n path = \"/x\"\n}\n", []string{`config.hcl:1: storage needs a type`}},
		{"storage not a block", "storage = \"raft\"\n", []string{"config.hcl:1: storage must be a block"}},
		{"listener without type", "listener {\n address = \"x:1\"\n}\n", []string{"config.hcl:1: listener needs a type"}},
		{"listener type conflict", "listener \"tcp\" {\n type = \"unix\"\n}\n", []string{`config.hcl:2: listener "tcp": type "unix" contradicts`}},
		{"listener telemetry unknown", "listener \"tcp\" {\n telemetry {\n  unauthenticated = true\n }\n}\n", []string{`config.hcl:3: listener "tcp": telemetry: unknown key "unauthenticated"`}},
		{"retry_join empty", "storage \"raft\" {\n retry_join {\n  leader_ca_cert_file = \"x\"\n }\n}\n", []string{`config.hcl:2: storage "raft": retry_join: needs leader_api_addr or auto_join`}},
		{"retry_join both", "storage \"raft\" {\n retry_join {\n  leader_api_addr = \"a\"\n  auto_join = \"b\"\n }\n}\n", []string{"config.hcl:2: storage \"raft\": retry_join: cannot have both"}},
		{"retry_join unknown key", "storage \"raft\" {\n retry_join {\n  leader_api_addr = \"a\"\n  leader_ca_cert_fil = \"x\"\n }\n}\n", []string{`config.hcl:4: storage "raft": retry_join: unknown key "leader_ca_cert_fil" (did you mean "leader_ca_cert_file"?)`}},
		{"retry_join string", "storage \"raft\" {\n retry_join = \"x\"\n}\n", []string{`config.hcl:2: storage "raft": retry_join must be a block`}},
		{"retry_join bad scheme", "storage \"raft\" {\n retry_join {\n  auto_join = \"a\"\n  auto_join_scheme = \"ftp\"\n }\n}\n", []string{"auto_join_scheme must be http or https"}},
		{"telemetry unknown", "telemetry {\n  statsite = \"x\"\n}\n", []string{`config.hcl:2: telemetry: unknown key "statsite"`}},
		{"telemetry twice", "telemetry {}\ntelemetry {}\n", []string{"config.hcl:2: only one telemetry stanza"}},
		{"telemetry bad duration", "telemetry {\n  usage_gauge_period = \"sometimes\"\n}\n", []string{`config.hcl:2: telemetry: usage_gauge_period: invalid duration "sometimes"`}},
		{"seal without type", "seal {\n key = 1\n}\n", []string{"config.hcl:1: seal needs a type"}},
		{"seal bad disabled", "seal \"transit\" {\n disabled = \"nope\"\n}\n", []string{`config.hcl:2: seal "transit": disabled: expected a boolean, got "nope"`}},
		{"seal list value", "seal \"transit\" {\n address = [\"a\"]\n}\n", []string{`config.hcl:2: seal "transit": address: expected a single value, got a list`}},
		{"custom headers not a list", "listener \"tcp\" {\n custom_response_headers {\n  \"default\" = {\n   \"X-A\" = {}\n  }\n }\n}\n", []string{`config.hcl:4: listener "tcp": custom_response_headers: default: X-A:`}},
		{"syntax error", "listener \"tcp\" {\n  address = \"x\"\n", []string{"config.hcl:", "syntax error"}},
		{"bad escape", "api_addr = \"\\q\"\n", []string{"config.hcl:1: syntax error"}},
		{"repeated HCL key", "ui = true\nui = false\n", []string{"config.hcl:2: syntax error", `"ui"`}},
		{"repeated JSON key", `{"ui": true, "ui": false}`, []string{`config.hcl:1: "ui" is set more than once`}},
		{"repeated listener key in JSON", `{"listener": {"tcp": {"address": "a:1", "address": "b:1"}}}`, []string{`listener "tcp": "address" is set more than once`}},
		{"repeated storage key in JSON", `{"storage": {"raft": {"path": "a", "path": "b"}}}`, []string{`storage "raft": "path" is set more than once`}},
		{"JSON wrong type", "{\n  \"listener\": {\"tcp\": {\"tls_disable\": [1]}}\n}", []string{`config.hcl:2: listener "tcp": tls_disable: expected a single value, got a list`}},
		{"JSON syntax error", `{"ui": }`, []string{"config.hcl:1: syntax error"}},
		{"JSON unclosed", "{\n\"ui\": true\n", []string{"config.hcl:3: syntax error"}},
		{"JSON bad list", "{\"ui\": [1,}", []string{"config.hcl:1: syntax error"}},
		{"every problem at once", "ui = \"x\"\nlistner {}\ncache_size = \"y\"\n", []string{"config.hcl:1: ui", "config.hcl:2: unknown key", "config.hcl:3: cache_size"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("config.hcl", []byte(tc.src))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.File != "config.hcl" {
				t.Errorf("error %v is not a *config.Error naming the file", err)
			}
		})
	}
}

func TestParseFile(t *testing.T) {
	c, err := ParseFile("testdata/vault/docs-example.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage.Type != "raft" || len(c.Listeners) != 1 {
		t.Fatalf("unexpected config %s", dump(t, c))
	}
	if _, err := ParseFile("testdata/does-not-exist.hcl"); err == nil {
		t.Fatal("ParseFile of a missing file succeeded")
	}
}

// TestStorageStandIns: a storage stanza's redirect_addr, advertise_addr,
// cluster_addr and disable_clustering stand in for unset top-level
// settings, and leave the stanza.
func TestStorageStandIns(t *testing.T) {
	c := mustParse(t, "c.hcl", `storage "file" {
  path               = "/d"
  advertise_addr     = "https://adv:8200"
  cluster_addr       = "https://adv:8201"
  disable_clustering = true
}`)
	if c.APIAddr != "https://adv:8200" || c.ClusterAddr != "https://adv:8201" || !c.DisableClustering || len(c.Storage.Config) != 1 {
		t.Fatalf("advertise_addr/cluster_addr/disable_clustering: %s", dump(t, c))
	}
	c = mustParse(t, "c.hcl", `storage "file" {
  path          = "/d"
  redirect_addr = "https://red:8200"
}`)
	if c.APIAddr != "https://red:8200" || len(c.Storage.Config) != 1 {
		t.Fatalf("redirect_addr: %s", dump(t, c))
	}
}
