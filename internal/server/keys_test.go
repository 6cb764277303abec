package server

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongbox/strongbox/internal/config"
)

// keyProof says how a configuration key is honoured or refused. Exactly one
// field is set.
type keyProof struct {
	// test names the test that shows the key's effect on a running server
	// (or, for parser-level stand-ins, on the parsed configuration):
	// "TestName" in this package, or "dir:TestName" with dir relative to
	// this package. The test must exist and its file must name the key.
	test string
	// top and listener are a configuration fragment (top-level lines, or
	// lines inside a tcp listener) that the server must refuse at start,
	// naming the key and the file:line where it is set.
	top, listener string
	// via names the key whose proof covers this one: a block that holds
	// nothing but that key, or, as "storage", a retry_join key refused in
	// raft storage.
	via string
	// absent explains why a "disable_*" key is honoured by construction:
	// what it disables does not exist; the server must start with it set
	// to true.
	absent string
}

func refusedTop(s string) keyProof      { return keyProof{top: s} }
func refusedListener(s string) keyProof { return keyProof{listener: s} }
func effect(test string) keyProof       { return keyProof{test: test} }

// keyProofs covers every key config.AcceptedKeys lists.
var keyProofs = map[string]keyProof{
	// Top level: honoured.
	"api_addr":                            effect("TestRaftListenerKeys"),
	"cluster_addr":                        effect("TestRaftListenerKeys"),
	"cluster_name":                        effect("TestRedactions"),
	"disable_mlock":                       effect("../command:TestServerMlock"),
	"log_level":                           effect("TestLogLevelAndFormat"),
	"log_format":                          effect("TestLogLevelAndFormat"),
	"log_file":                            effect("TestLogFileRotation"),
	"log_rotate_bytes":                    effect("TestLogFileRotation"),
	"log_rotate_max_files":                effect("TestLogFileRotation"),
	"log_rotate_duration":                 effect("TestLogRotateDuration"),
	"log_requests_level":                  effect("TestLogFileRotation"),
	"pid_file":                            effect("TestPIDFile"),
	"default_lease_ttl":                   effect("TestLeaseTTLDefaults"),
	"max_lease_ttl":                       effect("TestLeaseTTLDefaults"),
	"default_max_request_duration":        effect("TestMaxRequestDurationOptions"),
	"disable_clustering":                  effect("../config:TestValidateErrors"),
	"enable_response_header_hostname":     effect("TestCustomResponseHeaders"),
	"enable_response_header_raft_node_id": effect("TestRaftListenerKeys"),
	"cluster_cipher_suites":               effect("TestClusterCipherSuites"),
	"storage":                             effect("TestCORSConfig"),
	"backend":                             effect("../config:TestParseHCLAndJSONAgree"),
	"listener":                            effect("TestRequireRequestHeader"),
	"seal":                                effect("TestAutoUnsealAWSKMS"),
	"hsm":                                 effect("../config:TestParseHCLAndJSONAgree"),

	// Top level: disabling what Strongbox does not have.
	"disable_cache":               {absent: "Strongbox has no physical read cache"},
	"disable_performance_standby": {absent: "Strongbox has no performance standbys yet: standbys forward every request"},
	"disable_printable_check":     {absent: "Strongbox runs no printable-character check on request keys"},

	// Top level: refused.
	"ui":                            refusedTop("ui = true"),
	"raw_storage_endpoint":          refusedTop("raw_storage_endpoint = true"),
	"plugin_directory":              refusedTop(`plugin_directory = "/plugins"`),
	"cache_size":                    refusedTop("cache_size = 1000"),
	"introspection_endpoint":        refusedTop("introspection_endpoint = true"),
	"ha_storage":                    refusedTop(`ha_storage "raft" {}`),
	"ha_backend":                    refusedTop(`ha_backend "raft" {}`),
	"telemetry":                     effect("TestMetricsPrometheus"),
	"service_registration":          refusedTop(`service_registration "kubernetes" {}`),
	"user_lockout":                  effect("TestUserLockoutServerConfig"),
	"audit":                         effect("TestAuditDeclaredInConfig"),
	"disable_api_audit_creation":    effect("TestAuditDeclaredInConfig"),
	"entropy":                       refusedTop(`entropy "seal" { mode = "augmentation" }`),
	"kms":                           refusedTop(`kms "x" {}`),
	"kms_library":                   refusedTop(`kms_library "pkcs11" {}`),
	"cloud":                         refusedTop(`cloud {}`),
	"replication":                   refusedTop(`replication {}`),
	"reporting":                     refusedTop(`reporting {}`),
	"sentinel":                      refusedTop(`sentinel {}`),
	"request_limiter":               refusedTop(`request_limiter {}`),
	"adaptive_overload_protection":  refusedTop(`adaptive_overload_protection {}`),
	"license_path":                  refusedTop(`license_path = "/l"`),
	"plugin_file_uid":               refusedTop(`plugin_file_uid = 1000`),
	"plugin_file_permissions":       refusedTop(`plugin_file_permissions = "0700"`),
	"plugin_tmpdir":                 refusedTop(`plugin_tmpdir = "/tmp"`),
	"disable_sealwrap":              refusedTop(`disable_sealwrap = true`),
	"disable_indexing":              refusedTop(`disable_indexing = true`),
	"disable_sentinel_trace":        refusedTop(`disable_sentinel_trace = true`),
	"experiments":                   refusedTop(`experiments = ["events.alpha1"]`),
	"imprecise_lease_role_tracking": refusedTop(`imprecise_lease_role_tracking = true`),
	"enable_post_unseal_trace":      refusedTop(`enable_post_unseal_trace = true`),
	"post_unseal_trace_directory":   refusedTop(`post_unseal_trace_directory = "/t"`),
	"detect_deadlocks":              refusedTop(`detect_deadlocks = "statelock"`),
	"administrative_namespace_path": refusedTop(`administrative_namespace_path = "admin/"`),
	"enable_multiseal":              refusedTop(`enable_multiseal = true`),

	// Listener: honoured.
	"listener.type":                                  effect("TestUnixListener"),
	"listener.address":                               effect("TestRaftListenerKeys"),
	"listener.cluster_address":                       effect("TestRaftListenerKeys"),
	"listener.tls_disable":                           effect("TestRequireRequestHeader"),
	"listener.tls_cert_file":                         effect("TestTLSListener"),
	"listener.tls_key_file":                          effect("TestTLSListener"),
	"listener.tls_client_ca_file":                    effect("TestTLSListener"),
	"listener.tls_require_and_verify_client_cert":    effect("TestTLSListener"),
	"listener.tls_min_version":                       effect("TestTLSMinVersionAndClientCerts"),
	"listener.tls_disable_client_certs":              effect("TestTLSMinVersionAndClientCerts"),
	"listener.tls_max_version":                       effect("TestTLSVersionsAndCiphers"),
	"listener.tls_cipher_suites":                     effect("TestTLSVersionsAndCiphers"),
	"listener.max_request_size":                      effect("TestMaxRequestSize"),
	"listener.max_request_duration":                  effect("TestMaxRequestDurationOptions"),
	"listener.require_request_header":                effect("TestRequireRequestHeader"),
	"listener.http_read_timeout":                     effect("TestSlowBodyIsCut"),
	"listener.http_read_header_timeout":              effect("TestHeaderAndIdleTimeouts"),
	"listener.http_idle_timeout":                     effect("TestHeaderAndIdleTimeouts"),
	"listener.http_write_timeout":                    effect("TestListenerTimeouts"),
	"listener.proxy_protocol_behavior":               effect("TestProxyProtocol"),
	"listener.proxy_protocol_authorized_addrs":       effect("TestProxyProtocol"),
	"listener.x_forwarded_for_authorized_addrs":      effect("TestXForwardedFor"),
	"listener.x_forwarded_for_hop_skips":             effect("TestXForwardedFor"),
	"listener.x_forwarded_for_reject_not_present":    effect("TestXForwardedFor"),
	"listener.x_forwarded_for_reject_not_authorized": effect("TestXForwardedForNotAuthorized"),
	"listener.socket_mode":                           effect("TestUnixListener"),
	"listener.socket_user":                           effect("TestUnixListener"),
	"listener.socket_group":                          effect("TestUnixListener"),
	"listener.cors_enabled":                          effect("TestListenerCORS"),
	"listener.cors_allowed_origins":                  effect("TestListenerCORS"),
	"listener.cors_allowed_headers":                  effect("TestListenerCORS"),
	"listener.custom_response_headers":               effect("TestCustomResponseHeaders"),
	"listener.redact_addresses":                      effect("TestRaftListenerKeys"),
	"listener.redact_cluster_name":                   effect("TestRedactions"),
	"listener.redact_version":                        effect("TestRedactions"),

	// Listener: disabling what Strongbox does not have.
	"listener.disable_replication_status_endpoints": {absent: "Strongbox serves no sys/replication status endpoints"},
	"listener.disable_request_limiter":              {absent: "Strongbox has no request limiter"},

	"listener.telemetry": effect("TestMetricsUnauthenticatedAccess"),
	"listener.telemetry.unauthenticated_metrics_access": effect("TestMetricsUnauthenticatedAccess"),

	"listener.inflight_requests_logging":                                           effect("TestInFlightRequests"),
	"listener.inflight_requests_logging.unauthenticated_in_flight_requests_access": effect("TestInFlightRequests"),

	"listener.profiling":                              effect("TestPprofEndpoints"),
	"listener.profiling.unauthenticated_pprof_access": effect("TestPprofEndpoints"),

	// Telemetry: honoured.
	"telemetry.prometheus_retention_time": effect("TestMetricsJSONAndRetentionOff"),
	"telemetry.disable_hostname":          effect("TestMetricsPrometheus"),
	"telemetry.metrics_prefix":            effect("TestMetricsPrefixHostnameAndFilters"),
	"telemetry.enable_hostname_label":     effect("TestMetricsPrefixHostnameAndFilters"),
	"telemetry.filter_default":            effect("TestMetricsPrefixHostnameAndFilters"),
	"telemetry.prefix_filter":             effect("TestMetricsPrefixHostnameAndFilters"),
	"telemetry.usage_gauge_period":        effect("TestMetricsPrefixHostnameAndFilters"),
	"telemetry.statsd_address":            effect("TestMetricsStatsdAndStatsite"),
	"telemetry.statsite_address":          effect("TestMetricsStatsdAndStatsite"),

	// Telemetry: refused.
	"telemetry.dogstatsd_addr":                     refusedTop("telemetry {\n  dogstatsd_addr = \"127.0.0.1:8125\"\n}"),
	"telemetry.dogstatsd_tags":                     refusedTop("telemetry {\n  dogstatsd_tags = [\"a:b\"]\n}"),
	"telemetry.maximum_gauge_cardinality":          refusedTop("telemetry {\n  maximum_gauge_cardinality = 100\n}"),
	"telemetry.lease_metrics_epsilon":              refusedTop("telemetry {\n  lease_metrics_epsilon = \"1h\"\n}"),
	"telemetry.num_lease_metrics_buckets":          refusedTop("telemetry {\n  num_lease_metrics_buckets = 10\n}"),
	"telemetry.add_lease_metrics_namespace_labels": refusedTop("telemetry {\n  add_lease_metrics_namespace_labels = true\n}"),
	"telemetry.opentelemetry_disable":              refusedTop("telemetry {\n  opentelemetry_disable = true\n}"),
	"telemetry.circonus_*":                         refusedTop("telemetry {\n  circonus_api_token = \"x\"\n}"),
	"telemetry.stackdriver_*":                      refusedTop("telemetry {\n  stackdriver_project_id = \"x\"\n}"),

	// Listener: refused.
	"listener.chroot_namespace":                            refusedListener(`chroot_namespace = "team/"`),
	"listener.role":                                        refusedListener(`role = "metrics_only"`),
	"listener.purpose":                                     refusedListener(`purpose = "api"`),
	"listener.agent_api":                                   refusedListener(`agent_api {}`),
	"listener.proxy_api":                                   refusedListener(`proxy_api {}`),
	"listener.tls_prefer_server_cipher_suites":             refusedListener(`tls_prefer_server_cipher_suites = false`),
	"listener.max_json_depth":                              refusedListener(`max_json_depth = 100`),
	"listener.max_json_string_value_length":                refusedListener(`max_json_string_value_length = 100`),
	"listener.max_json_object_entry_count":                 refusedListener(`max_json_object_entry_count = 100`),
	"listener.max_json_array_element_count":                refusedListener(`max_json_array_element_count = 100`),
	"listener.max_json_token":                              refusedListener(`max_json_token = 100`),
	"listener.max_token_header_size":                       refusedListener(`max_token_header_size = 100`),
	"listener.x_forwarded_for_client_cert_header":          refusedListener(`x_forwarded_for_client_cert_header = "X-Cert"`),
	"listener.x_forwarded_for_client_cert_header_decoders": refusedListener(`x_forwarded_for_client_cert_header_decoders = "URL"`),

	// Storage.
	"storage.file.path":                         effect("TestCORSConfig"),
	"storage.raft.path":                         effect("TestRaftListenerKeys"),
	"storage.raft.node_id":                      effect("../physical/raft:TestConfigFromMap"),
	"storage.raft.performance_multiplier":       effect("../physical/raft:TestPerformanceMultiplier"),
	"storage.raft.snapshot_threshold":           effect("../physical/raft:TestConfigFromMap"),
	"storage.raft.snapshot_interval":            effect("../physical/raft:TestConfigFromMap"),
	"storage.raft.trailing_logs":                effect("../physical/raft:TestConfigFromMap"),
	"storage.raft.max_entry_size":               effect("../physical/raft:TestConfigFromMap"),
	"storage.raft.non_voter":                    effect("../physical/raft:TestConfigFromMap"),
	"storage.raft.retry_join_as_non_voter":      effect("TestRetryJoinTargets"),
	"storage.raft.autopilot_redundancy_zone":    effect("../physical/raft:TestConfigFromMap"),
	"storage.raft.autopilot_upgrade_version":    effect("../physical/raft:TestConfigFromMapAutopilotKeys"),
	"storage.raft.autopilot_reconcile_interval": effect("../physical/raft:TestConfigFromMapAutopilotKeys"),
	"storage.raft.autopilot_update_interval":    effect("../physical/raft:TestConfigFromMapAutopilotKeys"),
	"storage.raft.tls_rotation_interval":        effect("../testcluster/scenarios:TestRaftTLSRotation"),
	"storage.raft.retry_join":                   effect("TestAutoSealRaftJoin"),
	"storage.*.redirect_addr":                   effect("../config:TestStorageStandIns"),
	"storage.*.advertise_addr":                  effect("../config:TestStorageStandIns"),
	"storage.*.cluster_addr":                    effect("../config:TestStorageStandIns"),
	"storage.*.disable_clustering":              effect("../config:TestStorageStandIns"),
	"retry_join.leader_api_addr":                effect("TestAutoSealRaftJoin"),
	"retry_join.leader_allow_http":              effect("TestAutoSealRaftJoin"),
	"retry_join.leader_tls_servername":          effect("TestRetryJoinTargets"),
	"retry_join.leader_ca_cert_file":            effect("TestRetryJoinTargets"),
	"retry_join.leader_client_cert_file":        effect("TestRetryJoinTargets"),
	"retry_join.leader_client_key_file":         effect("TestRetryJoinTargets"),
	"retry_join.leader_ca_cert":                 effect("TestRetryJoinTargets"),
	"retry_join.leader_client_cert":             effect("TestRetryJoinTargets"),
	"retry_join.leader_client_key":              effect("TestRetryJoinTargets"),
	"retry_join.auto_join":                      {via: "storage"},
	"retry_join.auto_join_scheme":               {via: "storage"},
	"retry_join.auto_join_port":                 {via: "storage"},

	// Audit stanzas.
	"audit.description": effect("TestAuditDeclaredInConfig"),
	"audit.local":       effect("TestAuditDeclaredInConfig"),
	"audit.options":     effect("TestAuditDeclaredInConfig"),

	// Seals.
	"seal.disabled": effect("TestOpenSealsConfig"),
	"seal.name":     refusedTop("seal \"shamir\" {\n  name = \"a\"\n}"),
	"seal.priority": refusedTop("seal \"shamir\" {\n  priority = 1\n}"),
	"seal.purpose":  refusedTop("seal \"shamir\" {\n  purpose = \"x\"\n}"),
}

