package agent

import (
	"testing"

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
