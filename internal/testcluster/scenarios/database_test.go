package scenarios

import (
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/builtin/secrets/database/dbtest"
)

// TestDatabaseLeasesRevokedAfterFailover: database credentials with a
// short TTL are issued by the active node of a 3-node raft cluster; the
// active node is killed before they expire; the new active node revokes
// them at expiry through the database engine, so their users are gone
// from PostgreSQL's pg_roles.
func TestDatabaseLeasesRevokedAfterFailover(t *testing.T) {
	const ttl = 20 * time.Second
	pg, err := dbtest.StartPostgres()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Stop() })
	admin, err := pg.Open(pg.Admin, pg.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	c := raftCluster(t, 3)
	active := c.WaitForActive(t, 30*time.Second)
	root := active.Client(c.RootToken())
	if err := root.Sys().Mount("database", &vault.MountInput{Type: "database"}); err != nil {
		t.Fatal(err)
	}
	mustWrite := func(path string, data map[string]any) {
		t.Helper()
		if _, err := root.Logical().Write(path, data); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
	}
	mustWrite("database/config/pg", map[string]any{"plugin_name": "postgresql-database-plugin",
		"connection_url": pg.URL(), "username": pg.Admin, "password": pg.AdminPassword, "allowed_roles": "*"})
	mustWrite("database/roles/short", map[string]any{"db_name": "pg", "default_ttl": ttl.String(),
		"creation_statements": `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'`})
	created := time.Now()
	var users []string
	for range 3 {
		s, err := root.Logical().Read("database/creds/short")
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, s.Data["username"].(string))
	}
	exists := func(u string) bool {
		var ok bool
		if err := admin.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, u).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for _, u := range users {
		if !exists(u) {
			t.Fatalf("issued user %s not in pg_roles", u)
		}
	}

	if err := active.Kill(); err != nil {
		t.Fatal(err)
	}
	next := c.WaitForActive(t, 60*time.Second)
	if next.ID() == active.ID() {
		t.Fatalf("killed node %s still reported active", active.ID())
	}
	t.Logf("failover to %s %v after issuing", next.ID(), time.Since(created).Round(time.Millisecond))
	deadline := time.Now().Add(ttl + 90*time.Second)
	for {
		left := 0
		for _, u := range users {
			if exists(u) {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d users still in pg_roles: the new active node did not revoke the expired leases", left)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if since := time.Since(created); since < ttl {
		t.Fatalf("users dropped %v after issue, before their %v TTL", since, ttl)
	}
	t.Logf("users dropped %v after issue (TTL %v)", time.Since(created).Round(time.Millisecond), ttl)
}
