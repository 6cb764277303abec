package cert

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/builtin/credential/cert/certtest"
	"github.com/strongbox/strongbox/internal/logical"
)

func TestLoginSuccess(t *testing.T) {
	e := newEnv(t)
	ca := mustCA(t, "root")
	e.OK(logical.UpdateOperation, "certs/web", map[string]any{
		"certificate": ca.PEM, "display_name": "webapp", "token_policies": "dev", "token_ttl": "1h",
		"allowed_common_names": "*.example.com",
	})
	leaf := mustIssue(t, ca, certtest.Options{CommonName: "api.example.com"})
	resp, err := e.login(logical.UpdateOperation, nil, leaf.Cert)
	if err != nil {
		t.Fatal(err)
	}
	a := resp.Auth
	wantMeta := map[string]string{
		"cert_name": "web", "common_name": "api.example.com", "serial_number": leaf.Cert.SerialNumber.String(),
		"subject_key_id": hexColons(leaf.Cert.SubjectKeyId), "authority_key_id": hexColons(ca.Cert.SubjectKeyId),
	}
	if !reflect.DeepEqual(a.Metadata, wantMeta) {
		t.Fatalf("metadata = %v\nwant %v", a.Metadata, wantMeta)
	}
	if a.DisplayName != "webapp" || a.LeaseDuration != time.Hour || !reflect.DeepEqual(a.Policies, []string{"dev"}) || !a.Renewable {
		t.Fatalf("auth = %+v", a)
	}
	if a.Alias == nil || a.Alias.Name != "api.example.com" || a.Alias.Metadata != nil {
		t.Fatalf("alias = %+v", a.Alias)
	}
	if !strings.Contains(wantMeta["subject_key_id"], ":") || wantMeta["subject_key_id"] != strings.ToLower(wantMeta["subject_key_id"]) {
		t.Fatalf("key id format %q", wantMeta["subject_key_id"])
	}

	// With enable_identity_alias_metadata the alias carries the metadata.
	e.OK(logical.UpdateOperation, "config", map[string]any{"enable_identity_alias_metadata": true})
	resp, err = e.login(logical.UpdateOperation, nil, leaf.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(resp.Auth.Alias.Metadata, wantMeta) {
		t.Fatalf("alias metadata = %v", resp.Auth.Alias.Metadata)
	}
	// The lookahead names the alias without verifying.
	resp, err = e.login(logical.AliasLookaheadOperation, nil, leaf.Cert)
	if err != nil || resp.Auth.Alias.Name != "api.example.com" {
		t.Fatalf("lookahead = %+v, %v", resp, err)
	}
}

// TestLoginFailures covers every refusal: each answers 400 with Vault's
// message and changes nothing.
func TestLoginFailures(t *testing.T) {
	e := newEnv(t)
	ca := mustCA(t, "root")
	other := mustCA(t, "other")
	extOID := asn1.ObjectIdentifier{1, 2, 3, 4, 5}
	extVal, _ := asn1.Marshal("prod")
	e.OK(logical.UpdateOperation, "certs/web", map[string]any{
		"certificate": ca.PEM, "allowed_common_names": "ok-*", "allowed_dns_sans": "*.ok.test",
		"allowed_organizational_units": "eng",
	})
	e.OK(logical.UpdateOperation, "certs/ext", map[string]any{
		"certificate": ca.PEM, "allowed_common_names": "ext", "required_extensions": "1.2.3.4.5:pr*",
	})
	good := certtest.Options{CommonName: "ok-1", DNSNames: []string{"a.ok.test"}, OUs: []string{"eng"}}
	if _, err := e.login(logical.UpdateOperation, nil, mustIssue(t, ca, good).Cert); err != nil {
		t.Fatalf("good certificate refused: %v", err)
	}
	revoked := mustIssue(t, ca, good)
	crl, _, err := ca.CRL(revoked.Cert.SerialNumber)
	if err != nil {
		t.Fatal(err)
	}
	e.OK(logical.UpdateOperation, "crls/root", map[string]any{"crl": crl})

	with := func(f func(o *certtest.Options)) certtest.Options {
		o := good
		f(&o)
		return o
	}
	const constraints = "no chain matching all constraints could be found for this login certificate"
	for _, tc := range []struct {
		name  string
		chain []*x509.Certificate
		msg   string
	}{
		{"another CA", []*x509.Certificate{mustIssue(t, other, good).Cert}, "invalid certificate or no client certificate supplied"},
		{"expired", []*x509.Certificate{mustIssue(t, ca, with(func(o *certtest.Options) {
			o.NotBefore, o.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
		})).Cert}, ""},
		{"revoked", []*x509.Certificate{revoked.Cert}, constraints},
		{"common name", []*x509.Certificate{mustIssue(t, ca, with(func(o *certtest.Options) { o.CommonName = "bad" })).Cert}, constraints},
		{"DNS SAN", []*x509.Certificate{mustIssue(t, ca, with(func(o *certtest.Options) { o.DNSNames = []string{"a.bad.test"} })).Cert}, constraints},
		{"OU", []*x509.Certificate{mustIssue(t, ca, with(func(o *certtest.Options) { o.OUs = []string{"sales"} })).Cert}, constraints},
		{"extension missing", []*x509.Certificate{mustIssue(t, ca, certtest.Options{CommonName: "ext"}).Cert}, constraints},
		{"extension value", []*x509.Certificate{mustIssue(t, ca, certtest.Options{CommonName: "ext",
			Extensions: []pkix.Extension{{Id: extOID, Value: mustASN1(t, "dev")}}}).Cert}, constraints},
		{"no certificate", nil, "client certificate must be supplied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.Snapshot()
			_, err := e.login(logical.UpdateOperation, nil, tc.chain...)
			status(t, err, 400, tc.msg)
			if tc.name == "expired" {
				if _, msg := logical.StatusOf(err); !strings.HasPrefix(msg, "failed to verify client's certificate: x509: certificate has expired") {
					t.Fatalf("expired: %q", msg)
				}
			}
			if !reflect.DeepEqual(before, e.Snapshot()) {
				t.Fatal("a refused login changed the storage")
			}
		})
	}
	// The right extension logs in.
	ok := mustIssue(t, ca, certtest.Options{CommonName: "ext", Extensions: []pkix.Extension{{Id: extOID, Value: extVal}}})
	resp, err := e.login(logical.UpdateOperation, nil, ok.Cert)
	if err != nil || resp.Auth.Metadata["cert_name"] != "ext" {
		t.Fatalf("extension login: %+v %v", resp, err)
	}
	// Without TLS at all.
	_, err = e.Backend.HandleRequest(context.Background(), &logical.Request{Operation: logical.UpdateOperation, Path: "login", Storage: e.Storage,
		Connection: &logical.Connection{RemoteAddr: "127.0.0.1:1"}})
	status(t, err, 400, "tls connection required")
	// Deleting the CRL lets the revoked certificate in again.
	e.OK(logical.DeleteOperation, "crls/root", nil)
	if _, err := e.login(logical.UpdateOperation, nil, revoked.Cert); err != nil {
		t.Fatalf("after the CRL's removal: %v", err)
	}
}

