package agent

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/builtin/secrets/database/dbtest"
)

// Issue 27: caching of leased secrets, shown with dynamic PostgreSQL
// credentials. A repeated read through the caching agent returns the same
// credentials (one database user, one lease); revoking the lease through
// the agent evicts them.
func TestCachingProxyDatabaseCredentials(t *testing.T) {
	pg, err := dbtest.StartPostgres()
	if err != nil {
		t.Fatalf("start postgres: %v", err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	s := newTestServer(t)
	root := s.client(s.root)
	if err := root.Sys().Mount("database", &vault.MountInput{Type: "database"}); err != nil {
		t.Fatal(err)
	}
	for path, data := range map[string]map[string]any{
		"database/config/pg": {"plugin_name": "postgresql-database-plugin", "connection_url": pg.URL(),
			"username": pg.Admin, "password": pg.AdminPassword, "allowed_roles": "*"},
		"database/roles/ro": {"db_name": "pg", "default_ttl": "1h",
			"creation_statements": []string{`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`}},
	} {
		if _, err := root.Logical().Write(path, data); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
	}
	if err := root.Sys().PutPolicy("dbreader", `path "database/creds/ro" { capabilities = ["read"] }
path "sys/leases/revoke" { capabilities = ["update"] }`); err != nil {
		t.Fatal(err)
	}
	addr, _ := proxyAgent(t, s, "cache {}\napi_proxy {\n  use_auto_auth_token = true\n}\n")
	// The application calls through the agent with a token of its own.
	own, err := root.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"dbreader"}})
	if err != nil {
		t.Fatal(err)
	}
	c := agentClient(t, addr, own.Auth.ClientToken)
	read := func() *vault.Secret {
		t.Helper()
		sec, err := c.Logical().Read("database/creds/ro")
		if err != nil || sec == nil || sec.LeaseID == "" {
			t.Fatalf("read creds through the agent: %v %v", sec, err)
		}
		return sec
	}
	first := read()
	second := read()
	if second.LeaseID != first.LeaseID || second.Data["username"] != first.Data["username"] {
		t.Fatalf("repeated read: lease %s vs %s, user %v vs %v", second.LeaseID, first.LeaseID, second.Data["username"], first.Data["username"])
	}
	if _, err := c.Logical().Write("sys/leases/revoke", map[string]any{"lease_id": first.LeaseID}); err != nil {
		t.Fatalf("revoke through the agent: %v", err)
	}
	if third := read(); third.LeaseID == first.LeaseID || third.Data["username"] == first.Data["username"] {
		t.Fatal("the agent replayed revoked credentials")
	}
}

// A template reading dynamic database credentials: the lease is renewed
// (by consul-template, as in Vault's agent) past its first TTL, so the
// rendered user stays valid and the file does not change.
func TestTemplateLeasedSecretRenewed(t *testing.T) {
	pg, err := dbtest.StartPostgres()
	if err != nil {
		t.Fatalf("start postgres: %v", err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	s := newTestServer(t)
	root := s.client(s.root)
	if err := root.Sys().Mount("database", &vault.MountInput{Type: "database"}); err != nil {
		t.Fatal(err)
	}
	for path, data := range map[string]map[string]any{
		"database/config/pg": {"plugin_name": "postgresql-database-plugin", "connection_url": pg.URL(),
			"username": pg.Admin, "password": pg.AdminPassword, "allowed_roles": "*"},
		"database/roles/ro": {"db_name": "pg", "default_ttl": "4s", "max_ttl": "1h",
			"creation_statements": []string{`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`}},
	} {
		if _, err := root.Logical().Write(path, data); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
	}
	if err := root.Sys().PutPolicy("dbreader", `path "database/creds/ro" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rid, sid := s.appRole(dir, map[string]any{"token_ttl": "1h", "token_policies": "dbreader"})
	dest := filepath.Join(dir, "db")
	tmpl := fmt.Sprintf(`
template {
  contents    = "{{ with secret \"database/creds/ro\" }}{{ .Data.username }} {{ .LeaseID }}{{ end }}"
  destination = %q
}
`, dest)
	startAgent(t, agentHCL(s.addr, rid, sid, filepath.Join(dir, "token"), tmpl))
	eventually(t, 30*time.Second, "the rendered credentials", func() bool { return readFile(dest) != "" })
	first := readFile(dest)
	lease := first[strings.Index(first, " ")+1:]
	rendered := time.Now()
	eventually(t, 30*time.Second, "the lease renewed past its first 4s TTL", func() bool {
		if time.Since(rendered) < 6*time.Second {
			return false
		}
		l, err := root.Sys().Lookup(lease)
		if err != nil || l == nil {
			return false
		}
		n, _ := l.Data["ttl"].(json.Number)
		ttl, err := n.Int64()
		return err == nil && ttl > 0
	})
	if got := readFile(dest); got != first {
		t.Fatalf("the credentials changed instead of being renewed: %q -> %q", first, got)
	}
}
