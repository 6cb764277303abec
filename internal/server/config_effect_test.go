package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/config"
)

// TestLogLevelAndFormat: log_format = "json" writes JSON records and
// log_level filters them (checked in log_file, which uses both).
func TestLogLevelAndFormat(t *testing.T) {
	for _, tc := range []struct {
		level    string
		wantInfo bool
	}{{"info", true}, {"warn", false}} {
		logPath := filepath.Join(t.TempDir(), "s.log")
		srv, root := listenerServer(t, "", fmt.Sprintf(`
log_file           = %q
log_format         = "json"
log_level          = %q
log_requests_level = "info"`, logPath, tc.level))
		if _, err := srv.client(root).Sys().ListMounts(); err != nil {
			t.Fatal(err)
		}
		srv.stop()
		b, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		for _, l := range lines {
			if l != "" && !strings.HasPrefix(l, "{") {
				t.Fatalf("log_format json wrote %q", l)
			}
		}
		if got := strings.Contains(string(b), `"msg":"completed request"`); got != tc.wantInfo {
			t.Fatalf("log_level %s: info records present = %v, want %v:\n%s", tc.level, got, tc.wantInfo, b)
		}
	}
}

// TestMaxRequestSize: a body over the listener's max_request_size gets 413.
func TestMaxRequestSize(t *testing.T) {
	srv, root := listenerServer(t, "max_request_size = 1024", "")
	body := []byte(`{"v":"` + strings.Repeat("a", 2000) + `"}`)
	resp, raw := call(t, http.MethodPut, "http://"+srv.addr+"/v1/cubbyhole/big", map[string]string{"X-Vault-Token": root}, body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("2 KB body on a 1 KB listener: %d %s", resp.StatusCode, raw)
	}
	resp, raw = call(t, http.MethodPut, "http://"+srv.addr+"/v1/cubbyhole/small", map[string]string{"X-Vault-Token": root}, []byte(`{"v":"a"}`))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("small body: %d %s", resp.StatusCode, raw)
	}
}

// TestLeaseTTLDefaults: default_lease_ttl is a new token's TTL and
// max_lease_ttl caps what a caller asks for.
func TestLeaseTTLDefaults(t *testing.T) {
	srv, root := listenerServer(t, "", "default_lease_ttl = \"1h\"\nmax_lease_ttl = \"2h\"")
	c := srv.client(root)
	sec, err := c.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	if sec.Auth.LeaseDuration != 3600 {
		t.Fatalf("token TTL = %d, want default_lease_ttl 3600", sec.Auth.LeaseDuration)
	}
	sec, err = c.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"default"}, TTL: "5h"})
	if err != nil {
		t.Fatal(err)
	}
	if sec.Auth.LeaseDuration != 7200 {
		t.Fatalf("token TTL = %d, want it capped at max_lease_ttl 7200", sec.Auth.LeaseDuration)
	}
}

// TestTLSMinVersionAndClientCerts: tls_min_version = "tls13" refuses a TLS
// 1.2 client; tls_disable_client_certs means the server never asks for a
// client certificate.
func TestTLSMinVersionAndClientCerts(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	crt, key := ca.issue(t, dir, "server", x509.ExtKeyUsageServerAuth)
	cfg := filepath.Join(dir, "config.hcl")
	write(t, cfg, fmt.Appendf(nil, `storage "inmem" {}
listener "tcp" {
  address                  = "127.0.0.1:0"
  tls_cert_file            = %q
  tls_key_file             = %q
  tls_min_version          = "tls13"
  tls_disable_client_certs = true
}
disable_mlock = true
`, crt, key))
	srv := startServer(t, Options{ConfigPaths: []string{cfg}})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	var asked atomic.Bool
	dial := func(c *tls.Config) error {
		c.RootCAs = pool
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			asked.Store(true)
			return &tls.Certificate{}, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		conn, err := (&tls.Dialer{Config: c}).DialContext(ctx, "tcp", srv.addr)
		if err == nil {
			conn.Close()
		}
		return err
	}
	if err := dial(&tls.Config{MaxVersion: tls.VersionTLS12}); err == nil {
		t.Error("a TLS 1.2 client connected to a tls13-min listener")
	}
	if err := dial(&tls.Config{}); err != nil {
		t.Fatalf("TLS 1.3 client: %v", err)
	}
	if asked.Load() {
		t.Error("the server asked for a client certificate despite tls_disable_client_certs")
	}
}

// TestRetryJoinTargets: every leader_* setting of a retry_join block, and
// the storage's retry_join_as_non_voter, reach the join request.
func TestRetryJoinTargets(t *testing.T) {
	c, err := config.Parse("c.hcl", []byte(`storage "raft" {
  path = "/r"
  retry_join_as_non_voter = true
  retry_join {
    leader_api_addr         = "https://a:8200"
    leader_tls_servername   = "vault.example"
    leader_ca_cert_file     = "/ca.pem"
    leader_client_cert_file = "/c.pem"
    leader_client_key_file  = "/k.pem"
  }
  retry_join {
    leader_api_addr    = "https://b:8200"
    leader_ca_cert     = "CA"
    leader_client_cert = "CERT"
    leader_client_key  = "KEY"
  }
}`))
	if err != nil {
		t.Fatal(err)
	}
	got := retryJoinTargets(c.Storage)
	if len(got) != 2 {
		t.Fatalf("targets = %+v", got)
	}
	a, b := got[0], got[1]
	if a.LeaderAPIAddr != "https://a:8200" || a.LeaderTLSServerName != "vault.example" || a.LeaderCACertFile != "/ca.pem" ||
		a.LeaderClientCertFile != "/c.pem" || a.LeaderClientKeyFile != "/k.pem" || !a.NonVoter {
		t.Errorf("first = %+v", a)
	}
	if b.LeaderAPIAddr != "https://b:8200" || b.LeaderCACert != "CA" || b.LeaderClientCert != "CERT" || b.LeaderClientKey != "KEY" || !b.NonVoter {
		t.Errorf("second = %+v", b)
	}
}

// TestLargeBodiesAreNotRetained: buffers taken to read large request
// bodies (up to max_request_size) are given back after each request: the
// live heap after several 24 MiB bodies is what it was before them.
func TestLargeBodiesAreNotRetained(t *testing.T) {
	srv, root := listenerServer(t, "", "")
	body := bytes.Repeat([]byte("a"), 24<<20) // not JSON: read whole, then 400
	url := "http://" + srv.addr + "/v1/cubbyhole/big"
	resp, _ := call(t, http.MethodPut, url, map[string]string{"X-Vault-Token": root}, body)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
	base := liveHeap()
	for range 6 {
		resp, _ := call(t, http.MethodPut, url, map[string]string{"X-Vault-Token": root}, body)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if grown := int64(liveHeap()) - int64(base); grown > 16<<20 {
		t.Fatalf("live heap grew by %d MiB over six 24 MiB bodies: request buffers are retained", grown>>20)
	}
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMatchingListenerValues: role = "default" and
// tls_prefer_server_cipher_suites = true describe what Strongbox does, so
// a server starts with them (other values are refused: see
// TestEveryConfigKeyHasEffectOrIsRefused).
func TestMatchingListenerValues(t *testing.T) {
	srv, root := listenerServer(t, "role = \"default\"\n  tls_prefer_server_cipher_suites = true", "")
	if _, err := srv.client(root).Sys().ListMounts(); err != nil {
		t.Fatal(err)
	}
}
