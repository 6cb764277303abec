package server

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

// TestPprofEndpoints: sys/pprof/* serve the runtime's profiles (gzip'd
// protobuf, or text with debug=1) and need sudo, as in Vault.
func TestPprofEndpoints(t *testing.T) {
	srv, root := metricsServer(t, "", "")
	base := "http://" + srv.addr + "/v1/sys/pprof/"
	get := func(path, token string) (int, []byte) {
		t.Helper()
		h := map[string]string{}
		if token != "" {
			h["X-Vault-Token"] = token
		}
		resp, body := call(t, http.MethodGet, base+path, h, nil)
		return resp.StatusCode, body
	}
	gzipMagic := []byte{0x1f, 0x8b}
	for _, tc := range []struct {
		path string
		ok   func([]byte) bool
	}{
		{"", func(b []byte) bool { return strings.Contains(string(b), "goroutine") }},
		{"goroutine?debug=1", func(b []byte) bool { return strings.Contains(string(b), "goroutine profile:") }},
		{"goroutine", func(b []byte) bool { return bytes.HasPrefix(b, gzipMagic) }},
		{"heap", func(b []byte) bool { return bytes.HasPrefix(b, gzipMagic) }},
		{"allocs", func(b []byte) bool { return bytes.HasPrefix(b, gzipMagic) }},
		{"threadcreate?debug=1", func(b []byte) bool { return strings.Contains(string(b), "threadcreate profile:") }},
		{"cmdline", func(b []byte) bool { return len(b) > 0 }},
		{"profile?seconds=1", func(b []byte) bool { return bytes.HasPrefix(b, gzipMagic) }},
		{"trace?seconds=1", func(b []byte) bool { return bytes.HasPrefix(b, []byte("go 1.")) }},
	} {
		status, body := get(tc.path, root)
		if status != http.StatusOK || !tc.ok(body) {
			n := min(len(body), 200)
			t.Errorf("%s: %d %q", tc.path, status, body[:n])
		}
	}
	for _, bad := range []string{"heap?debug=7", "profile?seconds=0", "profile?seconds=100000"} {
		if status, body := get(bad, root); status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", bad, status, body)
		}
	}

	// read without sudo is refused; with sudo it is served.
	c := srv.client(root)
	if err := c.Sys().PutPolicy("noprof", `path "sys/pprof/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().PutPolicy("prof", `path "sys/pprof/*" { capabilities = ["read", "sudo"] }`); err != nil {
		t.Fatal(err)
	}
	for policy, want := range map[string]int{"noprof": http.StatusForbidden, "prof": http.StatusOK} {
		sec, err := c.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{policy}})
		if err != nil {
			t.Fatal(err)
		}
		if status, body := get("heap", sec.Auth.ClientToken); status != want {
			t.Errorf("policy %s: %d %.200s, want %d", policy, status, body, want)
		}
	}
	if status, _ := get("heap", ""); status != http.StatusForbidden {
		t.Errorf("no token: %d, want 403", status)
	}
}

// TestPprofUnauthenticated: the listener's profiling {
// unauthenticated_pprof_access = true } serves sys/pprof/* without a token.
func TestPprofUnauthenticated(t *testing.T) {
	srv, _ := metricsServer(t, "", "  profiling {\n    unauthenticated_pprof_access = true\n  }")
	resp, body := call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/pprof/goroutine?debug=1", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile:") {
		t.Errorf("no token: %d %.200s", resp.StatusCode, body)
	}
	resp, body = call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/pprof/heap?debug=9", nil, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("debug=9: %d %s, want 400", resp.StatusCode, body)
	}
	resp, body = call(t, http.MethodGet, "http://"+srv.addr+"/v1/sys/pprof/nothing", nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown profile: %d %s, want 404", resp.StatusCode, body)
	}
}
