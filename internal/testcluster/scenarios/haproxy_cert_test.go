package scenarios

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/builtin/credential/cert/certtest"
	"github.com/strongbox/strongbox/internal/testcluster"
)

// TestHAProxyCertLogin: behind HAProxy in TCP mode (TLS passes through to
// the nodes) a cert login lands on any node of a three-node raft cluster,
// standbys included (they forward it with the client's certificate), and
// succeeds; a certificate from another CA is refused with 400 wherever it
// lands.
func TestHAProxyCertLogin(t *testing.T) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatal("haproxy is not installed: run scripts/test-deps.sh (apt-get install haproxy)")
	}
	dir := t.TempDir()
	srvCA, err := certtest.NewCA("server-ca")
	if err != nil {
		t.Fatal(err)
	}
	srvLeaf, err := srvCA.Issue(certtest.Options{CommonName: "strongbox", ServerAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	caFile, crtFile, keyFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	for f, body := range map[string]string{caFile: srvCA.PEM, crtFile: srvLeaf.CertPEM, keyFile: srvLeaf.KeyPEM} {
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Each node gets a second listener, with TLS, that only requests
	// client certificates (the default).
	var mu sync.Mutex
	tlsAddrs := map[string]string{}
	c := testcluster.NewCluster(t, testcluster.Options{
		Nodes: 3, Storage: "raft", StorageConfig: "performance_multiplier = 1", LogLevel: "info",
		NodeConfig: func(id string) string {
			addr := freeAddr(t)
			mu.Lock()
			tlsAddrs[id] = addr
			mu.Unlock()
			return fmt.Sprintf("listener \"tcp\" {\n  address = %q\n  tls_cert_file = %q\n  tls_key_file = %q\n}\n",
				addr, crtFile, keyFile)
		},
	})
	c.Init(t)
	c.UnsealAll(t)
	active := c.WaitForActive(t, 30*time.Second)
	c.WaitForStandbys(t, 30*time.Second)
	waitPeers(t, c, active, 3)

	clientCA, err := certtest.NewCA("client-ca")
	if err != nil {
		t.Fatal(err)
	}
	root := active.Client(c.RootToken())
	if err := root.Sys().EnableAuthWithOptions("cert", &vault.EnableAuthOptions{Type: "cert"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/cert/certs/clients", map[string]any{
		"certificate": clientCA.PEM, "display_name": "machines", "token_policies": "default",
	}); err != nil {
		t.Fatal(err)
	}
	good, err := clientCA.Issue(certtest.Options{CommonName: "machine-1"})
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := certtest.NewCA("other-ca")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := otherCA.Issue(certtest.Options{CommonName: "machine-1"})
	if err != nil {
		t.Fatal(err)
	}

	// Straight to each node's TLS listener: every node logs the
	// certificate in, the standbys through forwarding.
	for _, n := range c.Nodes() {
		mu.Lock()
		addr := tlsAddrs[n.ID()]
		mu.Unlock()
		s, err := tlsCertClient(t, "https://"+addr, caFile, good).Logical().Write("auth/cert/login", nil)
		if err != nil || s.Auth == nil || s.Auth.Metadata["common_name"] != "machine-1" {
			t.Fatalf("cert login on %s: %v %v", n.ID(), s, err)
		}
	}

	// HAProxy in TCP mode, round robin over the three TLS listeners.
	listen := freeAddr(t)
	sock := filepath.Join(dir, "hap.sock")
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "global\n    maxconn 256\n    stats socket %s level admin\n", sock)
	cfg.WriteString("defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 30s\n    timeout server 30s\n")
	fmt.Fprintf(&cfg, "frontend strongbox_tls\n    bind %s\n    default_backend nodes\n", listen)
	cfg.WriteString("backend nodes\n    balance roundrobin\n    default-server inter 500ms fall 1 rise 1\n")
	for _, n := range c.Nodes() {
		fmt.Fprintf(&cfg, "    server %s %s check\n", n.ID(), tlsAddrs[n.ID()])
	}
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("haproxy rejects the config: %v\n%s", err, out)
	}
	proc := exec.Command(bin, "-db", "-f", cfgPath)
	logf, _ := os.Create(filepath.Join(dir, "haproxy.log"))
	proc.Stdout, proc.Stderr = logf, logf
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proc.Process.Kill(); _ = proc.Wait() })
	waitHAProxyUp(t, sock, 3)
	before := haproxySessions(t, sock)

	// A new TCP connection per login, so the balancer spreads them.
	const logins = 9
	for i := range logins {
		cl := tlsCertClient(t, "https://"+listen, caFile, good)
		s, err := cl.Logical().Write("auth/cert/login", nil)
		if err != nil || s.Auth == nil {
			t.Fatalf("login %d through HAProxy: %v", i, err)
		}
		cl.SetToken(s.Auth.ClientToken)
		look, err := cl.Auth().Token().LookupSelf()
		if err != nil || look.Data["display_name"] != "cert-machines" || look.Data["path"] != "auth/cert/login" {
			t.Fatalf("lookup through HAProxy: %v %v", look, err)
		}
	}
	for i := range 3 {
		_, err := tlsCertClient(t, "https://"+listen, caFile, stranger).Logical().Write("auth/cert/login", nil)
		var re *vault.ResponseError
		if !errors.As(err, &re) || re.StatusCode != 400 || !strings.Contains(strings.Join(re.Errors, " "), "invalid certificate or no client certificate supplied") {
			t.Fatalf("login %d with another CA's certificate: %v", i, err)
		}
	}
	after := haproxySessions(t, sock)
	for _, n := range c.Nodes() {
		if after[n.ID()]-before[n.ID()] < 1 {
			t.Fatalf("no connection reached %s through HAProxy: before %v after %v", n.ID(), before, after)
		}
	}
	t.Logf("HAProxy sessions per node during the logins: before %v, after %v", before, after)
}

