package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "agent"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})))
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// The proxy serves on a TLS TCP listener and a unix socket at once, each
// forwarding to the real server with the auto-auth token.
func TestProxyListenersTLSAndUnix(t *testing.T) {
	s := newTestServer(t)
	dir := t.TempDir()
	rid, sid := s.appRole(dir, map[string]any{"token_ttl": "1h"})
	certFile, keyFile, pool := selfSigned(t, dir)
	tlsAddr := freeAddr(t)
	sock := filepath.Join(dir, "agent.sock")
	extra := fmt.Sprintf(`
listener "tcp" {
  address       = %q
  tls_cert_file = %q
  tls_key_file  = %q
}
listener "unix" {
  address     = %q
  tls_disable = true
}
api_proxy { use_auto_auth_token = true }
`, tlsAddr, certFile, keyFile, sock)
	sink := filepath.Join(dir, "token")
	startAgent(t, agentHCL(s.addr, rid, sid, sink, extra))
	eventually(t, 20*time.Second, "the sink", func() bool { return sinkToken(sink) != "" })

	clients := map[string]*http.Client{
		"https://" + tlsAddr: {Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
		"http://unix": {Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}},
	}
	for base, hc := range clients {
		var resp *http.Response
		eventually(t, 20*time.Second, "the listener at "+base, func() bool {
			var err error
			resp, err = hc.Get(base + "/v1/auth/token/lookup-self")
			return err == nil
		})
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s lookup-self: %d", base, resp.StatusCode)
		}
	}
	// Plain HTTP on the TLS listener does not get through.
	if resp, err := http.Get("http://" + tlsAddr + "/v1/sys/health"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP served on the TLS listener")
		}
	}
	if _, err := os.Stat(sock); err != nil {
		t.Errorf("socket: %v", err)
	}
}
