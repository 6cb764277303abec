package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/cluster"
	"github.com/strongbox/strongbox/internal/config"
)

// TestRaftListenerKeys runs one raft node with two listeners: the first
// with redact_addresses (sys/leader leaves the leader's addresses blank),
// the second without; enable_response_header_raft_node_id adds the node
// id to responses. The node also runs with cluster_cipher_suites set.
func TestRaftListenerKeys(t *testing.T) {
	ports := freeLocalPorts(t, 3)
	dir := t.TempDir()
	body := fmt.Sprintf(`storage "raft" {
  path    = %q
  node_id = "n1"
}
listener "tcp" {
  address          = "127.0.0.1:%d"
  cluster_address  = "127.0.0.1:%d"
  tls_disable      = true
  redact_addresses = true
}
listener "tcp" {
  address     = "127.0.0.1:%d"
  tls_disable = true
}
api_addr              = "http://127.0.0.1:%d"
cluster_addr          = "https://127.0.0.1:%d"
cluster_cipher_suites = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
disable_mlock         = true
enable_response_header_raft_node_id = true
`, filepath.Join(dir, "raft"), ports[0], ports[1], ports[2], ports[0], ports[1])
	cfg := filepath.Join(dir, "config.hcl")
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, Options{ConfigPaths: []string{cfg}})
	c := srv.client("")
	init, err := c.Sys().Init(&vault.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	unseal(t, c, init.Keys)
	plain := fmt.Sprintf("http://127.0.0.1:%d/v1/sys/leader", ports[2])
	redacted := fmt.Sprintf("http://127.0.0.1:%d/v1/sys/leader", ports[0])
	leader := func(url string) map[string]any {
		t.Helper()
		resp, b := call(t, http.MethodGet, url, nil, nil)
		var m map[string]any
		if resp.StatusCode != 200 || jsonInto(b, &m) != nil {
			t.Fatalf("sys/leader: %d %s", resp.StatusCode, b)
		}
		return m
	}
	deadline := time.Now().Add(60 * time.Second)
	for leader(plain)["leader_address"] == "" {
		if time.Now().After(deadline) {
			t.Fatal("no leader advertised within 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if m := leader(plain); m["leader_address"] != fmt.Sprintf("http://127.0.0.1:%d", ports[0]) || m["leader_cluster_address"] == "" {
		t.Fatalf("plain listener sys/leader = %v", m)
	}
	if m := leader(redacted); m["leader_address"] != "" || m["leader_cluster_address"] != "" || m["ha_enabled"] != true {
		t.Fatalf("redacted listener sys/leader = %v", m)
	}
	resp, _ := call(t, http.MethodGet, plain, nil, nil)
	if got := resp.Header.Get("X-Vault-Raft-Node-ID"); got != "n1" {
		t.Fatalf("X-Vault-Raft-Node-ID = %q, want n1", got)
	}

}

// TestClusterCipherSuites: cluster_cipher_suites reaches both sides of the
// cluster port's TLS (server and client configurations of every protocol).
// Go fixes TLS 1.3's suites, so, as in Vault, the list binds TLS 1.2
// handshakes; Strongbox nodes negotiate TLS 1.3 with each other.
func TestClusterCipherSuites(t *testing.T) {
	suites, err := config.CipherSuites("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
	if err != nil {
		t.Fatal(err)
	}
	set := &cluster.TLSConfigSet{}
	set.SetServer(cluster.ProtoRaft, &tls.Config{MinVersion: tls.VersionTLS12})
	set.SetClient(cluster.ProtoRaft, &tls.Config{MinVersion: tls.VersionTLS12})
	lt := &lateTLS{suites: suites}
	lt.set(set)
	sc, err := lt.ServerConfig(cluster.ProtoRaft)
	if err != nil || len(sc.CipherSuites) != 2 || sc.CipherSuites[0] != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 {
		t.Fatalf("server config suites = %v, %v", sc, err)
	}
	cc, err := lt.ClientConfig(cluster.ProtoRaft, "x")
	if err != nil || len(cc.CipherSuites) != 2 {
		t.Fatalf("client config suites = %v, %v", cc, err)
	}
	// The provider's own configuration is not changed.
	if base, _ := set.ServerConfig(cluster.ProtoRaft); len(base.CipherSuites) != 0 {
		t.Fatal("the provider's configuration was modified")
	}
	// A name Go does not know is refused at start, with its line.
	p := listenerConfig(t, t.TempDir(), "", `cluster_cipher_suites = "TLS_NOT_A_SUITE"`)
	err = Run(context.Background(), Options{ConfigPaths: []string{p}, Logger: quietLogger()}, nil)
	if err == nil || !strings.Contains(err.Error(), "config.hcl:10: cluster_cipher_suites: unknown cipher suite \"TLS_NOT_A_SUITE\"") {
		t.Fatalf("Run = %v", err)
	}
}
