package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricsServer starts a file-storage server with the telemetry stanza and
// listener lines given, initialized and unsealed, with a kv mount written
// to and read from.
func metricsServer(t *testing.T, telemetry, listener string) (*testServer, string) {
	t.Helper()
	dir := t.TempDir()
	srv := startServer(t, Options{ConfigPaths: []string{listenerConfig(t, dir, listener, telemetry)}})
	_, root := initUnseal(t, srv.client(""))
	c := srv.client(root)
	if err := c.Sys().Mount("kv", &vault.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("kv/a", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Read("kv/a"); err != nil {
		t.Fatal(err)
	}
	return srv, root
}

// scrape fetches sys/metrics in the Prometheus format and parses it with
// Prometheus' own text parser.
func scrape(t *testing.T, srv *testServer, token string) map[string]*dto.MetricFamily {
	t.Helper()
	h := map[string]string{}
	if token != "" {
		h["X-Vault-Token"] = token
	}
	resp, body := call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/metrics?format=prometheus", h, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want text/plain", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse the exposition: %v\n%s", err, body)
	}
	return fams
}

// summaryCount is the total observation count of a summary family.
func summaryCount(f *dto.MetricFamily) uint64 {
	var n uint64
	if f == nil {
		return 0
	}
	for _, m := range f.GetMetric() {
		n += m.GetSummary().GetSampleCount()
	}
	return n
}

// waitFamily scrapes until name appears.
func waitFamily(t *testing.T, srv *testServer, token, name string) map[string]*dto.MetricFamily {
	t.Helper()
	return waitScrape(t, srv, token, func(f map[string]*dto.MetricFamily) bool { return f[name] != nil })
}

// waitScrape scrapes until ok holds, or 20s have passed (the caller's
// checks then report what is missing).
func waitScrape(t *testing.T, srv *testServer, token string, ok func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		fams := scrape(t, srv, token)
		if ok(fams) || time.Now().After(deadline) {
			return fams
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// gaugeIs reports whether the family's first gauge has value v.
func gaugeIs(f *dto.MetricFamily, v float64) bool {
	return f != nil && len(f.GetMetric()) > 0 && f.GetMetric()[0].GetGauge().GetValue() == v
}

// TestMetricsPrometheus checks sys/metrics?format=prometheus with
// telemetry { prometheus_retention_time, disable_hostname }: Vault's names,
// counts that move with requests, and the sys/metrics ACL.
func TestMetricsPrometheus(t *testing.T) {
	srv, root := metricsServer(t, "telemetry {\n  prometheus_retention_time = \"1h\"\n  disable_hostname = true\n}", "")
	fams := waitScrape(t, srv, root, func(f map[string]*dto.MetricFamily) bool {
		return gaugeIs(f["vault_core_active"], 1) && f["vault_runtime_alloc_bytes"] != nil
	})
	for _, name := range []string{
		"vault_core_handle_request", "vault_barrier_get", "vault_barrier_put", "vault_barrier_list",
		"vault_core_unseal", "vault_token_creation", "vault_runtime_alloc_bytes", "vault_runtime_num_goroutines",
		"vault_core_active", "vault_core_standby", "vault_core_unsealed",
	} {
		if fams[name] == nil {
			t.Errorf("no %s in the exposition", name)
		}
	}
	if g := fams["vault_core_active"]; g != nil && g.GetMetric()[0].GetGauge().GetValue() != 1 {
		t.Errorf("vault_core_active = %v on the active node, want 1", g.GetMetric()[0].GetGauge().GetValue())
	}
	if g := fams["vault_core_standby"]; g != nil && g.GetMetric()[0].GetGauge().GetValue() != 0 {
		t.Errorf("vault_core_standby = %v on the active node, want 0", g.GetMetric()[0].GetGauge().GetValue())
	}
	if tc := fams["vault_token_creation"]; tc != nil {
		found := false
		for _, m := range tc.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "token_type" && l.GetValue() == "service" && m.GetCounter().GetValue() >= 1 {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("vault_token_creation has no token_type=service count ≥ 1: %v", tc)
		}
	}

	before := summaryCount(fams["vault_core_handle_request"])
	getsBefore := summaryCount(fams["vault_barrier_get"])
	c := srv.client(root)
	const reads = 7
	for range reads {
		if _, err := c.Logical().Read("kv/a"); err != nil {
			t.Fatal(err)
		}
	}
	fams = scrape(t, srv, root)
	// Each scrape is a request too, so at least reads+1 more.
	if after := summaryCount(fams["vault_core_handle_request"]); after < before+reads {
		t.Errorf("vault_core_handle_request count %d → %d after %d reads", before, after, reads)
	}
	if after := summaryCount(fams["vault_barrier_get"]); after < getsBefore+reads {
		t.Errorf("vault_barrier_get count %d → %d after %d reads", getsBefore, after, reads)
	}

	// A login is timed apart.
	if err := c.Sys().EnableAuthWithOptions("userpass", &vault.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("auth/userpass/users/u", map[string]any{"password": "pw", "token_policies": "metrics"}); err != nil {
		t.Fatal(err)
	}
	lc := srv.client("")
	sec, err := lc.Logical().Write("auth/userpass/login/u", map[string]any{"password": "pw"})
	if err != nil {
		t.Fatal(err)
	}
	userTok := sec.Auth.ClientToken

	// The ACL: no token, a token without sys/metrics, then one with it.
	resp, body := call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/metrics?format=prometheus", nil, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("no token: %d %s, want 403", resp.StatusCode, body)
	}
	resp, body = call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/metrics?format=prometheus", map[string]string{"X-Vault-Token": userTok}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("token without the policy: %d %s, want 403", resp.StatusCode, body)
	}
	if err := c.Sys().PutPolicy("metrics", `path "sys/metrics" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	fams = scrape(t, srv, userTok)
	if summaryCount(fams["vault_core_handle_login_request"]) < 1 {
		t.Errorf("vault_core_handle_login_request not counted after a userpass login")
	}

	// Bad format: 400 in Vault's shape.
	resp, body = call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/metrics?format=bogus", map[string]string{"X-Vault-Token": root}, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"errors"`) {
		t.Errorf("format=bogus: %d %s, want 400 with errors", resp.StatusCode, body)
	}
}

// TestMetricsJSONAndRetentionOff: with prometheus_retention_time = 0 the
// Prometheus format is a 400 ("prometheus is not enabled", as Vault) and
// the JSON summary (Gauges, Counters, Samples) still answers.
func TestMetricsJSONAndRetentionOff(t *testing.T) {
	srv, root := metricsServer(t, "telemetry {\n  prometheus_retention_time = \"0s\"\n  disable_hostname = true\n}", "")
	resp, body := call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/metrics?format=prometheus", map[string]string{"X-Vault-Token": root}, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "prometheus is not enabled") {
		t.Errorf("prometheus off: %d %s, want 400 prometheus is not enabled", resp.StatusCode, body)
	}
	resp, body = call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/metrics", map[string]string{"X-Vault-Token": root}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("json: %d %s", resp.StatusCode, body)
	}
	var summary struct {
		Timestamp string
		Gauges    []struct{ Name string }
		Counters  []struct{ Name string }
		Samples   []struct {
			Name  string
			Count int
		}
	}
	if err := json.Unmarshal(body, &summary); err != nil {
		t.Fatalf("json: %v\n%s", err, body)
	}
	samples := map[string]int{}
	for _, s := range summary.Samples {
		samples[s.Name] += s.Count
	}
	if samples["vault.core.handle_request"] < 1 || samples["vault.barrier.get"] < 1 {
		t.Errorf("JSON samples lack vault.core.handle_request / vault.barrier.get: %v", samples)
	}
	counters := map[string]bool{}
	for _, c := range summary.Counters {
		counters[c.Name] = true
	}
	if !counters["vault.token.creation;token_type=service"] && !counters["vault.token.creation"] {
		t.Errorf("JSON counters lack vault.token.creation: %v", counters)
	}
	if summary.Timestamp == "" || summary.Gauges == nil {
		t.Errorf("JSON summary lacks Timestamp or Gauges: %s", body)
	}
}