// tlsCertClient is the official client over TLS presenting leaf, with
// keep-alives off (one TCP connection per request).
func tlsCertClient(t *testing.T, addr, caFile string, leaf *certtest.Leaf) *vault.Client {
	t.Helper()
	dir := t.TempDir()
	crt, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(crt, []byte(leaf.CertPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte(leaf.KeyPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := vault.DefaultConfig()
	cfg.Address = addr
	cfg.MaxRetries = 0
	cfg.Timeout = 10 * time.Second
	if err := cfg.ConfigureTLS(&vault.TLSConfig{CACert: caFile, ClientCert: crt, ClientKey: key}); err != nil {
		t.Fatal(err)
	}
	cfg.HttpClient.Transport.(*http.Transport).DisableKeepAlives = true
	cl, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cl.ClearToken()
	return cl
}

// haproxyStat runs "show stat" on the admin socket: one record per
// proxy/server line, by column name.
func haproxyStat(sock string) ([]map[string]string, error) {
	conn, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "show stat\n"); err != nil {
		return nil, err
	}
	br := bufio.NewReader(conn)
	head, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	cols := strings.Split(strings.TrimPrefix(strings.TrimSpace(head), "# "), ",")
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1
	var out []map[string]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		for i, v := range rec {
			if i < len(cols) {
				m[cols[i]] = v
			}
		}
		out = append(out, m)
	}
}

func waitHAProxyUp(t *testing.T, sock string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		recs, err := haproxyStat(sock)
		up := 0
		for _, m := range recs {
			if m["pxname"] == "nodes" && m["svname"] != "BACKEND" && m["svname"] != "FRONTEND" && strings.HasPrefix(m["status"], "UP") {
				up++
			}
		}
		if up == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("HAProxy: %d of %d servers up (%v)", up, n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// haproxySessions is the total sessions HAProxy sent to each server.
func haproxySessions(t *testing.T, sock string) map[string]int {
	t.Helper()
	recs, err := haproxyStat(sock)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, m := range recs {
		if m["pxname"] == "nodes" && m["svname"] != "BACKEND" && m["svname"] != "FRONTEND" {
			out[m["svname"]], _ = strconv.Atoi(m["stot"])
		}
	}
	return out
}
