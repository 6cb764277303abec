package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/builtin/credential/cert/certtest"
	"github.com/strongbox/strongbox/internal/builtin/credential/ldap/ldaptest"
)

func TestLDAPAutoAuth(t *testing.T) {
	slapd, err := ldaptest.Start(t.TempDir())
	if err != nil {
		t.Fatalf("slapd: %v", err)
	}
	t.Cleanup(slapd.Stop)
	s := newTestServer(t)
	root := s.client(s.root)
	if err := root.Sys().EnableAuthWithOptions("corp", &vault.EnableAuthOptions{Type: "ldap"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/corp/config", map[string]any{
		"url": slapd.URL, "userdn": ldaptest.UsersDN, "userattr": "uid", "groupdn": ldaptest.GroupsDN,
		"binddn": ldaptest.ReaderDN, "bindpass": ldaptest.ReaderPW, "starttls": true, "certificate": slapd.CACert,
		"token_ttl": "3s", "token_max_ttl": "1h",
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pwFile, sink := filepath.Join(dir, "pw"), filepath.Join(dir, "token")
	writeFile(t, pwFile, ldaptest.Users["alice"])
	startAgent(t, fmt.Sprintf(`
vault {
  address = "http://%s"
  retry { num_retries = -1 }
}
auto_auth {
  method "ldap" {
    mount_path = "auth/corp"
    min_backoff = "100ms"
    config {
      username = "alice"
      password_file_path = %q
    }
  }
  sink "file" { config { path = %q } }
}
`, s.addr, pwFile, sink))
	eventually(t, 20*time.Second, "the sink", func() bool { return sinkToken(sink) != "" })
	first := sinkToken(sink)
	look, err := s.client(first).Auth().Token().LookupSelf()
	if err != nil || look.Data["display_name"] != "corp-alice" {
		t.Fatalf("lookup-self: %v %v", look, err)
	}
	if _, err := os.Stat(pwFile); !os.IsNotExist(err) {
		t.Errorf("password file kept (remove_password_after_reading defaults to true): %v", err)
	}
	// Revoked: the agent logs in again with the password it kept.
	if err := root.Auth().Token().RevokeTree(first); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "a new ldap token", func() bool {
		tok := sinkToken(sink)
		if tok == first {
			return false
		}
		_, err := s.client(tok).Auth().Token().LookupSelf()
		return err == nil
	})
}

func TestTokenFileAutoAuth(t *testing.T) {
	s := newTestServer(t)
	tok, err := s.client(s.root).Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"default"}, TTL: "3s"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tf, sink := filepath.Join(dir, "in"), filepath.Join(dir, "token")
	writeFile(t, tf, tok.Auth.ClientToken+"\n")
	a := startAgent(t, fmt.Sprintf(`
vault { address = "http://%s" }
auto_auth {
  method "token_file" {
    config { token_file_path = %q }
  }
  sink "file" { config { path = %q } }
}
`, s.addr, tf, sink))
	eventually(t, 20*time.Second, "the sink", func() bool { return sinkToken(sink) == tok.Auth.ClientToken })
	issued := time.Now()
	// Renewed, so still valid after its first 3s TTL.
	eventually(t, 30*time.Second, "a renewal past the first TTL", func() bool {
		_, err := s.client(tok.Auth.ClientToken).Auth().Token().LookupSelf()
		return time.Since(issued) > 4*time.Second && err == nil && strings.Count(a.logs.String(), "token renewed") >= 2
	})
}

// cert auto-auth over TLS: vault { ca_cert, client_cert, client_key } reach
// the server, and the certificate logs in against the named role.
func TestCertAutoAuthOverTLS(t *testing.T) {
	dir := t.TempDir()
	srvCA, err := certtest.NewCA("server-ca")
	if err != nil {
		t.Fatal(err)
	}
	srvLeaf, err := srvCA.Issue(certtest.Options{CommonName: "strongbox", ServerAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	clientCA, err := certtest.NewCA("client-ca")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := clientCA.Issue(certtest.Options{CommonName: "svc-agent"})
	if err != nil {
		t.Fatal(err)
	}
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, content)
		return p
	}
	caFile := file("server-ca.pem", srvCA.PEM)
	s := newTestServerTLS(t, file("tls.crt", srvLeaf.CertPEM), file("tls.key", srvLeaf.KeyPEM), caFile)
	root := s.client(s.root)
	if err := root.Sys().EnableAuthWithOptions("cert", &vault.EnableAuthOptions{Type: "cert"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/cert/certs/agent", map[string]any{"certificate": clientCA.PEM, "ttl": "1h", "allowed_common_names": "svc-*"}); err != nil {
		t.Fatal(err)
	}
	sink := filepath.Join(dir, "token")
	startAgent(t, fmt.Sprintf(`
vault {
  address     = "https://%s"
  ca_cert     = %q
  client_cert = %q
  client_key  = %q
  retry { num_retries = -1 }
}
auto_auth {
  method "cert" {
    min_backoff = "100ms"
    config { name = "agent" }
  }
  sink "file" { config { path = %q } }
}
`, s.addr, caFile, file("client.crt", leaf.CertPEM), file("client.key", leaf.KeyPEM), sink))
	eventually(t, 20*time.Second, "the sink", func() bool { return sinkToken(sink) != "" })
	look, err := s.client(sinkToken(sink)).Auth().Token().LookupSelf()
	if err != nil {
		t.Fatal(err)
	}
	if meta, _ := look.Data["meta"].(map[string]any); meta["cert_name"] != "agent" || meta["common_name"] != "svc-agent" {
		t.Errorf("token metadata: %v", look.Data["meta"])
	}
}
