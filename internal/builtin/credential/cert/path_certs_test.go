package cert

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"reflect"
	"testing"

	"github.com/strongbox/strongbox/internal/builtin/credential/cert/certtest"
	"github.com/strongbox/strongbox/internal/logical"
)

func TestCertsCRUD(t *testing.T) {
	e := newEnv(t)
	ca := mustCA(t, "root")
	e.OK(logical.UpdateOperation, "certs/Web", map[string]any{
		"certificate": ca.PEM, "allowed_names": "a,b", "allowed_uri_sans": []any{"spiffe://x/*"},
		"policies": "Dev, ops", "ttl": "1m", "bound_cidrs": "10.0.0.0/8",
	})
	d := e.OK(logical.ReadOperation, "certs/web", nil).Data
	for k, want := range map[string]any{
		"certificate": ca.PEM, "display_name": "web", "allowed_names": []string{"a", "b"},
		"allowed_uri_sans": []string{"spiffe://x/*"}, "allowed_common_names": []string{},
		"token_policies": []string{"dev", "ops"}, "policies": []string{"dev", "ops"},
		"token_ttl": int64(60), "ttl": int64(60), "token_bound_cidrs": []string{"10.0.0.0/8"}, "bound_cidrs": []string{"10.0.0.0/8"},
	} {
		if !reflect.DeepEqual(d[k], want) {
			t.Errorf("%s = %#v, want %#v", k, d[k], want)
		}
	}
	// An update changes only what it names.
	e.OK(logical.UpdateOperation, "certs/web", map[string]any{"display_name": "w"})
	d = e.OK(logical.ReadOperation, "certs/web", nil).Data
	if d["display_name"] != "w" || d["certificate"] != ca.PEM {
		t.Fatalf("after update: %v", d)
	}
	keys := e.OK(logical.ListOperation, "certs/", nil).Data["keys"]
	if !reflect.DeepEqual(keys, []string{"web"}) {
		t.Fatalf("list = %v", keys)
	}
	e.OK(logical.DeleteOperation, "certs/web", nil)
	if r := e.OK(logical.ReadOperation, "certs/web", nil); r != nil {
		t.Fatalf("read after delete = %v", r)
	}
}

func TestCertsRefused(t *testing.T) {
	e := newEnv(t)
	ca := mustCA(t, "root")
	srv := mustIssue(t, ca, certtest.Options{CommonName: "srv", ServerAuth: true})
	srvOnly := reissueServerOnly(t, ca)
	before := e.Snapshot()
	for _, tc := range []struct {
		data map[string]any
		msg  string
	}{
		{map[string]any{}, "failed to parse certificate"},
		{map[string]any{"certificate": "junk"}, "failed to parse certificate"},
		{map[string]any{"certificate": srvOnly}, "nonCA certificates should have TLS client authentication set as an extended key usage"},
		{map[string]any{"certificate": ca.PEM, "required_extensions": "1.2.3"}, `invalid required_extensions entry "1.2.3": want "<oid>:<value glob>"`},
		{map[string]any{"certificate": ca.PEM, "allowed_metadata_extensions": "x.y"}, `invalid allowed_metadata_extensions entry "x.y": not an OID`},
		{map[string]any{"certificate": ca.PEM, "token_ttl": "2h", "token_max_ttl": "1h"}, "'token_ttl' cannot be greater than 'token_max_ttl'"},
		{map[string]any{"certificate": ca.PEM, "token_bound_cidrs": "nope"}, ""},
		{map[string]any{"certificate": ca.PEM, "ocsp_enabled": true}, "OCSP checking is not supported by this server: register CRLs under crls/ instead"},
		{map[string]any{"certificate": ca.PEM, "ocsp_servers_override": "http://ocsp"}, `"ocsp_servers_override" is not supported: OCSP checking is not available on this server`},
	} {
		e.Fails(logical.UpdateOperation, "certs/x", tc.data, 400, tc.msg)
	}
	if !reflect.DeepEqual(before, e.Snapshot()) {
		t.Fatal("a refused write changed the storage")
	}
	// A client+server leaf is fine; OCSP settings sent off are served.
	e.OK(logical.UpdateOperation, "certs/srv", map[string]any{"certificate": srv.CertPEM, "ocsp_enabled": false, "ocsp_servers_override": []any{}})
	before = e.Snapshot()
	e.Fails(logical.UpdateOperation, "config", map[string]any{"ocsp_cache_size": 100}, 400, `"ocsp_cache_size" is not supported by this server's cert auth method`)
	if !reflect.DeepEqual(before, e.Snapshot()) {
		t.Fatal("a refused config write changed the storage")
	}
}

func reissueServerOnly(t *testing.T, ca *certtest.CA) string {
	t.Helper()
	l := mustIssue(t, ca, certtest.Options{CommonName: "srv", ServerAuth: true})
	c := *l.Cert
	c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	der, err := x509.CreateCertificate(rand.Reader, &c, ca.Cert, l.Key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestCRLs(t *testing.T) {
	e := newEnv(t)
	ca := mustCA(t, "root")
	a := mustIssue(t, ca, certtest.Options{CommonName: "a"})
	_, der, err := ca.CRL(a.Cert.SerialNumber)
	if err != nil {
		t.Fatal(err)
	}
	// DER is accepted as well as PEM.
	e.OK(logical.UpdateOperation, "crls/Main", map[string]any{"crl": string(der)})
	d := e.OK(logical.ReadOperation, "crls/main", nil).Data
	if !reflect.DeepEqual(d["serials"], map[string]any{a.Cert.SerialNumber.String(): map[string]any{}}) {
		t.Fatalf("crl read = %v", d)
	}
	if keys := e.OK(logical.ListOperation, "crls/", nil).Data["keys"]; !reflect.DeepEqual(keys, []string{"main"}) {
		t.Fatalf("list = %v", keys)
	}
	e.Fails(logical.UpdateOperation, "crls/bad", map[string]any{"crl": "junk"}, 400, "")
	e.Fails(logical.UpdateOperation, "crls/bad", map[string]any{}, 400, "'crl' parameter must be set")
	e.Fails(logical.ReadOperation, "crls/none", nil, 400, "no such CRL none")
	e.Fails(logical.DeleteOperation, "crls/none", nil, 400, "no such CRL none")
	e.OK(logical.DeleteOperation, "crls/main", nil)
}
