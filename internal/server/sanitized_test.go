package server

import (
	"encoding/json"
	"net/http"
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
	srv := startServer(t, Options{ConfigPaths: []string{listenerConfig(t, dir, "", "cluster_name = \"sanitized-test\"\ntelemetry {\n  statsd_address = \"127.0.0.1:9\"\n  disable_hostname = true\n}")}})
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
	if tel, _ := d["telemetry"].(map[string]any); tel["statsd_address"] != "127.0.0.1:9" || tel["disable_hostname"] != true {
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