// TestMetricsUnauthenticatedAccess: the listener's telemetry {
// unauthenticated_metrics_access = true } serves sys/metrics without a
// token, even before init.
func TestMetricsUnauthenticatedAccess(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, Options{ConfigPaths: []string{listenerConfig(t, dir,
		"  telemetry {\n    unauthenticated_metrics_access = true\n  }",
		"telemetry {\n  prometheus_retention_time = \"1h\"\n  disable_hostname = true\n}")}})
	fams := waitFamily(t, srv, "", "vault_core_unsealed")
	if g := fams["vault_core_unsealed"]; g == nil || g.GetMetric()[0].GetGauge().GetValue() != 0 {
		t.Errorf("vault_core_unsealed before init: %v, want 0", g)
	}
	resp, body := call(t, http.MethodPost, "http://"+srv.addr+"/v1/sys/metrics", nil, nil)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d %s, want 405", resp.StatusCode, body)
	}
}

// TestMetricsPrefixHostnameAndFilters covers metrics_prefix,
// disable_hostname (off: gauges carry the host name), enable_hostname_label,
// filter_default with prefix_filter, and usage_gauge_period.
func TestMetricsPrefixHostnameAndFilters(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	sane := strings.NewReplacer("-", "_", ".", "_").Replace(host)

	t.Run("metrics_prefix and hostname in gauge names", func(t *testing.T) {
		srv, root := metricsServer(t, "telemetry {\n  prometheus_retention_time = \"1h\"\n  metrics_prefix = \"sbx\"\n}", "")
		fams := waitFamily(t, srv, root, "sbx_"+sane+"_core_active")
		if fams["sbx_core_handle_request"] == nil {
			t.Errorf("metrics_prefix: no sbx_core_handle_request")
		}
		if fams["sbx_"+sane+"_core_active"] == nil {
			t.Errorf("disable_hostname unset: no sbx_%s_core_active", sane)
		}
		for name := range fams {
			if strings.HasPrefix(name, "vault_") {
				t.Errorf("metrics_prefix: %s still named vault_", name)
			}
		}
	})
	t.Run("enable_hostname_label", func(t *testing.T) {
		srv, root := metricsServer(t, "telemetry {\n  prometheus_retention_time = \"1h\"\n  enable_hostname_label = true\n}", "")
		fams := waitFamily(t, srv, root, "vault_core_active")
		g := fams["vault_core_active"]
		if g == nil {
			t.Fatal("no vault_core_active")
		}
		found := false
		for _, l := range g.GetMetric()[0].GetLabel() {
			found = found || (l.GetName() == "host" && l.GetValue() == host)
		}
		if !found {
			t.Errorf("enable_hostname_label: vault_core_active has no host=%q label: %v", host, g)
		}
	})
	t.Run("filter_default and prefix_filter", func(t *testing.T) {
		srv, root := metricsServer(t, "telemetry {\n  prometheus_retention_time = \"1h\"\n  disable_hostname = true\n  filter_default = false\n  prefix_filter = [\"+vault.core\", \"-vault.core.unsealed\"]\n}", "")
		fams := waitFamily(t, srv, root, "vault_core_active")
		if fams["vault_core_handle_request"] == nil || fams["vault_core_active"] == nil {
			t.Errorf("prefix_filter +vault.core: vault_core_* missing")
		}
		for _, name := range []string{"vault_barrier_get", "vault_runtime_alloc_bytes", "vault_core_unsealed"} {
			if fams[name] != nil {
				t.Errorf("filter_default = false: %s should be filtered out", name)
			}
		}
	})
	t.Run("usage_gauge_period", func(t *testing.T) {
		srv, root := metricsServer(t, "telemetry {\n  prometheus_retention_time = \"1h\"\n  disable_hostname = true\n  usage_gauge_period = \"200ms\"\n}", "")
		fams := waitFamily(t, srv, root, "vault_expire_num_leases")
		if fams["vault_expire_num_leases"] == nil {
			t.Errorf("usage_gauge_period = 200ms: no vault_expire_num_leases")
		}
	})
}

