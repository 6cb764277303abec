package server

import (
	"bufio"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/builtin/credential/cert/certtest"
)

// certEnv is a real server (Run, inmem storage) on a TLS listener that only
// requests client certificates, initialized and unsealed, with the cert
// method at auth/cert/ trusting clientCA.
type certEnv struct {
	t        *testing.T
	dir      string
	addr     string
	serverCA string // file
	clientCA *certtest.CA
	root     *vault.Client
	auditLog string
}

func newCertEnv(t *testing.T) *certEnv { return newCertEnvWith(t, "") }

// newCertEnvWith adds listenerExtra (HCL lines, which may name files in
// the env's directory through %[1]s) to the TLS listener.
func newCertEnvWith(t *testing.T, listenerExtra string) *certEnv {
	t.Helper()
	dir := t.TempDir()
	srvCA, err := certtest.NewCA("server-ca")
	if err != nil {
		t.Fatal(err)
	}
	srvLeaf, err := srvCA.Issue(certtest.Options{CommonName: "strongbox", ServerAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	e := &certEnv{t: t, dir: dir, serverCA: filepath.Join(dir, "server-ca.pem"), auditLog: filepath.Join(dir, "audit.log")}
	write(t, e.serverCA, []byte(srvCA.PEM))
	write(t, filepath.Join(dir, "tls.crt"), []byte(srvLeaf.CertPEM))
	write(t, filepath.Join(dir, "tls.key"), []byte(srvLeaf.KeyPEM))
	cfg := filepath.Join(dir, "config.hcl")
	write(t, cfg, fmt.Appendf(nil, `
storage "inmem" {}
listener "tcp" {
  address       = "127.0.0.1:0"
  tls_cert_file = %q
  tls_key_file  = %q
%s
}
disable_mlock = true
`, filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), strings.ReplaceAll(listenerExtra, "%[1]s", dir)))
	srv := startServer(t, Options{ConfigPaths: []string{cfg}})
	e.addr = srv.addr
	if e.clientCA, err = certtest.NewCA("client-ca"); err != nil {
		t.Fatal(err)
	}
	e.root = e.client(nil)
	_, rootToken := initUnseal(t, e.root)
	e.root.SetToken(rootToken)
	if err := e.root.Sys().EnableAuditWithOptions("file", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": e.auditLog}}); err != nil {
		t.Fatal(err)
	}
	if err := e.root.Sys().EnableAuthWithOptions("cert", &vault.EnableAuthOptions{Type: "cert"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// client is the official client over TLS, presenting leaf (none: no
// client certificate), configured as Vault's CLI does (files).
func (e *certEnv) client(leaf *certtest.Leaf) *vault.Client {
	e.t.Helper()
	return certClient(e.t, "https://"+e.addr, e.serverCA, leaf)
}

func certClient(t *testing.T, addr, serverCA string, leaf *certtest.Leaf) *vault.Client {
	t.Helper()
	cfg := vault.DefaultConfig()
	cfg.Address = addr
	cfg.MaxRetries = 0
	tc := &vault.TLSConfig{CACert: serverCA}
	if leaf != nil {
		dir := t.TempDir()
		tc.ClientCert, tc.ClientKey = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
		write(t, tc.ClientCert, []byte(leaf.CertPEM))
		write(t, tc.ClientKey, []byte(leaf.KeyPEM))
	}
	if err := cfg.ConfigureTLS(tc); err != nil {
		t.Fatal(err)
	}
	c, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.ClearToken()
	return c
}

func (e *certEnv) issue(ca *certtest.CA, o certtest.Options) *certtest.Leaf {
	e.t.Helper()
	l, err := ca.Issue(o)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// TestCertLoginEndToEnd drives the cert method with the official client
// over a real TLS listener: a login with a good certificate, what token
// lookup shows, renewal bound to the certificate, and every refusal (400
// with Vault's message, audited; never a failed handshake).
func TestCertLoginEndToEnd(t *testing.T) {
	e := newCertEnv(t)
	lg := e.root.Logical()
	if err := e.root.Sys().PutPolicy("dev", `path "secret/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	if _, err := lg.Write("auth/cert/certs/web", map[string]any{
		"certificate": e.clientCA.PEM, "display_name": "web-app", "policies": "dev", "ttl": "1h",
		"allowed_common_names": "svc-*", "allowed_dns_sans": "*.svc.test", "allowed_organizational_units": "eng",
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := lg.Write("auth/cert/certs/ext", map[string]any{
		"certificate": e.clientCA.PEM, "allowed_common_names": "ext-*", "required_extensions": "1.2.3.4.5:prod",
	}); err != nil {
		t.Fatal(err)
	}
	web, err := lg.Read("auth/cert/certs/web")
	if err != nil || web.Data["display_name"] != "web-app" || !equalJSON(web.Data["policies"], []any{"dev"}) || !equalJSON(web.Data["token_policies"], []any{"dev"}) {
		t.Fatalf("read certs/web: %v %v", web, err)
	}

	good := certtest.Options{CommonName: "svc-1", DNSNames: []string{"a.svc.test"}, OUs: []string{"eng"}}
	leaf := e.issue(e.clientCA, good)
	cl := e.client(leaf)
	secret, err := cl.Logical().Write("auth/cert/login", nil)
	if err != nil {
		t.Fatal(err)
	}
	a := secret.Auth
	if a == nil || a.ClientToken == "" || !a.Renewable || a.LeaseDuration != 3600 || !slices.Equal(a.Policies, []string{"default", "dev"}) ||
		a.Metadata["cert_name"] != "web" || a.Metadata["common_name"] != "svc-1" || a.Metadata["serial_number"] != leaf.Cert.SerialNumber.String() {
		t.Fatalf("login auth = %+v", a)
	}
	cl.SetToken(a.ClientToken)
	look, err := cl.Auth().Token().LookupSelf()
	if err != nil {
		t.Fatal(err)
	}
	if look.Data["display_name"] != "cert-web-app" || look.Data["path"] != "auth/cert/login" {
		t.Fatalf("lookup-self = %v", look.Data)
	}
	// Renewal with the login's certificate works; another certificate
	// of the same CA may not renew the token.
	if _, err := cl.Auth().Token().RenewSelf(600); err != nil {
		t.Fatalf("renew-self with the login's certificate: %v", err)
	}
	other := e.client(e.issue(e.clientCA, good))
	other.SetToken(a.ClientToken)
	_, err = other.Auth().Token().RenewSelf(600)
	wantStatus(t, err, 400, "client identity during renewal not matching client identity used during login")

	// name= picks the entry.
	extOK := e.issue(e.clientCA, certtest.Options{CommonName: "ext-1", Extensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4, 5}, Value: asnString(t, "prod")}}})
	s, err := e.client(extOK).Logical().Write("auth/cert/login", map[string]any{"name": "ext"})
	if err != nil || s.Auth.Metadata["cert_name"] != "ext" {
		t.Fatalf("login name=ext: %v %v", s, err)
	}

	revoked := e.issue(e.clientCA, good)
	crl, _, err := e.clientCA.CRL(revoked.Cert.SerialNumber)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lg.Write("auth/cert/crls/client-ca", map[string]any{"crl": crl}); err != nil {
		t.Fatal(err)
	}
	anotherCA, err := certtest.NewCA("another-ca")
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(*certtest.Options)) certtest.Options { o := good; f(&o); return o }
	const noMatch = "no chain matching all constraints could be found for this login certificate"
	for _, tc := range []struct {
		name string
		leaf *certtest.Leaf
		msg  string
	}{
		{"another CA", e.issue(anotherCA, good), "invalid certificate or no client certificate supplied"},
		{"expired", e.issue(e.clientCA, with(func(o *certtest.Options) {
			o.NotBefore, o.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)
		})), "failed to verify client's certificate: x509: certificate has expired"},
		{"revoked", revoked, noMatch},
		{"common name", e.issue(e.clientCA, with(func(o *certtest.Options) { o.CommonName = "intruder" })), noMatch},
		{"DNS SAN", e.issue(e.clientCA, with(func(o *certtest.Options) { o.DNSNames = []string{"x.evil.test"} })), noMatch},
		{"OU", e.issue(e.clientCA, with(func(o *certtest.Options) { o.OUs = []string{"sales"} })), noMatch},
		{"required extension missing", e.issue(e.clientCA, certtest.Options{CommonName: "ext-2"}), noMatch},
		{"no certificate", nil, "client certificate must be supplied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client(tc.leaf).Logical().Write("auth/cert/login", nil)
			wantStatus(t, err, 400, tc.msg)
		})
	}
	// The revoked certificate is refused under its own entry too.
	_, err = e.client(revoked).Logical().Write("auth/cert/login", map[string]any{"name": "web"})
	wantStatus(t, err, 400, noMatch)

	// Every refusal is in the audit log with its error.
	raw, err := os.ReadFile(e.auditLog)
	if err != nil {
		t.Fatal(err)
	}
	errs := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ent struct {
			Type    string `json:"type"`
			Error   string `json:"error"`
			Request struct {
				Path string `json:"path"`
			} `json:"request"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ent); err != nil {
			t.Fatal(err)
		}
		if ent.Type == "response" && ent.Request.Path == "auth/cert/login" && ent.Error != "" {
			errs[ent.Error]++
		}
	}
	if errs[noMatch] != 6 || errs["invalid certificate or no client certificate supplied"] != 1 || errs["client certificate must be supplied"] != 1 {
		t.Fatalf("audited login errors: %v", errs)
	}
	if strings.Contains(string(raw), a.ClientToken) {
		t.Fatal("a login's token is in clear in the audit log")
	}
}

// TestCertLoginWithClientCAFile: tls_client_ca_file without
// tls_require_and_verify_client_cert does not make the listener refuse,
// in the handshake, a certificate of another CA (Vault enforces the file
// only with require_and_verify): the cert method judges it.
func TestCertLoginWithClientCAFile(t *testing.T) {
	e := newCertEnvWith(t, `  tls_client_ca_file = "%[1]s/server-ca.pem"`)
	if _, err := e.root.Logical().Write("auth/cert/certs/web", map[string]any{"certificate": e.clientCA.PEM}); err != nil {
		t.Fatal(err)
	}
	s, err := e.client(e.issue(e.clientCA, certtest.Options{CommonName: "svc"})).Logical().Write("auth/cert/login", nil)
	if err != nil || s.Auth == nil {
		t.Fatalf("login with a certificate the listener's CA file does not hold: %v", err)
	}
	other, err := certtest.NewCA("other")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client(e.issue(other, certtest.Options{CommonName: "svc"})).Logical().Write("auth/cert/login", nil)
	wantStatus(t, err, 400, "invalid certificate or no client certificate supplied")
}

// TestCertLoginPlainHTTP: over a listener without TLS the method answers
// 400 "tls connection required".
func TestCertLoginPlainHTTP(t *testing.T) {
	root, addr := startEngineServer(t)
	if err := root.Sys().EnableAuthWithOptions("cert", &vault.EnableAuthOptions{Type: "cert"}); err != nil {
		t.Fatal(err)
	}
	_, err := userpassClient(t, addr, "").Logical().Write("auth/cert/login", nil)
	wantStatus(t, err, 400, "tls connection required")
}

func asnString(t *testing.T, s string) []byte {
	t.Helper()
	b, err := asn1.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
