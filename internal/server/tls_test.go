package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// testCA issues certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a leaf certificate and key into dir as name.crt/name.key.
func (ca *testCA) issue(t *testing.T, dir, name string, usage x509.ExtKeyUsage) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	crt, k := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	write(t, crt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	write(t, k, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	return crt, k
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTLSListener(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	caFile := filepath.Join(dir, "ca.pem")
	write(t, caFile, ca.pem)
	crt, key := ca.issue(t, dir, "server", x509.ExtKeyUsageServerAuth)
	clientCrt, clientKey := ca.issue(t, dir, "client", x509.ExtKeyUsageClientAuth)
	cfg := filepath.Join(dir, "tls.hcl")
	write(t, cfg, fmt.Appendf(nil, `
storage "inmem" {}
listener "tcp" {
  address                            = "127.0.0.1:0"
  tls_cert_file                      = %q
  tls_key_file                       = %q
  tls_client_ca_file                 = %q
  tls_require_and_verify_client_cert = true
  tls_min_version                    = "tls12"
}
disable_mlock = true
`, crt, key, caFile))
	srv := startServer(t, Options{ConfigPaths: []string{cfg}})

	newClient := func(withCert bool) *vault.Client {
		c := vault.DefaultConfig()
		c.Address = "https://" + srv.addr
		c.MaxRetries = 0
		tc := &vault.TLSConfig{CACert: caFile}
		if withCert {
			tc.ClientCert, tc.ClientKey = clientCrt, clientKey
		}
		if err := c.ConfigureTLS(tc); err != nil {
			t.Fatal(err)
		}
		cl, err := vault.NewClient(c)
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	st, err := newClient(true).Sys().SealStatus()
	if err != nil || st.Initialized {
		t.Fatalf("seal-status over mutual TLS: %+v, %v", st, err)
	}
	if _, err := newClient(false).Sys().SealStatus(); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	// Plain HTTP to the TLS port is refused.
	plain := vault.DefaultConfig()
	plain.Address = "http://" + srv.addr
	plain.MaxRetries = 0
	pc, _ := vault.NewClient(plain)
	if _, err := pc.Sys().SealStatus(); err == nil {
		t.Fatal("plain HTTP was served on a TLS listener")
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.hcl")
	write(t, bad, []byte("storage \"inmem\" {}\nlistner \"tcp\" {}\n"))
	err := Run(t.Context(), Options{ConfigPaths: []string{bad}, Logger: quietLogger()}, nil)
	if err == nil || !containsAll(err.Error(), "bad.hcl", "listner") {
		t.Fatalf("unknown key: %v", err)
	}
	missingCert := filepath.Join(dir, "nocert.hcl")
	write(t, missingCert, []byte("storage \"inmem\" {}\nlistener \"tcp\" {\n address = \"127.0.0.1:0\"\n}\n"))
	if err := Run(t.Context(), Options{ConfigPaths: []string{missingCert}, Logger: quietLogger()}, nil); err == nil {
		t.Fatal("a TLS listener without certificates started")
	}
	if err := Run(t.Context(), Options{Logger: quietLogger()}, nil); err == nil {
		t.Fatal("started without any configuration")
	}
}