// TestEveryConfigKeyHasEffectOrIsRefused walks every key the parser
// accepts: each must be honoured (a named test shows it), honoured by
// construction (it disables something Strongbox lacks, and the server
// starts with it), or refused when the server starts, with file:line. A key
// added to the parser without an entry here fails this test.
func TestEveryConfigKeyHasEffectOrIsRefused(t *testing.T) {
	tests := map[string]map[string]string{} // dir → test name → file text
	for _, k := range config.AcceptedKeys() {
		name := k.String()
		p, ok := keyProofs[name]
		if !ok {
			t.Errorf("%s: accepted by the parser but neither shown to have an effect nor refused: add it to keyProofs", name)
			continue
		}
		switch {
		case p.test != "":
			checkTestNamesKey(t, tests, name, k.Name, p.test)
		case p.top != "" || p.listener != "":
			// A wildcard key (circonus_*) is shown with one of its keys.
			want := k.Name
			if strings.HasSuffix(want, "*") {
				want = strings.TrimSuffix(want, "*")
			}
			checkRefused(t, name, p, want)
		case p.via == "storage":
			checkRefused(t, name, keyProof{top: "retry_join {\n  " + k.Name + " = \"1\"\n}"}, "retry_join")
		case p.via != "":
			if q, ok := keyProofs[p.via]; !ok || q.via != "" {
				t.Errorf("%s: covered by %s, which has no proof of its own", name, p.via)
			}
		case p.absent != "":
			checkStarts(t, name, k)
		default:
			t.Errorf("%s: empty proof", name)
		}
	}
	for name := range keyProofs {
		found := false
		for _, k := range config.AcceptedKeys() {
			if k.String() == name {
				found = true
			}
		}
		if !found {
			t.Errorf("keyProofs lists %s, which the parser does not accept", name)
		}
	}
}

