package server

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

// TestConfigStateSanitized: sys/config/state/sanitized shows the server's
// configuration under Vault's keys, without storage settings, and needs
// sudo.
func TestConfigStateSanitized(t *testing.T) {
	dir := t.TempDir()
	// A socket that takes the statsd lines, so none bounce.
	sink, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	statsd := sink.LocalAddr().String()
	srv := startServer(t, Options{ConfigPaths: []string{listenerConfig(t, dir, "", "cluster_name = \"sanitized-test\"\ntelemetry {\n  statsd_address = \""+statsd+"\"\n  disable_hostname = true\n}")}})
	_, root := initUnseal(t, srv.client(""))
	resp, body := call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/config/state/sanitized", map[string]string{"X-Vault-Token": root}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var env struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	d := env.Data
	if d["cluster_name"] != "sanitized-test" || d["disable_mlock"] != true {
		t.Errorf("top level: %v", d)
	}
	ls, _ := d["listeners"].([]any)
	if len(ls) != 1 || ls[0].(map[string]any)["type"] != "tcp" || ls[0].(map[string]any)["config"].(map[string]any)["address"] != "127.0.0.1:0" {
		t.Errorf("listeners: %v", d["listeners"])
	}
	st, _ := d["storage"].(map[string]any)
	if st["type"] != "file" {
		t.Errorf("storage: %v", st)
	}
	// The storage path (a storage setting) is not shown.
	if strings.Contains(string(body), filepath.Join(dir, "data")) {
		t.Errorf("storage settings leaked: %s", body)
	}
	if tel, _ := d["telemetry"].(map[string]any); tel["statsd_address"] != statsd || tel["disable_hostname"] != true {
		t.Errorf("telemetry: %v", d["telemetry"])
	}

	c := srv.client(root)
	if err := c.Sys().PutPolicy("cfg", `path "sys/config/state/sanitized" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	sec, err := c.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"cfg"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, body = call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/config/state/sanitized", map[string]string{"X-Vault-Token": sec.Auth.ClientToken}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("read without sudo: %d %s, want 403", resp.StatusCode, body)
	}
}

// TestHostInfo: sys/host-info reports the host's CPU, memory, root disk and
// kernel under Vault's keys.
func TestHostInfo(t *testing.T) {
	srv, root := metricsServer(t, "", "")
	resp, body := call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/host-info", map[string]string{"X-Vault-Token": root}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var env struct {
		Data struct {
			CPU      []map[string]any `json:"cpu"`
			CPUTimes []map[string]any `json:"cpu_times"`
			Disk     []map[string]any `json:"disk"`
			Host     map[string]any   `json:"host"`
			Memory   map[string]any   `json:"memory"`
			Time     string           `json:"timestamp"`
		} `json:"data"`
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	d := env.Data
	host, _ := os.Hostname()
	if len(d.CPU) == 0 || d.CPU[0]["modelName"] == nil {
		t.Errorf("cpu: %v", d.CPU)
	}
	if len(d.CPUTimes) != 1 || d.CPUTimes[0]["idle"] == nil {
		t.Errorf("cpu_times: %v", d.CPUTimes)
	}
	if len(d.Disk) != 1 || d.Disk[0]["path"] != "/" || d.Disk[0]["total"].(float64) <= 0 {
		t.Errorf("disk: %v", d.Disk)
	}
	if d.Host["hostname"] != host || d.Host["kernelVersion"] == "" || d.Host["uptime"].(float64) <= 0 {
		t.Errorf("host: %v", d.Host)
	}
	if d.Memory["total"].(float64) <= 0 || d.Memory["usedPercent"] == nil {
		t.Errorf("memory: %v", d.Memory)
	}
	if d.Time == "" || len(env.Warnings) != 0 {
		t.Errorf("timestamp %q, warnings %v", d.Time, env.Warnings)
	}
	resp, body = call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/host-info", nil, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("no token: %d %s, want 403", resp.StatusCode, body)
	}
}
