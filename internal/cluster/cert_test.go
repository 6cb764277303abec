package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"net"
	"slices"
	"testing"
)

func TestGenerateCert(t *testing.T) {
	certPEM, keyPEM, err := GenerateCert("active.cluster", []string{"127.0.0.1", "node1.example", "::1", ""})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("X509KeyPair: %v", err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P521() {
		t.Fatalf("key is %T, want ECDSA P-521", cert.PublicKey)
	}
	if cert.Subject.CommonName != "active.cluster" {
		t.Errorf("CN = %q", cert.Subject.CommonName)
	}
	if !slices.Equal(cert.DNSNames, []string{"node1.example"}) {
		t.Errorf("DNSNames = %v", cert.DNSNames)
	}
	if len(cert.IPAddresses) != 2 || !cert.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) || !cert.IPAddresses[1].Equal(net.IPv6loopback) {
		t.Errorf("IPAddresses = %v", cert.IPAddresses)
	}
	// Self-signed and trusted as its own root for both directions.
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "node1.example", KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("verify for usage %v: %v", usage, err)
		}
	}
	// Each call makes a new key.
	_, keyPEM2, err := GenerateCert("active.cluster", nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(keyPEM2) == string(keyPEM) {
		t.Error("two calls returned the same key")
	}
}

func TestParseECKey(t *testing.T) {
	_, keyPEM, err := GenerateCert("x", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"pkcs8", string(keyPEM), true},
		{"not pem", "garbage", false},
		{"wrong block", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", false},
		{"bad der", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseECKey([]byte(tc.in))
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