// checkRefused starts a server with the fragment and wants an error that
// names want and the fragment's file:line.
func checkRefused(t *testing.T, name string, p keyProof, want string) {
	t.Helper()
	dir := t.TempDir()
	var path string
	if p.via == "" && strings.HasPrefix(p.top, "retry_join") {
		path = filepath.Join(dir, "config.hcl")
		body := "storage \"raft\" {\n  path = \"" + filepath.Join(dir, "raft") + "\"\n  " + strings.ReplaceAll(p.top, "\n", "\n  ") + "\n}\nlistener \"tcp\" {\n  tls_disable = true\n}\ncluster_addr = \"https://127.0.0.1:1\"\ndisable_mlock = true\n"
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	} else {
		path = listenerConfig(t, dir, "  "+strings.ReplaceAll(p.listener, "\n", "\n"), p.top)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line := 0
	for i, l := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), want) {
			line = i + 1
			break
		}
	}
	if line == 0 {
		t.Fatalf("%s: fragment does not set %s", name, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a configuration that passes must not keep running
	err = Run(ctx, Options{ConfigPaths: []string{path}, Logger: quietLogger()}, nil)
	at := fmt.Sprintf("config.hcl:%d:", line)
	if err == nil || !strings.Contains(err.Error(), at) || !errorLineNames(err.Error(), at, want) {
		t.Errorf("%s: server start = %v; want a refusal at %s naming %q", name, err, at, want)
	}
}

// errorLineNames reports whether the error line starting at "at" names key.
func errorLineNames(msg, at, key string) bool {
	for _, l := range strings.Split(msg, "\n") {
		if i := strings.Index(l, at); i >= 0 && strings.Contains(l[i:], key) {
			return true
		}
	}
	return false
}

// checkStarts starts a server with a disable_* key set to true.
func checkStarts(t *testing.T, name string, k config.Key) {
	t.Helper()
	dir := t.TempDir()
	top, listener := k.Name+" = true", ""
	if k.Section == "listener" {
		top, listener = "", k.Name+" = true"
	}
	srv := startServer(t, Options{ConfigPaths: []string{listenerConfig(t, dir, listener, top)}})
	if _, err := srv.client("").Sys().SealStatus(); err != nil {
		t.Errorf("%s: %v", name, err)
	}
	srv.stop()
}

// checkTestNamesKey finds the test ref names and checks its file sets key.
func checkTestNamesKey(t *testing.T, cache map[string]map[string]string, name, key, ref string) {
	t.Helper()
	dir, test := ".", ref
	if i := strings.LastIndex(ref, ":"); i >= 0 {
		dir, test = ref[:i], ref[i+1:]
	}
	if cache[dir] == nil {
		cache[dir] = testFuncs(t, dir)
	}
	text, ok := cache[dir][test]
	if !ok {
		t.Errorf("%s: %s has no test %s", name, dir, test)
		return
	}
	if !strings.Contains(text, key) {
		t.Errorf("%s: the file of %s never mentions %q", name, ref, key)
	}
}

// testFuncs maps each Test function in dir's _test.go files to its file's text.
func testFuncs(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no tests in %s: %v", dir, err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, f, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && strings.HasPrefix(fd.Name.Name, "Test") {
				out[fd.Name.Name] = string(src)
			}
		}
	}
	return out
}
