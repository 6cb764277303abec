package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// rawRequest writes prefix (a PROXY header or nothing) and an HTTP request
// on a fresh connection and returns the status, or the read error when the
// server closed the connection.
func rawRequest(t *testing.T, addr string, prefix []byte, path, token string) (int, error) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: x\r\nX-Vault-Token: %s\r\nConnection: close\r\n\r\n", path, token)
	if _, err := conn.Write(append(append([]byte{}, prefix...), req...)); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func proxyV2(t *testing.T, src string) []byte {
	t.Helper()
	h := proxyproto.HeaderProxyFromAddrs(2, &net.TCPAddr{IP: net.ParseIP(src), Port: 40000}, &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8200})
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestProxyProtocol: use_always takes the client address from a PROXY v1
// or v2 header (audit's remote_address shows it); allow_authorized ignores
// a header from an unauthorized peer; deny_unauthorized closes such a
// peer's connections and goes on serving.
func TestProxyProtocol(t *testing.T) {
	t.Run("use_always", func(t *testing.T) {
		srv, root := listenerServer(t, `proxy_protocol_behavior = "use_always"`, "")
		auditLog := enableFileAudit(t, srv.client(root))
		if st, err := rawRequest(t, srv.addr, []byte("PROXY TCP4 198.51.100.9 127.0.0.1 5555 8200\r\n"), "/v1/sys/mounts", root); err != nil || st != 200 {
			t.Fatalf("PROXY v1: %d %v", st, err)
		}
		if st, err := rawRequest(t, srv.addr, proxyV2(t, "198.51.100.10"), "/v1/sys/policy", root); err != nil || st != 200 {
			t.Fatalf("PROXY v2: %d %v", st, err)
		}
		if got := auditRemoteAddrs(t, auditLog, "sys/mounts"); len(got) != 1 || got[0] != "198.51.100.9" {
			t.Errorf("v1 remote_address = %q", got)
		}
		if got := auditRemoteAddrs(t, auditLog, "sys/policy"); len(got) != 1 || got[0] != "198.51.100.10" {
			t.Errorf("v2 remote_address = %q", got)
		}
	})
	t.Run("allow_authorized", func(t *testing.T) {
		srv, root := listenerServer(t, `
  proxy_protocol_behavior         = "allow_authorized"
  proxy_protocol_authorized_addrs = "10.0.0.1"`, "")
		auditLog := enableFileAudit(t, srv.client(root))
		if st, err := rawRequest(t, srv.addr, []byte("PROXY TCP4 198.51.100.9 127.0.0.1 5555 8200\r\n"), "/v1/sys/mounts", root); err != nil || st != 200 {
			t.Fatalf("PROXY v1 from an unauthorized peer: %d %v", st, err)
		}
		if got := auditRemoteAddrs(t, auditLog, "sys/mounts"); len(got) != 1 || got[0] != "127.0.0.1" {
			t.Errorf("remote_address = %q, want the peer's own address", got)
		}
	})
	t.Run("deny_unauthorized", func(t *testing.T) {
		dir := t.TempDir()
		srv := startServer(t, Options{ConfigPaths: []string{listenerConfig(t, dir, `
  proxy_protocol_behavior         = "deny_unauthorized"
  proxy_protocol_authorized_addrs = "10.0.0.1"`, "")}})
		for i := range 3 {
			st, err := rawRequest(t, srv.addr, nil, "/v1/sys/health", "")
			if err == nil {
				t.Fatalf("attempt %d: an unauthorized peer got an answer (%d)", i, st)
			}
		}
		select {
		case err := <-srv.done:
			t.Fatalf("the server stopped after refusing connections: %v", err)
		default:
		}
	})
}

