package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

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