func mustASN1(t *testing.T, s string) []byte {
	t.Helper()
	b, err := asn1.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoginNameAndChains(t *testing.T) {
	e := newEnv(t)
	root := mustCA(t, "root")
	inter := mustIssue(t, root, certtest.Options{CommonName: "inter", IsCA: true})
	leaf := mustIssue(t, inter.AsCA(), certtest.Options{CommonName: "svc"}, inter.Cert)
	// Only the root is trusted: the client sends the intermediate.
	e.OK(logical.UpdateOperation, "certs/a-root", map[string]any{"certificate": root.PEM, "token_policies": "a"})
	e.OK(logical.UpdateOperation, "certs/b-root", map[string]any{"certificate": root.PEM, "token_policies": "b"})
	resp, err := e.login(logical.UpdateOperation, nil, leaf.Cert, inter.Cert)
	if err != nil || resp.Auth.Metadata["cert_name"] != "a-root" {
		t.Fatalf("first match by name: %+v %v", resp, err)
	}
	resp, err = e.login(logical.UpdateOperation, map[string]any{"name": "B-Root"}, leaf.Cert, inter.Cert)
	if err != nil || resp.Auth.Metadata["cert_name"] != "b-root" {
		t.Fatalf("name=b-root: %+v %v", resp, err)
	}
	_, err = e.login(logical.UpdateOperation, map[string]any{"name": "nope"}, leaf.Cert, inter.Cert)
	status(t, err, 400, "invalid certificate or no client certificate supplied")
	// Without the intermediate there is no chain.
	_, err = e.login(logical.UpdateOperation, nil, leaf.Cert)
	status(t, err, 400, "invalid certificate or no client certificate supplied")
	// A CRL revoking the intermediate refuses the chain.
	crl, _, _ := root.CRL(inter.Cert.SerialNumber)
	e.OK(logical.UpdateOperation, "crls/root", map[string]any{"crl": crl})
	_, err = e.login(logical.UpdateOperation, nil, leaf.Cert, inter.Cert)
	status(t, err, 400, "no chain matching all constraints could be found for this login certificate")
}

// TestPinnedLeaf: a non-CA certificate registered as is logs in only with
// that very certificate, not another sharing its serial and issuer.
func TestPinnedLeaf(t *testing.T) {
	e := newEnv(t)
	ca := mustCA(t, "root")
	leaf := mustIssue(t, ca, certtest.Options{CommonName: "pinned"})
	e.OK(logical.UpdateOperation, "certs/pin", map[string]any{"certificate": leaf.CertPEM})
	resp, err := e.login(logical.UpdateOperation, nil, leaf.Cert)
	if err != nil || resp.Auth.Metadata["cert_name"] != "pin" {
		t.Fatalf("pinned login: %+v %v", resp, err)
	}
	// A forgery: same serial, issuer and key ids, another key, self-signed.
	_, err = e.login(logical.UpdateOperation, nil, forge(t, leaf.Cert, ca))
	status(t, err, 400, "invalid certificate or no client certificate supplied")
	// Another certificate of the same CA is not the pinned one.
	_, err = e.login(logical.UpdateOperation, nil, mustIssue(t, ca, certtest.Options{CommonName: "pinned"}).Cert)
	status(t, err, 400, "invalid certificate or no client certificate supplied")
}

// forge makes a certificate with the serial number, subject, issuer name
// and key ids of c, issued by a look-alike CA with its own key.
func forge(t *testing.T, c *x509.Certificate, ca *certtest.CA) *x509.Certificate {
	t.Helper()
	fakeKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fakeCA := *ca.Cert // same name and subject key id
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: c.SerialNumber, Subject: c.Subject, NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		ExtKeyUsage: c.ExtKeyUsage, KeyUsage: c.KeyUsage, SubjectKeyId: c.SubjectKeyId}
	fakeCA.PublicKey = fakeKey.Public()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, &fakeCA, leafKey.Public(), fakeKey)
	if err != nil {
		t.Fatal(err)
	}
	out, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if out.SerialNumber.Cmp(c.SerialNumber) != 0 || !bytes.Equal(out.AuthorityKeyId, c.AuthorityKeyId) {
		t.Fatal("forgery does not look alike")
	}
	return out
}

