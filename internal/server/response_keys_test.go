package server

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestCORSConfig: sys/config/cors is stored durably (it survives a
// restart), answers preflights for allowed origins with the allowed
// methods and headers, refuses other origins with 403, and DELETE turns it
// off.
func TestCORSConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := listenerConfig(t, dir, "", "")
	srv := startServer(t, Options{ConfigPaths: []string{cfg}})
	keys, root := initUnseal(t, srv.client(""))
	c := srv.client(root)
	if _, err := c.Logical().Write("sys/config/cors", map[string]any{
		"allowed_origins": []string{"https://ui.example.com"},
		"allowed_headers": "X-Custom-Header",
	}); err != nil {
		t.Fatal(err)
	}
	// Restart on the same data: the setting is in storage.
	srv.stop()
	srv = startServer(t, Options{ConfigPaths: []string{cfg}})
	unseal(t, srv.client(""), keys[:3])
	c = srv.client(root)
	sec, err := c.Logical().Read("sys/config/cors")
	if err != nil {
		t.Fatal(err)
	}
	if sec.Data["enabled"] != true || asJSON(sec.Data["allowed_origins"]) != `["https://ui.example.com"]` || asJSON(sec.Data["allowed_headers"]) != `["X-Custom-Header"]` {
		t.Fatalf("sys/config/cors after restart = %v", sec.Data)
	}
	url := "http://" + srv.addr + "/v1/secret/data/x"
	resp, body := call(t, http.MethodOptions, url, map[string]string{"Origin": "https://ui.example.com", "Access-Control-Request-Method": "GET"}, nil)
	h := resp.Header
	if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://ui.example.com" ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "LIST") || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "X-Custom-Header") ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "X-Vault-Token") || h.Get("Access-Control-Max-Age") != "300" {
		t.Fatalf("preflight: %d %v %s", resp.StatusCode, h, body)
	}
	resp, _ = call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/mounts", map[string]string{"Origin": "https://ui.example.com", "X-Vault-Token": root}, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "https://ui.example.com" {
		t.Fatalf("cross-origin GET: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body = call(t, http.MethodOptions, url, map[string]string{"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"}, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "origin not allowed") {
		t.Fatalf("preflight from another origin: %d %s", resp.StatusCode, body)
	}
	if _, err := c.Logical().Delete("sys/config/cors"); err != nil {
		t.Fatal(err)
	}
	resp, _ = call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/mounts", map[string]string{"Origin": "https://evil.example.com", "X-Vault-Token": root}, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("after DELETE: %d %v", resp.StatusCode, resp.Header)
	}
	sec, err = c.Logical().Read("sys/config/cors")
	if err != nil || sec.Data["enabled"] != false {
		t.Fatalf("after DELETE: %v %v", sec, err)
	}
	// Enabling without origins is the caller's mistake.
	_, err = c.Logical().Write("sys/config/cors", map[string]any{"allowed_headers": "X-A"})
	assertStatus(t, err, http.StatusBadRequest)
}

// TestListenerCORS: a listener's cors_enabled, cors_allowed_origins and
// cors_allowed_headers apply without sys/config/cors.
func TestListenerCORS(t *testing.T) {
	srv, _ := listenerServer(t, `
  cors_enabled         = true
  cors_allowed_origins = ["https://app.example.com"]
  cors_allowed_headers = ["X-App"]`, "")
	resp, _ := call(t, http.MethodOptions, "http://"+srv.addr+"/v1/sys/mounts", map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT"}, nil)
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "X-App") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = call(t, http.MethodOptions, "http://"+srv.addr+"/v1/sys/mounts", map[string]string{"Origin": "https://other.example.com"}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("other origin: %d", resp.StatusCode)
	}
}

// TestCustomResponseHeaders: "default" headers are on every response, a
// class ("4xx") and an exact code add theirs, the most specific winning;
// enable_response_header_hostname adds X-Vault-Hostname.
func TestCustomResponseHeaders(t *testing.T) {
	srv, root := listenerServer(t, `
  custom_response_headers {
    "default" = {
      "Strict-Transport-Security" = ["max-age=31536000"]
      "X-Which" = ["default"]
    }
    "4xx" = {
      "X-Which" = ["4xx"]
    }
    "404" = {
      "X-Which" = ["404"]
      "X-Two" = ["a", "b"]
    }
  }`, "enable_response_header_hostname = true")
	host, _ := os.Hostname()
	resp, _ := call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/mounts", map[string]string{"X-Vault-Token": root}, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") != "max-age=31536000" || resp.Header.Get("X-Which") != "default" {
		t.Fatalf("200: %v", resp.Header)
	}
	if resp.Header.Get("X-Vault-Hostname") != host {
		t.Fatalf("X-Vault-Hostname = %q, want %q", resp.Header.Get("X-Vault-Hostname"), host)
	}
	resp, _ = call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/mounts", nil, nil)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Which") != "4xx" || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("403: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = call(t, http.MethodGet, "http://"+srv.addr+"/v1/secret/nothing-here", map[string]string{"X-Vault-Token": root}, nil)
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Which") != "404" || resp.Header.Get("X-Two") != "a; b" {
		t.Fatalf("404: %d %v", resp.StatusCode, resp.Header)
	}
	// Without custom headers, Vault's default Strict-Transport-Security.
	plain, _ := listenerServer(t, "", "")
	resp, _ = call(t, http.MethodGet, "http://"+plain.addr+"/v1/sys/health", nil, nil)
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000; includeSubDomains" {
		t.Fatalf("default Strict-Transport-Security = %q", got)
	}
}

// TestRedactions: redact_version and redact_cluster_name blank those
// fields in sys/seal-status and sys/health.
func TestRedactions(t *testing.T) {
	srv, _ := listenerServer(t, `
  redact_version      = true
  redact_cluster_name = true
  redact_addresses    = true`, `cluster_name = "secret-cluster"`)
	for _, path := range []string{"/v1/sys/health", "/v1/sys/seal-status"} {
		_, body := call(t, http.MethodGet, "http://"+srv.addr+path, nil, nil)
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("%s: %s", path, body)
		}
		if m["version"] != "" || m["cluster_name"] != "" || strings.Contains(string(body), "secret-cluster") || strings.Contains(string(body), Version) {
			t.Fatalf("%s not redacted: %s", path, body)
		}
	}
	plain, _ := listenerServer(t, "", `cluster_name = "secret-cluster"`)
	_, body := call(t, http.MethodGet, "http://"+plain.addr+"/v1/sys/health", nil, nil)
	if !strings.Contains(string(body), "secret-cluster") || !strings.Contains(string(body), Version) {
		t.Fatalf("without redaction: %s", body)
	}
}

func jsonInto(b []byte, v any) error { return json.Unmarshal(b, v) }