// TestMetricsStatsdAndStatsite: with statsd_address (UDP) and
// statsite_address (TCP) set, the server sends its metrics there in the
// statsd line format under Vault's names.
func TestMetricsStatsdAndStatsite(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()

	statsd := make(chan string, 1024)
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := udp.ReadFrom(buf)
			if err != nil {
				return
			}
			for _, l := range strings.Split(string(buf[:n]), "\n") {
				select {
				case statsd <- l:
				default:
				}
			}
		}
	}()
	statsite := make(chan string, 1024)
	go func() {
		conn, err := tcp.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		sc := bufio.NewScanner(conn)
		for sc.Scan() {
			select {
			case statsite <- sc.Text():
			default:
			}
		}
	}()

	telemetry := fmt.Sprintf("telemetry {\n  statsd_address = %q\n  statsite_address = %q\n  disable_hostname = true\n}", udp.LocalAddr(), tcp.Addr())
	metricsServer(t, telemetry, "")

	for name, lines := range map[string]chan string{"statsd": statsd, "statsite": statsite} {
		want := map[string]bool{
			"vault.core.handle_request:": false, // a timer: "…:1.234|ms"
			"vault.barrier.put:":         false,
			"vault.runtime.alloc_bytes:": false,
			"vault.core.active:":         false,
		}
		deadline := time.After(20 * time.Second)
	read:
		for {
			select {
			case l := <-lines:
				for prefix := range want {
					if strings.HasPrefix(l, prefix) && strings.Contains(l, "|") {
						want[prefix] = true
					}
				}
				done := true
				for _, seen := range want {
					done = done && seen
				}
				if done {
					break read
				}
			case <-deadline:
				break read
			}
		}
		for prefix, seen := range want {
			if !seen {
				t.Errorf("%s: no line starting %q", name, prefix)
			}
		}
	}
}