func TestAuthRenew(t *testing.T) {
	e := newEnv(t)
	ca := mustCA(t, "root")
	e.OK(logical.UpdateOperation, "certs/web", map[string]any{"certificate": ca.PEM, "token_policies": "dev", "token_ttl": "10m"})
	leaf := mustIssue(t, ca, certtest.Options{CommonName: "svc"})
	login, err := e.login(logical.UpdateOperation, nil, leaf.Cert)
	if err != nil {
		t.Fatal(err)
	}
	renew := func(chain ...*x509.Certificate) (*logical.Response, error) {
		a := *login.Auth
		a.TokenPolicies = []string{"default", "dev"}
		var conn *logical.Connection
		if chain != nil {
			conn = &logical.Connection{RemoteAddr: "127.0.0.1:1", ConnState: &tls.ConnectionState{PeerCertificates: chain}}
		}
		return e.Backend.HandleRequest(context.Background(), &logical.Request{Operation: logical.RenewOperation, Path: "login",
			Storage: e.Storage, Auth: &a, Connection: conn})
	}
	e.OK(logical.UpdateOperation, "certs/web", map[string]any{"token_ttl": "20m"})
	resp, err := renew(leaf.Cert)
	if err != nil || resp.Auth.LeaseDuration != 20*time.Minute {
		t.Fatalf("renew = %+v, %v", resp, err)
	}
	// Bound to the login's certificate.
	_, err = renew()
	status(t, err, 400, "tls connection required")
	_, err = renew(mustIssue(t, ca, certtest.Options{CommonName: "svc"}).Cert)
	status(t, err, 400, "client identity during renewal not matching client identity used during login")
	// disable_binding: renewed without a certificate.
	e.OK(logical.UpdateOperation, "config", map[string]any{"disable_binding": true})
	if _, err := renew(); err != nil {
		t.Fatalf("renew without binding: %v", err)
	}
	e.OK(logical.UpdateOperation, "certs/web", map[string]any{"token_policies": "dev,admin"})
	_, err = renew()
	status(t, err, 400, "policies have changed, not renewing")
	e.OK(logical.DeleteOperation, "certs/web", nil)
	_, err = renew()
	status(t, err, 400, `certificate "web" no longer exists; not renewing`)
}