// TestSlowBodyIsCut: a body trickled one byte at a time is cut at
// http_read_timeout: the connection is closed or answered with a 4xx,
// never a 5xx, and the server keeps serving.
func TestSlowBodyIsCut(t *testing.T) {
	srv, root := listenerServer(t, `http_read_timeout = "1s"`, "")
	conn, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /v1/secret/x HTTP/1.1\r\nHost: x\r\nX-Vault-Token: %s\r\nContent-Length: 100000\r\n\r\n{", root)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	switch {
	case err != nil:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the trickled body was not cut within 30s")
		}
	case resp.StatusCode >= 500 || resp.StatusCode < 400:
		t.Fatalf("trickled body answered %d, want a 4xx or a closed connection", resp.StatusCode)
	}
	if _, err := srv.client(root).Sys().ListMounts(); err != nil {
		t.Fatalf("the server stopped serving: %v", err)
	}
}

// TestHeaderAndIdleTimeouts: a connection that never finishes its headers
// is closed at http_read_header_timeout; an idle keep-alive connection at
// http_idle_timeout.
func TestHeaderAndIdleTimeouts(t *testing.T) {
	srv, _ := listenerServer(t, `
  http_read_header_timeout = "1s"
  http_idle_timeout        = "1s"`, "")
	closedWithin := func(conn net.Conn, what string) {
		t.Helper()
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err := io.Copy(io.Discard, conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s: the connection was still open after 30s", what)
		}
	}
	conn, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n")
	closedWithin(conn, "unfinished headers")

	idle, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fmt.Fprint(idle, "GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(idle)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_ = idle.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err = io.Copy(io.Discard, br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("idle keep-alive connection still open after 30s")
	}
}

// TestTLSVersionsAndCiphers: tls_max_version = "tls12" refuses a TLS 1.3
// only client; tls_cipher_suites refuses a TLS 1.2 client offering only
// other suites.
func TestTLSVersionsAndCiphers(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	crt, key := ca.issue(t, dir, "server", x509.ExtKeyUsageServerAuth)
	cfg := filepath.Join(dir, "config.hcl")
	body := fmt.Sprintf(`storage "inmem" {}
listener "tcp" {
  address           = "127.0.0.1:0"
  tls_cert_file     = %q
  tls_key_file      = %q
  tls_max_version   = "tls12"
  tls_cipher_suites = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
}
disable_mlock = true
`, crt, key)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, Options{ConfigPaths: []string{cfg}})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	dial := func(c *tls.Config) error {
		c.RootCAs = pool
		d := &tls.Dialer{Config: c}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		conn, err := d.DialContext(ctx, "tcp", srv.addr)
		if err == nil {
			conn.Close()
		}
		return err
	}
	if err := dial(&tls.Config{MinVersion: tls.VersionTLS13}); err == nil {
		t.Error("a TLS 1.3-only client connected to a tls12-max listener")
	}
	if err := dial(&tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}); err == nil {
		t.Error("a client offering only a suite outside tls_cipher_suites connected")
	}
	if err := dial(&tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}}); err != nil {
		t.Errorf("a client offering the configured suite: %v", err)
	}
}

// TestUnixListener: a unix listener serves the API on its socket path with
// socket_mode, socket_user and socket_group applied; the socket is gone
// after shutdown.
func TestUnixListener(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	cfg := filepath.Join(dir, "config.hcl")
	body := fmt.Sprintf(`storage "inmem" {}
listener "unix" {
  type         = "unix"
  address      = %q
  tls_disable  = true
  socket_mode  = "0600"
  socket_user  = "%d"
  socket_group = "%d"
}
disable_mlock = true
`, sock, os.Getuid(), os.Getgid())
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, Options{ConfigPaths: []string{cfg}})
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Mode().Type() != os.ModeSocket {
		t.Fatalf("socket mode = %v, want 0600 socket", fi.Mode())
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := hc.Get("http://unix/v1/sys/health")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented || !strings.Contains(string(b), `"initialized":false`) {
		t.Fatalf("health over the socket: %d %s", resp.StatusCode, b)
	}
	srv.stop()
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left behind after shutdown: %v", err)
	}
}
