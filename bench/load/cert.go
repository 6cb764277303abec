package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/builtin/credential/cert/certtest"
)

// runCert measures TLS certificate logins (auth/cert/login, a service
// token each) against a real server with a TLS listener on file and
// one-node raft storage: over kept-alive connections (the handshake
// amortised, as a client reusing its connection does), with a new TLS
// connection per login (a full handshake each), and refused logins (a
// certificate from another CA, 400).
func runCert(dur time.Duration, dir string) error {
	ctx := context.Background()
	r := &report{}
	trivial, err := startTrivial()
	if err != nil {
		return err
	}
	defer trivial.Close()
	r.add("ceiling: trivial JSON handler c=32", load(ctx, 32, dur, getter(trivial.URL+"/v1/x", "")))
	for _, storage := range []string{"file", "raft"} {
		tmp, err := os.MkdirTemp(dir, "strongbox-load-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := certScenarios(ctx, r, tmp, storage, dur); err != nil {
			return fmt.Errorf("%s: %w", storage, err)
		}
	}
	r.add("ceiling again: trivial JSON handler c=32", load(ctx, 32, dur, getter(trivial.URL+"/v1/x", "")))
	r.printRows(os.Stdout)
	fmt.Printf("\nGOMAXPROCS %d\n", runtime.GOMAXPROCS(0))
	return nil
}

func certScenarios(ctx context.Context, r *report, dir, storage string, dur time.Duration) error {
	srvCA, err := certtest.NewCA("bench-server-ca")
	if err != nil {
		return err
	}
	srvLeaf, err := srvCA.Issue(certtest.Options{CommonName: "strongbox", ServerAuth: true})
	if err != nil {
		return err
	}
	clientCA, err := certtest.NewCA("bench-client-ca")
	if err != nil {
		return err
	}
	good, err := clientCA.Issue(certtest.Options{CommonName: "machine-1"})
	if err != nil {
		return err
	}
	otherCA, err := certtest.NewCA("bench-other-ca")
	if err != nil {
		return err
	}
	stranger, err := otherCA.Issue(certtest.Options{CommonName: "machine-1"})
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AddCert(srvCA.Cert)
	node, err := startTLSNode(ctx, dir, storage, srvLeaf, roots)
	if err != nil {
		return err
	}
	defer node.stop()
	if err := node.call(ctx, "POST", "sys/auth/cert", map[string]any{"type": "cert"}, nil); err != nil {
		return err
	}
	if err := node.call(ctx, "POST", "auth/cert/certs/bench", map[string]any{
		"certificate": clientCA.PEM, "token_policies": "default", "token_ttl": "10m", "allowed_common_names": "machine-*",
	}, nil); err != nil {
		return err
	}
	clientFor := func(leaf *certtest.Leaf, keepAlive bool) *http.Client {
		return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{leaf.TLS}, MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: 64, MaxIdleConns: 64, DisableKeepAlives: !keepAlive,
		}}
	}
	login := func(c *http.Client, want400 bool) op {
		return func(ctx context.Context, _ *http.Client, _ int, _ int64) error {
			err := do(ctx, c, http.MethodPost, node.url+"/v1/auth/cert/login", "", []byte(`{}`))
			if want400 {
				if err == nil || !strings.Contains(err.Error(), ": 400 ") {
					return fmt.Errorf("want 400, got %v", err)
				}
				return nil
			}
			return err
		}
	}
	kept := clientFor(good, true)
	for _, c := range []int{1, 32} {
		stop := profileIf(c == 32 && storage == "raft")
		r.add(fmt.Sprintf("%s: cert login c=%d", storage, c), load(ctx, c, dur, login(kept, false)))
		stop()
	}
	r.add(fmt.Sprintf("%s: cert login, new TLS connection each c=32", storage), load(ctx, 32, dur, login(clientFor(good, false), false)))
	r.add(fmt.Sprintf("%s: cert failed login (another CA) c=32", storage), load(ctx, 32, dur, login(clientFor(stranger, true), true)))
	create := []byte(`{"policies":["default"],"ttl":"10m"}`)
	admin := clientFor(good, true)
	r.add(fmt.Sprintf("%s: token create c=32", storage), load(ctx, 32, dur, func(ctx context.Context, _ *http.Client, _ int, _ int64) error {
		return do(ctx, admin, http.MethodPost, node.url+"/v1/auth/token/create", node.token, create)
	}))
	return nil
}

// startTLSNode is startNodeOn with a TLS listener serving leaf (client
// certificates requested, the listener's default).
func startTLSNode(ctx context.Context, dir, storage string, leaf *certtest.Leaf, roots *x509.CertPool) (*node, error) {
	crt, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(crt, []byte(leaf.CertPEM), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(key, []byte(leaf.KeyPEM), 0o600); err != nil {
		return nil, err
	}
	n := &node{dir: dir, client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}}
	n.cfg = filepath.Join(dir, "config.hcl")
	listener := fmt.Sprintf("listener \"tcp\" {\n  address = \"127.0.0.1:0\"\n  tls_cert_file = %q\n  tls_key_file = %q\n%%s}\n", crt, key)
	cfg := fmt.Sprintf("storage \"file\" {\n  path = %q\n}\n", filepath.Join(dir, "data")) + fmt.Sprintf(listener, "") + "disable_mlock = true\n"
	if storage == "raft" {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		cfg = fmt.Sprintf("storage \"raft\" {\n  path = %q\n  node_id = \"bench\"\n}\n", filepath.Join(dir, "raft")) +
			fmt.Sprintf(listener, fmt.Sprintf("  cluster_address = \"127.0.0.1:%d\"\n", port)) +
			fmt.Sprintf("cluster_addr = \"https://127.0.0.1:%d\"\ndisable_mlock = true\n", port)
		if err := os.MkdirAll(filepath.Join(dir, "raft"), 0o700); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(n.cfg, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	if err := n.start(ctx); err != nil {
		return nil, err
	}
	n.url = "https://" + strings.TrimPrefix(n.url, "http://")
	var init struct {
		Keys      []string `json:"keys"`
		RootToken string   `json:"root_token"`
	}
	if err := n.call(ctx, "PUT", "sys/init", map[string]any{"secret_shares": 5, "secret_threshold": 3}, &init); err != nil {
		return nil, err
	}
	n.keys, n.token = init.Keys, init.RootToken
	if err := n.unseal(ctx); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := n.call(ctx, "GET", "auth/token/lookup-self", nil, nil)
		if err == nil || time.Now().After(deadline) {
			return n, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