// TestMetadataExtensions: allowed_metadata_extensions copies the named
// (string) extensions into the token's metadata, dots turned to dashes.
func TestMetadataExtensions(t *testing.T) {
	e := newEnv(t)
	ca := mustCA(t, "root")
	e.OK(logical.UpdateOperation, "certs/web", map[string]any{"certificate": ca.PEM, "allowed_metadata_extensions": "1.2.3.4.6,1.2.3.4.7"})
	leaf := mustIssue(t, ca, certtest.Options{CommonName: "svc", Extensions: []pkix.Extension{
		{Id: asn1.ObjectIdentifier{1, 2, 3, 4, 6}, Value: mustASN1(t, "team-a")},
		{Id: asn1.ObjectIdentifier{1, 2, 3, 4, 8}, Value: mustASN1(t, "not-copied")},
	}})
	resp, err := e.login(logical.UpdateOperation, nil, leaf.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Auth.Metadata["1-2-3-4-6"] != "team-a" || len(resp.Auth.Metadata) != 6 {
		t.Fatalf("metadata = %v", resp.Auth.Metadata)
	}
}

// TestTokenBoundCIDRs: a login from outside the entry's CIDRs is refused
// with 403; the token carries the CIDRs.
func TestTokenBoundCIDRs(t *testing.T) {
	e := newEnv(t)
	ca := mustCA(t, "root")
	e.OK(logical.UpdateOperation, "certs/web", map[string]any{"certificate": ca.PEM, "token_bound_cidrs": "127.0.0.0/8"})
	leaf := mustIssue(t, ca, certtest.Options{CommonName: "svc"})
	resp, err := e.login(logical.UpdateOperation, nil, leaf.Cert)
	if err != nil || !reflect.DeepEqual(resp.Auth.BoundCIDRs, []string{"127.0.0.0/8"}) {
		t.Fatalf("login from inside: %+v %v", resp, err)
	}
	e.RemoteAddr = "192.0.2.1:4000"
	_, err = e.login(logical.UpdateOperation, nil, leaf.Cert)
	status(t, err, 403, "")
}
