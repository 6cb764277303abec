package transit

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func base() map[string]string {
	return map[string]string{
		"address": "http://127.0.0.1:8200", "token": "s.stanza", "key_name": "stanza-key", "mount_path": "transit/",
	}
}

func TestParseConfigPrecedence(t *testing.T) {
	// The stanza alone.
	c, err := parseConfig(base(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.address != "http://127.0.0.1:8200" || c.token != "s.stanza" || c.keyName != "stanza-key" ||
		c.mountPath != "transit" || c.disableRenewal || c.tls != nil {
		t.Fatalf("parsed %+v", c)
	}
	// tls_skip_verify = "false" with an http address asks for nothing.
	conf := base()
	conf["tls_skip_verify"] = "false"
	if c, err := parseConfig(conf, nil); err != nil || c.tls != nil {
		t.Fatalf("tls_skip_verify = false with http: %+v %v", c, err)
	}

	// The seal's own variables and VAULT_TOKEN override the stanza; the
	// stanza's address overrides VAULT_ADDR.
	c, err = parseConfig(base(), envOf(
		"VAULT_TRANSIT_SEAL_KEY_NAME", "env-key", "VAULT_TRANSIT_SEAL_MOUNT_PATH", "/seal-transit/",
		"VAULT_TRANSIT_SEAL_DISABLE_RENEWAL", "true", "VAULT_TOKEN", "s.env", "VAULT_ADDR", "http://10.0.0.1:8200"))
	if err != nil {
		t.Fatal(err)
	}
	if c.keyName != "env-key" || c.mountPath != "seal-transit" || !c.disableRenewal || c.token != "s.env" ||
		c.address != "http://127.0.0.1:8200" {
		t.Fatalf("with the environment %+v", c)
	}

	// The environment fills what the stanza leaves out.
	c, err = parseConfig(map[string]string{}, envOf(
		"VAULT_ADDR", "https://kms.example:8200/", "VAULT_TOKEN", "s.env", "VAULT_TRANSIT_SEAL_KEY_NAME", "k",
		"VAULT_TRANSIT_SEAL_MOUNT_PATH", "transit", "VAULT_TLS_SERVER_NAME", "kms.internal", "VAULT_SKIP_VERIFY", "true"))
	if err != nil {
		t.Fatal(err)
	}
	if c.address != "https://kms.example:8200" || c.tls == nil || c.tls.ServerName != "kms.internal" || !c.tls.InsecureSkipVerify {
		t.Fatalf("from the environment %+v tls %+v", c, c.tls)
	}
	// ... and the stanza's TLS settings win over it.
	conf = base()
	conf["address"] = "https://kms.example:8200"
	conf["tls_server_name"] = "stanza.internal"
	conf["tls_skip_verify"] = "false"
	c, err = parseConfig(conf, envOf("VAULT_TLS_SERVER_NAME", "env.internal", "VAULT_SKIP_VERIFY", "true"))
	if err != nil {
		t.Fatal(err)
	}
	if c.tls.ServerName != "stanza.internal" || c.tls.InsecureSkipVerify {
		t.Fatalf("stanza TLS over the environment: %+v", c.tls)
	}
}

func TestParseConfigRefusals(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	with := func(kv ...string) map[string]string {
		c := base()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(c, kv[i])
			} else {
				c[kv[i]] = kv[i+1]
			}
		}
		return c
	}
	cases := []struct {
		name string
		conf map[string]string
		env  func(string) string
		key  string
		has  string
	}{
		{"missing key_name", with("key_name", ""), nil, "key_name", "is required"},
		{"missing token", with("token", ""), nil, "token", "is required"},
		{"missing address", with("address", ""), nil, "address", "is required"},
		{"missing mount_path", with("mount_path", "/"), nil, "mount_path", "is required"},
		{"bad address", with("address", "127.0.0.1:8200"), nil, "address", "not an http(s) URL"},
		{"unknown key", with("key_id_prefix", "x"), nil, "key_id_prefix", "not a setting of the transit seal"},
		{"namespace", with("namespace", "ns1/"), nil, "namespace", "namespaces are not built into Strongbox"},
		{"namespace from the environment", base(), envOf("VAULT_NAMESPACE", "ns1"), "namespace", "(from VAULT_NAMESPACE)"},
		{"bad disable_renewal", with("disable_renewal", "maybe"), nil, "disable_renewal", `expected a boolean, got "maybe"`},
		{"bad disable_renewal from env", base(), envOf("VAULT_TRANSIT_SEAL_DISABLE_RENEWAL", "nope"), "disable_renewal", "(from VAULT_TRANSIT_SEAL_DISABLE_RENEWAL)"},
		{"missing CA file", with("address", "https://h:1", "tls_ca_cert", filepath.Join(dir, "absent.pem")), nil, "tls_ca_cert", "no such file"},
		{"CA file without PEM", with("address", "https://h:1", "tls_ca_cert", notPEM), nil, "tls_ca_cert", "holds no PEM certificate"},
		{"client cert without key", with("address", "https://h:1", "tls_client_cert", notPEM), nil, "tls_client_cert", "needs tls_client_key"},
		{"bad client pair", with("address", "https://h:1", "tls_client_cert", notPEM, "tls_client_key", notPEM), nil, "tls_client_cert", "load"},
		{"bad tls_skip_verify", with("address", "https://h:1", "tls_skip_verify", "perhaps"), nil, "tls_skip_verify", "expected a boolean"},
		{"TLS setting with http", with("tls_server_name", "x"), nil, "tls_server_name", "the address is http"},
		{"tls_skip_verify with http", with("tls_skip_verify", "true"), nil, "tls_skip_verify", "the address is http"},
		{"bad tls_skip_verify with http", with("tls_skip_verify", "nah"), nil, "tls_skip_verify", "expected a boolean"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig(tc.conf, tc.env)
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrConfig) || ce.Key != tc.key || !strings.Contains(err.Error(), tc.has) {
				t.Fatalf("error %v (key %v), want key %s saying %q", err, ce, tc.key, tc.has)
			}
			// New refuses it the same way, before starting anything.
			if w, err := New(context.Background(), tc.conf, tc.env, nil); w != nil || !errors.Is(err, ErrConfig) {
				t.Fatalf("New: %v %v", w, err)
			}
		})
	}
}

// A CA file and a client pair that load are used.
func TestParseConfigTLSFiles(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := base()
	conf["address"] = "https://h:1"
	conf["tls_ca_cert"] = certFile
	c, err := parseConfig(conf, envOf("VAULT_CLIENT_CERT", certFile, "VAULT_CLIENT_KEY", keyFile))
	if err != nil {
		t.Fatal(err)
	}
	if c.tls.RootCAs == nil || len(c.tls.Certificates) != 1 {
		t.Fatalf("tls %+v", c.tls)
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}
