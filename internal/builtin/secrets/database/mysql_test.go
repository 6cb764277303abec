package database_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

var mySeq atomic.Int64

// mysqlSetup configures a connection named db (plugin) with a fresh admin
// account of its own and returns the server's admin pool and the
// connection's user and password.
func mysqlSetup(t testing.TB, c *vault.Client, db, plugin string) (admin *sqlDB, user, password string) {
	t.Helper()
	n := mySeq.Add(1)
	a := adminDB(t, maria.Open, maria.Admin, maria.AdminPassword)
	user, password = fmt.Sprintf("eng%d", n), fmt.Sprintf("eng-pw-%d", n)
	for _, q := range []string{
		fmt.Sprintf(`CREATE USER '%s'@'%%' IDENTIFIED BY '%s'`, user, password),
		fmt.Sprintf(`GRANT ALL PRIVILEGES ON *.* TO '%s'@'%%' WITH GRANT OPTION`, user),
		`CREATE TABLE IF NOT EXISTS app.items (id int)`,
	} {
		if _, err := a.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	write(t, c, "database/config/"+db, map[string]any{
		"plugin_name": plugin, "connection_url": maria.URL(),
		"username": user, "password": password, "allowed_roles": "*",
	})
	return &sqlDB{a}, user, password
}

func mysqlUserExists(t testing.TB, a *sqlDB, name string) bool {
	t.Helper()
	var n int
	if err := a.QueryRow(`SELECT COUNT(*) FROM mysql.user WHERE User = ?`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

const mysqlCreate = `CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON app.* TO '{{name}}'@'%';`

// TestMySQLDynamicCreds: on MariaDB the issued user logs in, may read
// but not write; revoke drops it (open session included); expiry and
// revoke-prefix drop theirs; the legacy plugin names users in 16 chars.
func TestMySQLDynamicCreds(t *testing.T) {
	c := startCore(t, 0)
	a, _, _ := mysqlSetup(t, c, "my", "mysql-database-plugin")
	write(t, c, "database/roles/ro", map[string]any{"db_name": "my", "creation_statements": mysqlCreate, "default_ttl": "1h"})
	s := read(t, c, "database/creds/ro")
	user, pw := str(s, "username"), str(s, "password")
	if len(user) > 32 || !strings.HasPrefix(user, "v-") {
		t.Fatalf("username %q", user)
	}
	udb := adminDB(t, maria.Open, user, pw)
	var n int
	if err := udb.QueryRow(`SELECT COUNT(*) FROM app.items`).Scan(&n); err != nil {
		t.Fatalf("select as the issued user: %v", err)
	}
	if _, err := udb.Exec(`INSERT INTO app.items VALUES (1)`); err == nil || !strings.Contains(err.Error(), "denied") {
		t.Fatalf("insert as the issued user: %v, want denied", err)
	}
	if _, err := c.Sys().Renew(s.LeaseID, 600); err != nil {
		t.Fatalf("renew: %v", err)
	}
	if err := c.Sys().Revoke(s.LeaseID); err != nil {
		t.Fatal(err)
	}
	// KILL flags the session: it ends a moment later.
	eventually(t, "the revoked user's session to end", func() bool {
		var sessions int
		if err := a.QueryRow(`SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?`, user).Scan(&sessions); err != nil {
			t.Fatal(err)
		}
		return sessions == 0
	})
	if mysqlUserExists(t, a, user) {
		t.Fatalf("user %s still in mysql.user after revoke", user)
	}
	if err := canLogin(maria.Open, user, pw); err == nil {
		t.Fatal("the revoked user still logs in")
	}

	write(t, c, "database/roles/short", map[string]any{"db_name": "my", "creation_statements": mysqlCreate, "default_ttl": 2})
	short := str(read(t, c, "database/creds/short"), "username")
	var many []string
	for i := 0; i < 3; i++ {
		many = append(many, str(read(t, c, "database/creds/ro"), "username"))
	}
	eventually(t, "the expired lease's user to be dropped", func() bool { return !mysqlUserExists(t, a, short) })
	if err := c.Sys().RevokePrefix("database/creds/ro"); err != nil {
		t.Fatal(err)
	}
	for _, u := range many {
		if mysqlUserExists(t, a, u) {
			t.Fatalf("user %s still there after revoke-prefix", u)
		}
	}

	for _, plugin := range []string{"mysql-legacy-database-plugin", "mysql-rds-database-plugin", "mysql-aurora-database-plugin"} {
		mysqlSetup(t, c, "legacy", plugin)
		write(t, c, "database/roles/legacy", map[string]any{"db_name": "legacy", "creation_statements": mysqlCreate})
		s := read(t, c, "database/creds/legacy")
		if u := str(s, "username"); len(u) > 16 {
			t.Fatalf("%s: username %q longer than 16", plugin, u)
		}
		if err := canLogin(maria.Open, str(s, "username"), str(s, "password")); err != nil {
			t.Fatalf("%s creds: %v", plugin, err)
		}
		if err := c.Sys().Revoke(s.LeaseID); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMySQLRotateRootAndStatic: rotate-root locks the old password out;
// a static role with the default rotation statement takes its user over,
// rotates on its period and on rotate-role.
func TestMySQLRotateRootAndStatic(t *testing.T) {
	c := startCore(t, 200*time.Millisecond)
	a, user, password := mysqlSetup(t, c, "my", "mysql-database-plugin")
	write(t, c, "database/rotate-root/my", nil)
	if err := canLogin(maria.Open, user, password); err == nil {
		t.Fatal("the old root password still logs in after rotate-root")
	}
	write(t, c, "database/roles/ro", map[string]any{"db_name": "my", "creation_statements": mysqlCreate})
	s := read(t, c, "database/creds/ro")
	if err := canLogin(maria.Open, str(s, "username"), str(s, "password")); err != nil {
		t.Fatalf("creds after rotate-root: %v", err)
	}

	if _, err := a.Exec(`CREATE USER 'app_static'@'%' IDENTIFIED BY 'initial-pw'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Exec(`DROP USER IF EXISTS 'app_static'@'%'`) })
	write(t, c, "database/static-roles/app", map[string]any{"db_name": "my", "username": "app_static", "rotation_period": "5s"})
	if err := canLogin(maria.Open, "app_static", "initial-pw"); err == nil {
		t.Fatal("the initial password still logs in")
	}
	s1 := read(t, c, "database/static-creds/app")
	if err := canLogin(maria.Open, "app_static", str(s1, "password")); err != nil {
		t.Fatalf("static password: %v", err)
	}
	var s2 *vault.Secret
	eventually(t, "a scheduled rotation", func() bool {
		s2 = read(t, c, "database/static-creds/app")
		return str(s2, "last_vault_rotation") != str(s1, "last_vault_rotation")
	})
	if err := canLogin(maria.Open, "app_static", str(s2, "password")); err != nil {
		t.Fatalf("rotated password: %v", err)
	}
	write(t, c, "database/static-roles/app", map[string]any{"rotation_period": "1h"})
	before := read(t, c, "database/static-creds/app")
	write(t, c, "database/rotate-role/app", nil)
	after := read(t, c, "database/static-creds/app")
	if str(after, "password") == str(before, "password") {
		t.Fatal("rotate-role kept the password")
	}
	if err := canLogin(maria.Open, "app_static", str(before, "password")); err == nil {
		t.Fatal("the password before rotate-role still logs in")
	}
	if err := canLogin(maria.Open, "app_static", str(after, "password")); err != nil {
		t.Fatalf("password after rotate-role: %v", err)
	}
	// A wrong password at config time: 400 with the server's message, nothing stored.
	_, err := c.Logical().Write("database/config/bad", map[string]any{"plugin_name": "mysql-database-plugin",
		"connection_url": maria.URL(), "username": user, "password": "Wr0ng-Distinct-PW"})
	wantStatus(t, err, 400, "Access denied")
	if strings.Contains(err.Error(), "Wr0ng-Distinct-PW") {
		t.Fatalf("the error shows the password: %v", err)
	}
	if s, err := c.Logical().Read("database/config/bad"); err != nil || s != nil {
		t.Fatalf("refused config stored: %v %v", s, err)
	}
}

// TestMySQLFailedCreation: when a creation statement after CREATE USER
// fails (MySQL has already committed the user), the half-created user is
// dropped, and the error names no password.
func TestMySQLFailedCreation(t *testing.T) {
	c := startCore(t, 0)
	a, _, _ := mysqlSetup(t, c, "my", "mysql-database-plugin")
	var before int
	if err := a.QueryRow(`SELECT COUNT(*) FROM mysql.user WHERE User LIKE 'v-%'`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	write(t, c, "database/roles/broken", map[string]any{"db_name": "my",
		"creation_statements": `CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON nosuchdb.nosuchtable TO '{{name}}'@'%';`})
	_, err := c.Logical().Read("database/creds/broken")
	if err == nil {
		t.Fatal("creds of a broken role succeeded")
	}
	var after int
	if err := a.QueryRow(`SELECT COUNT(*) FROM mysql.user WHERE User LIKE 'v-%'`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatalf("%d users named v-%% after a failed creation, %d before", after, before)
	}
	// A syntax error right after the password: MySQL quotes the statement.
	write(t, c, "database/roles/typo", map[string]any{"db_name": "my",
		"creation_statements": `CREATE USER '{{name}}'@'%' IDENTIFED BY '{{password}}'`})
	_, err = c.Logical().Read("database/creds/typo")
	if err == nil || !strings.Contains(err.Error(), "*****") {
		t.Fatalf("syntax error: %v, want the password shown as *****", err)
	}
}
