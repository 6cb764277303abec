package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsRaftAndPrometheusServer runs a raft node with Prometheus
// metrics and a real Prometheus server (Debian's `prometheus`, installed
// by scripts/test-deps.sh) scraping its /v1/sys/metrics with a token: the
// raft library's metrics come out under Vault's names (vault_raft_*), and
// Prometheus reports the target up and stores a vault_ series.
func TestMetricsRaftAndPrometheusServer(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus is not installed (run scripts/test-deps.sh): %v", err)
	}
	ports := freeLocalPorts(t, 3)
	cfg := raftNodeConfig(t, "n1", ports[0], ports[1], "",
		"telemetry {\n  prometheus_retention_time = \"1h\"\n  disable_hostname = true\n  usage_gauge_period = \"1s\"\n}")
	srv := startServer(t, Options{ConfigPaths: []string{cfg}})
	c := srv.client("")
	init, err := c.Sys().Init(&vault.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	unseal(t, c, init.Keys)
	root := init.RootToken
	c.SetToken(root)
	// Writes go through raft: wait for the node to lead and take them.
	deadline := time.Now().Add(30 * time.Second)
	for {
		err = c.Sys().Mount("kv", &vault.MountInput{Type: "kv"})
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	// Exercise what the dashboard charts: audit, every barrier operation,
	// a login.
	if err := c.Sys().EnableAuditWithOptions("file", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": filepath.Join(t.TempDir(), "audit.log")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("kv/a", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().List("kv/"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Delete("kv/a"); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().EnableAuthWithOptions("userpass", &vault.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("auth/userpass/users/u", map[string]any{"password": "pw"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.client("").Logical().Write("auth/userpass/login/u", map[string]any{"password": "pw"}); err != nil {
		t.Fatal(err)
	}

	fams := waitScrape(t, srv, root, func(f map[string]*dto.MetricFamily) bool {
		return f["vault_raft_apply"] != nil && f["vault_raft_commitTime"] != nil && gaugeIs(f["vault_core_active"], 1) &&
			f["vault_autopilot_healthy"] != nil
	})
	for _, name := range []string{"vault_raft_apply", "vault_raft_commitTime", "vault_raft_state_leader", "vault_autopilot_healthy", "vault_autopilot_failure_tolerance", "vault_autopilot_node_healthy"} {
		if fams[name] == nil {
			t.Errorf("no %s from the raft library", name)
		}
	}

	// A real Prometheus server scraping the node.
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(root), 0o600); err != nil {
		t.Fatal(err)
	}
	promCfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(promCfg, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: strongbox
    metrics_path: /v1/sys/metrics
    params:
      format: ["prometheus"]
    authorization:
      credentials_file: %q
    static_configs:
      - targets: ["%s"]
`, tokenFile, srv.addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	promAddr := "127.0.0.1:" + strconv.Itoa(ports[2])
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+promCfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr,
	)
	logs, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() {
		cancel()
		<-exited
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Logf("prometheus log:\n%s", b)
		}
	}()

	query := func(q string) (float64, bool) {
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var out struct {
			Status string
			Data   struct {
				Result []struct {
					Value [2]any
				}
			}
		}
		if json.Unmarshal(body, &out) != nil || out.Status != "success" || len(out.Data.Result) == 0 {
			return 0, false
		}
		s, _ := out.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil
	}
	waitQuery := func(q string, ok func(float64) bool) float64 {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			v, found := query(q)
			if found && ok(v) {
				return v
			}
			select {
			case <-exited:
				t.Fatalf("prometheus exited while waiting for %s", q)
			default:
			}
			if time.Now().After(deadline) {
				t.Errorf("prometheus: %s = %v (found %v)", q, v, found)
				return v
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	waitQuery(`up{job="strongbox"}`, func(v float64) bool { return v == 1 })
	waitQuery(`vault_core_active{job="strongbox"}`, func(v float64) bool { return v == 1 })
	waitQuery(`vault_core_handle_request_count{job="strongbox"}`, func(v float64) bool { return v > 0 })
	waitQuery(`vault_raft_apply{job="strongbox"}`, func(v float64) bool { return v > 0 })

	// Step down: a one-node raft cluster elects this node again; the
	// step-down is timed as vault_core_step_down.
	if err := c.Sys().StepDown(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for fams["vault_core_step_down"] == nil && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		resp, body := call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/metrics?format=prometheus", map[string]string{"X-Vault-Token": root}, nil)
		if resp.StatusCode == http.StatusOK {
			p := expfmt.NewTextParser(model.UTF8Validation)
			if f, err := p.TextToMetricFamilies(bytes.NewReader(body)); err == nil {
				fams = f
			}
		}
	}

	// Every metric the Grafana dashboard in deploy/ charts is one the
	// server emits.
	dash, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana-strongbox.json"))
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`vault_[a-zA-Z_]+`).FindAllString(string(dash), -1)
	if len(names) < 10 {
		t.Fatalf("the dashboard names only %d vault_ metrics", len(names))
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimSuffix(n, "_count"), "_sum")
		if fams[base] == nil {
			t.Errorf("the dashboard charts %s, which the server did not emit", n)
		}
	}
}
