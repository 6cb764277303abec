package database_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

var pgSeq atomic.Int64

// pgSetup configures a connection named db with a fresh superuser of its
// own (so rotate-root never locks the others out) and a table app_<n>
// that a role "ro" may read; it returns the admin pool, the table and the
// connection's user and password.
func pgSetup(t testing.TB, c *vault.Client, db string) (admin *sqlDB, table, user, password string) {
	t.Helper()
	n := pgSeq.Add(1)
	a := adminDB(t, pg.Open, pg.Admin, pg.AdminPassword)
	user, password, table = fmt.Sprintf("eng%d", n), fmt.Sprintf("eng-pw-%d", n), fmt.Sprintf("app_%d", n)
	for _, q := range []string{
		fmt.Sprintf(`CREATE ROLE %s WITH LOGIN SUPERUSER PASSWORD '%s'`, user, password),
		fmt.Sprintf(`CREATE TABLE %s (id int)`, table),
		fmt.Sprintf(`INSERT INTO %s VALUES (1), (2)`, table),
	} {
		if _, err := a.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	write(t, c, "database/config/"+db, map[string]any{
		"plugin_name": "postgresql-database-plugin", "connection_url": pg.URL(),
		"username": user, "password": password, "allowed_roles": "*",
	})
	return &sqlDB{a}, table, user, password
}

func pgRoleExists(t testing.TB, a *sqlDB, name string) bool {
	t.Helper()
	var ok bool
	if err := a.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestPostgresDynamicCreds: issued credentials log in and can do what the
// creation statements grant and no more; renew moves VALID UNTIL; revoke
// ends the user's open session and drops the role.
func TestPostgresDynamicCreds(t *testing.T) {
	c := startCore(t, 0)
	a, table, _, _ := pgSetup(t, c, "pg")
	write(t, c, "database/roles/ro", map[string]any{
		"db_name": "pg",
		"creation_statements": []string{
			`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
			`GRANT SELECT ON ` + table + ` TO "{{name}}";`,
		},
		"default_ttl": "1h", "max_ttl": "24h",
	})
	for path, want := range map[string]string{"database/config": "[pg]", "database/roles": "[ro]"} {
		l, err := c.Logical().List(path)
		if err != nil || l == nil || fmt.Sprint(l.Data["keys"]) != want {
			t.Fatalf("list %s: %v %v, want %s", path, l, err, want)
		}
	}
	if r := read(t, c, "database/roles/ro"); r.Data["db_name"] != "pg" || fmt.Sprint(r.Data["default_ttl"]) != "3600" {
		t.Fatalf("role read: %v", r.Data)
	}
	s := read(t, c, "database/creds/ro")
	user, pw := str(s, "username"), str(s, "password")
	if !strings.HasPrefix(user, "v-token-ro-") && !strings.HasPrefix(user, "v-root-ro-") {
		t.Fatalf("username %q does not follow the default template", user)
	}
	if len(pw) != 20 || s.LeaseID == "" || !s.Renewable || s.LeaseDuration != 3600 {
		t.Fatalf("creds: %d-char password, lease %q renewable %v duration %d", len(pw), s.LeaseID, s.Renewable, s.LeaseDuration)
	}
	udb := adminDB(t, pg.Open, user, pw)
	var n int
	if err := udb.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil || n != 2 {
		t.Fatalf("select as the issued user: %d %v", n, err)
	}
	if _, err := udb.Exec(`INSERT INTO ` + table + ` VALUES (3)`); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("insert as the issued user: %v, want permission denied", err)
	}
	var before, after time.Time
	if err := a.QueryRow(`SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1`, user).Scan(&before); err != nil {
		t.Fatal(err)
	}
	r, err := c.Sys().Renew(s.LeaseID, 7200)
	if err != nil || r.LeaseDuration != 7200 {
		t.Fatalf("renew: %v %+v", err, r)
	}
	if err := a.QueryRow(`SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1`, user).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if d := after.Sub(before); d < 50*time.Minute || d > 70*time.Minute {
		t.Fatalf("renew moved VALID UNTIL by %s, want about an hour", d)
	}
	// A session is open (udb's pool): revocation must end it too.
	if err := c.Sys().Revoke(s.LeaseID); err != nil {
		t.Fatal(err)
	}
	// pg_terminate_backend signals: the session ends a moment later.
	eventually(t, "the revoked user's session to end", func() bool {
		var sessions int
		if err := a.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE usename = $1`, user).Scan(&sessions); err != nil {
			t.Fatal(err)
		}
		return sessions == 0
	})
	if pgRoleExists(t, a, user) {
		t.Fatalf("role %s still in pg_roles after revoke", user)
	}
	if err := canLogin(pg.Open, user, pw); err == nil {
		t.Fatal("the revoked user still logs in")
	}
	// The lease is gone with the user.
	if _, err := c.Sys().Lookup(s.LeaseID); err == nil {
		t.Fatal("the revoked lease is still there")
	}
}

// TestPostgresExpiryAndRevokePrefix: a lease's expiry drops its user; a
// revoke-prefix drops every user issued under it.
func TestPostgresExpiryAndRevokePrefix(t *testing.T) {
	c := startCore(t, 0)
	a, table, _, _ := pgSetup(t, c, "pg")
	stmts := []string{`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'; GRANT SELECT ON ` + table + ` TO "{{name}}";`}
	write(t, c, "database/roles/short", map[string]any{"db_name": "pg", "creation_statements": stmts, "default_ttl": 2})
	write(t, c, "database/roles/long", map[string]any{"db_name": "pg", "creation_statements": stmts, "default_ttl": "1h"})
	short := read(t, c, "database/creds/short")
	if short.LeaseDuration != 2 {
		t.Fatalf("lease_duration %d, want 2", short.LeaseDuration)
	}
	var long []string
	for i := 0; i < 3; i++ {
		long = append(long, str(read(t, c, "database/creds/long"), "username"))
	}
	eventually(t, "the expired lease's user to be dropped", func() bool { return !pgRoleExists(t, a, str(short, "username")) })
	for _, u := range long {
		if !pgRoleExists(t, a, u) {
			t.Fatalf("user %s of a live lease dropped", u)
		}
	}
	if err := c.Sys().RevokePrefix("database/creds/long"); err != nil {
		t.Fatal(err)
	}
	for _, u := range long {
		if pgRoleExists(t, a, u) {
			t.Fatalf("user %s still there after revoke-prefix", u)
		}
	}
}

// TestPostgresRotateRoot: after rotate-root the old password no longer
// logs in, the engine still works, and no read shows the password.
func TestPostgresRotateRoot(t *testing.T) {
	c := startCore(t, 0)
	a, table, user, password := pgSetup(t, c, "pg")
	write(t, c, "database/roles/ro", map[string]any{"db_name": "pg",
		"creation_statements": []string{`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'; GRANT SELECT ON ` + table + ` TO "{{name}}";`}})
	if err := canLogin(pg.Open, user, password); err != nil {
		t.Fatalf("before rotation: %v", err)
	}
	write(t, c, "database/rotate-root/pg", nil)
	if err := canLogin(pg.Open, user, password); err == nil {
		t.Fatal("the old root password still logs in after rotate-root")
	}
	s := read(t, c, "database/creds/ro")
	if err := canLogin(pg.Open, str(s, "username"), str(s, "password")); err != nil {
		t.Fatalf("creds after rotate-root: %v", err)
	}
	cfg := read(t, c, "database/config/pg")
	if strings.Contains(fmt.Sprint(cfg.Data), password) || cfg.Data["password"] != nil {
		t.Fatalf("config read shows a password: %v", cfg.Data)
	}
	if err := c.Sys().Revoke(s.LeaseID); err != nil {
		t.Fatal(err)
	}
	if pgRoleExists(t, a, str(s, "username")) {
		t.Fatal("revoke after rotate-root left the user")
	}
}

// TestPostgresBadInput: every refused write answers 4xx in Vault's shape
// and stores nothing.
func TestPostgresBadInput(t *testing.T) {
	c := startCore(t, 0)
	_, _, user, _ := pgSetup(t, c, "pg")
	cases := []struct {
		name, path string
		data       map[string]any
		status     int
		msg        string
	}{
		{"wrong password", "database/config/bad", map[string]any{"plugin_name": "postgresql-database-plugin",
			"connection_url": pg.URL(), "username": user, "password": "wrong"}, 400, "password authentication failed"},
		{"unreachable", "database/config/bad", map[string]any{"plugin_name": "postgresql-database-plugin",
			"connection_url": "postgres://{{username}}:{{password}}@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2", "username": user, "password": "x"}, 400, "error verifying connection"},
		{"malformed url", "database/config/bad", map[string]any{"plugin_name": "postgresql-database-plugin",
			"connection_url": "postgres://%zz", "username": user, "password": "x"}, 400, "error creating database object"},
		{"unknown plugin", "database/config/bad", map[string]any{"plugin_name": "oracle-database-plugin", "connection_url": pg.URL()}, 400, "not found"},
		{"no plugin", "database/config/bad", map[string]any{"connection_url": pg.URL()}, 400, "plugin"},
		{"bad template", "database/config/bad", map[string]any{"plugin_name": "postgresql-database-plugin",
			"connection_url": pg.URL(), "verify_connection": false, "username_template": "{{ .Nope"}, 400, "template"},
		{"role without db", "database/roles/bad", map[string]any{"creation_statements": "SELECT 1"}, 400, "database name"},
		{"role without statements", "database/roles/bad", map[string]any{"db_name": "pg"}, 400, "creation statements"},
		{"ttl over max", "database/roles/bad", map[string]any{"db_name": "pg", "creation_statements": "SELECT 1", "default_ttl": 100, "max_ttl": 10}, 400, "max_ttl"},
		{"bad credential type", "database/roles/bad", map[string]any{"db_name": "pg", "creation_statements": "SELECT 1", "credential_type": "rsa_private_key"}, 400, "credential_type"},
		{"static without user", "database/static-roles/bad", map[string]any{"db_name": "pg", "rotation_period": 60}, 400, "username"},
		{"static unknown user", "database/static-roles/bad", map[string]any{"db_name": "pg", "username": "nobody_here", "rotation_period": 60}, 400, "does not exist"},
		{"static short period", "database/static-roles/bad", map[string]any{"db_name": "pg", "username": user, "rotation_period": 1}, 400, "rotation_period"},
		{"static both", "database/static-roles/bad", map[string]any{"db_name": "pg", "username": user, "rotation_period": 60, "rotation_schedule": "* * * * *"}, 400, "mutually exclusive"},
		{"static bad cron", "database/static-roles/bad", map[string]any{"db_name": "pg", "username": user, "rotation_schedule": "every day"}, 400, "rotation_schedule"},
		{"static unknown db", "database/static-roles/bad", map[string]any{"db_name": "nope", "username": user, "rotation_period": 60}, 400, "nope"},
		{"rotate-root unknown", "database/rotate-root/bad", nil, 400, "bad"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Logical().Write(tc.path, tc.data)
			wantStatus(t, err, tc.status, tc.msg)
			if strings.Contains(tc.path, "rotate-root") {
				return
			}
			if s, err := c.Logical().Read(tc.path); err != nil || s != nil {
				t.Fatalf("after a refused write %s reads %v %v", tc.path, s, err)
			}
		})
	}
	_, err := c.Logical().Read("database/creds/nope")
	wantStatus(t, err, 400, "unknown role")
	// A role the connection does not allow: 403.
	write(t, c, "database/config/narrow", map[string]any{"plugin_name": "postgresql-database-plugin",
		"connection_url": pg.URL(), "username": pg.Admin, "password": pg.AdminPassword, "allowed_roles": "other"})
	write(t, c, "database/roles/denied", map[string]any{"db_name": "narrow", "creation_statements": `CREATE ROLE "{{name}}"`})
	_, err = c.Logical().Read("database/creds/denied")
	wantStatus(t, err, 403, "")
	// The user of the refused static role kept its password.
	var re *vault.ResponseError
	if _, err := c.Logical().Read("database/static-creds/bad"); !errors.As(err, &re) || re.StatusCode != 400 {
		t.Fatalf("static-creds of a refused role: %v", err)
	}
}

// TestPostgresStaticRoles: creating a static role takes the user over at
// once (default rotation statement); the periodic job rotates it on its
// period; rotate-role rotates now; a cron schedule is accepted.
func TestPostgresStaticRoles(t *testing.T) {
	c := startCore(t, 200*time.Millisecond)
	a, _, _, _ := pgSetup(t, c, "pg")
	if _, err := a.Exec(`CREATE ROLE app_static WITH LOGIN PASSWORD 'initial-pw'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Exec(`DROP ROLE IF EXISTS app_static`) })
	write(t, c, "database/static-roles/app", map[string]any{"db_name": "pg", "username": "app_static", "rotation_period": "5s"})
	if err := canLogin(pg.Open, "app_static", "initial-pw"); err == nil {
		t.Fatal("the initial password still logs in after the static role was created")
	}
	s1 := read(t, c, "database/static-creds/app")
	if err := canLogin(pg.Open, "app_static", str(s1, "password")); err != nil {
		t.Fatalf("static-creds password: %v", err)
	}
	if ttl, err := s1.Data["ttl"].(json.Number).Int64(); err != nil || ttl < 0 || ttl > 5 {
		t.Fatalf("static-creds ttl: %v", s1.Data)
	}
	if str(s1, "username") != "app_static" || s1.Data["rotation_period"] == nil || str(s1, "last_vault_rotation") == "" {
		t.Fatalf("static-creds: %v", s1.Data)
	}
	// The periodic job rotates it after its period.
	var s2 *vault.Secret
	eventually(t, "a scheduled rotation", func() bool {
		s2 = read(t, c, "database/static-creds/app")
		return str(s2, "last_vault_rotation") != str(s1, "last_vault_rotation")
	})
	if str(s2, "password") == str(s1, "password") {
		t.Fatal("rotation kept the password")
	}
	if err := canLogin(pg.Open, "app_static", str(s2, "password")); err != nil {
		t.Fatalf("rotated password: %v", err)
	}
	if err := canLogin(pg.Open, "app_static", str(s1, "password")); err == nil {
		t.Fatal("the previous password still logs in after rotation")
	}
	// rotate-role, with the job effectively out of the way (1h period).
	write(t, c, "database/static-roles/app", map[string]any{"rotation_period": "1h"})
	before := read(t, c, "database/static-creds/app")
	write(t, c, "database/rotate-role/app", nil)
	after := read(t, c, "database/static-creds/app")
	if str(after, "password") == str(before, "password") {
		t.Fatal("rotate-role kept the password")
	}
	if err := canLogin(pg.Open, "app_static", str(after, "password")); err != nil {
		t.Fatalf("password after rotate-role: %v", err)
	}
	// A cron schedule replaces the period; the next rotation is within a minute.
	write(t, c, "database/static-roles/app", map[string]any{"rotation_schedule": "* * * * *"})
	r := read(t, c, "database/static-roles/app")
	if r.Data["rotation_schedule"] != "* * * * *" || r.Data["rotation_period"] != nil {
		t.Fatalf("static role after schedule: %v", r.Data)
	}
	keys, err := c.Logical().List("database/static-roles")
	if err != nil || fmt.Sprint(keys.Data["keys"]) != "[app]" {
		t.Fatalf("list static roles: %v %v", keys, err)
	}
	if _, err := c.Logical().Delete("database/static-roles/app"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Logical().Read("database/static-creds/app")
	wantStatus(t, err, 400, "unknown role")
	if !pgRoleExists(t, a, "app_static") {
		t.Fatal("deleting the static role dropped its user")
	}
}

// TestPostgresConcurrentCreds: 16 clients at once on one role whose
// statements GRANT on the same table all get working credentials
// (PostgreSQL answers concurrent GRANTs on one table with "tuple
// concurrently updated"; the driver retries them).
func TestPostgresConcurrentCreds(t *testing.T) {
	c := startCore(t, 0)
	_, table, _, _ := pgSetup(t, c, "pg")
	write(t, c, "database/config/pg", map[string]any{"max_open_connections": 16})
	write(t, c, "database/roles/ro", map[string]any{"db_name": "pg",
		"creation_statements": `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'; GRANT SELECT ON ` + table + ` TO "{{name}}"`})
	var wg sync.WaitGroup
	errs := make(chan error, 16*10)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if _, err := c.Logical().Read("database/creds/ro"); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestPostgresPoolsClosed: the engine's connections go on reset, on a
// config change (the old pool) and when the mount is disabled.
func TestPostgresPoolsClosed(t *testing.T) {
	c := startCore(t, 0)
	a, table, user, password := pgSetup(t, c, "pg")
	sessions := func() int {
		var n int
		if err := a.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE usename = $1`, user).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	write(t, c, "database/roles/ro", map[string]any{"db_name": "pg",
		"creation_statements": `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'; GRANT SELECT ON ` + table + ` TO "{{name}}"`})
	read(t, c, "database/creds/ro")
	if sessions() == 0 {
		t.Fatal("no engine session after issuing creds")
	}
	write(t, c, "database/reset/pg", nil)
	eventually(t, "reset to close the pool", func() bool { return sessions() == 0 })
	read(t, c, "database/creds/ro")
	if sessions() == 0 {
		t.Fatal("no engine session after reset and creds")
	}
	// Re-pointing the config at another user closes the old user's pool.
	write(t, c, "database/config/pg", map[string]any{"username": pg.Admin, "password": pg.AdminPassword})
	eventually(t, "a config change to close the old pool", func() bool { return sessions() == 0 })
	write(t, c, "database/config/pg", map[string]any{"username": user, "password": password})
	_, err := c.Logical().Write("database/config/pg", map[string]any{"password": "Wr0ng-Distinct-PW"})
	wantStatus(t, err, 400, "password authentication failed")
	if strings.Contains(err.Error(), "Wr0ng-Distinct-PW") {
		t.Fatalf("the error shows the password: %v", err)
	}
	s := read(t, c, "database/creds/ro")
	if sessions() == 0 {
		t.Fatal("the refused config write replaced the working one")
	}
	// Deleting a config closes its pool.
	_, table2, user2, _ := pgSetup(t, c, "pg2")
	write(t, c, "database/roles/ro2", map[string]any{"db_name": "pg2",
		"creation_statements": `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'; GRANT SELECT ON ` + table2 + ` TO "{{name}}"`})
	s2 := read(t, c, "database/creds/ro2")
	if err := c.Sys().Revoke(s2.LeaseID); err != nil {
		t.Fatal(err)
	}
	sessions2 := func() int {
		var n int
		if err := a.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE usename = $1`, user2).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if sessions2() == 0 {
		t.Fatal("no session of the second config's pool")
	}
	if _, err := c.Logical().Delete("database/config/pg2"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a config delete to close its pool", func() bool { return sessions2() == 0 })
	if cfg, err := c.Logical().Read("database/config/pg2"); err != nil || cfg != nil {
		t.Fatalf("deleted config reads %v %v", cfg, err)
	}
	if err := c.Sys().Unmount("database"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "unmount to close the pool", func() bool { return sessions() == 0 })
	if pgRoleExists(t, a, str(s, "username")) {
		t.Fatal("unmount left an issued user")
	}
}

// TestPostgresRevokeOwner: the default revocation drops a user that owns
// objects and holds privileges (its objects go to the engine's user).
func TestPostgresRevokeOwner(t *testing.T) {
	c := startCore(t, 0)
	a, _, user, _ := pgSetup(t, c, "pg")
	n := pgSeq.Add(1)
	schema := fmt.Sprintf("owned_%d", n)
	if _, err := a.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	write(t, c, "database/roles/owner", map[string]any{"db_name": "pg", "creation_statements": []string{
		`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'`,
		`GRANT USAGE, CREATE ON SCHEMA ` + schema + ` TO "{{name}}"`,
	}})
	s := read(t, c, "database/creds/owner")
	udb := adminDB(t, pg.Open, str(s, "username"), str(s, "password"))
	if _, err := udb.Exec(`CREATE TABLE ` + schema + `.mine (id int)`); err != nil {
		t.Fatalf("create table as the issued user: %v", err)
	}
	if err := c.Sys().Revoke(s.LeaseID); err != nil {
		t.Fatal(err)
	}
	if pgRoleExists(t, a, str(s, "username")) {
		t.Fatal("the owner was not dropped")
	}
	var owner string
	if err := a.QueryRow(`SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = 'mine'`, schema).Scan(&owner); err != nil || owner != user {
		t.Fatalf("table owner after revoke: %q %v, want %q", owner, err, user)
	}
}

// TestPostgresAuditHidesSecrets: with a file audit device on, neither the
// root password written to the config nor an issued password reaches the
// log in clear.
func TestPostgresAuditHidesSecrets(t *testing.T) {
	c := startCore(t, 0)
	log := t.TempDir() + "/audit.log"
	if err := c.Sys().EnableAuditWithOptions("file", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": log}}); err != nil {
		t.Fatal(err)
	}
	_, table, _, password := pgSetup(t, c, "pg")
	write(t, c, "database/roles/ro", map[string]any{"db_name": "pg",
		"creation_statements": `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'; GRANT SELECT ON ` + table + ` TO "{{name}}"`})
	s := read(t, c, "database/creds/ro")
	raw, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "database/creds/ro") {
		t.Fatal("the audit log has no creds request: nothing was checked")
	}
	for what, secret := range map[string]string{"root password": password, "issued password": str(s, "password")} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the audit log shows the %s in clear", what)
		}
	}
}

// TestPostgresScramClientSide: with password_authentication =
// scram-sha-256 the engine sends a SCRAM verifier, never the password:
// PostgreSQL stores it as is even where it would hash a clear password
// with md5, and the issued user logs in with its password.
func TestPostgresScramClientSide(t *testing.T) {
	c := startCore(t, 0)
	a, table, _, _ := pgSetup(t, c, "pg")
	stmts := []string{`SET LOCAL password_encryption = 'md5'; CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'; GRANT SELECT ON ` + table + ` TO "{{name}}"`}
	write(t, c, "database/roles/ro", map[string]any{"db_name": "pg", "creation_statements": stmts})
	stored := func(user string) string {
		var pw string
		if err := a.QueryRow(`SELECT rolpassword FROM pg_authid WHERE rolname = $1`, user).Scan(&pw); err != nil {
			t.Fatal(err)
		}
		return pw
	}
	plain := read(t, c, "database/creds/ro")
	if got := stored(str(plain, "username")); !strings.HasPrefix(got, "md5") {
		t.Fatalf("without scram the server hashed the clear password: want md5..., got %.14s", got)
	}
	write(t, c, "database/config/pg", map[string]any{"password_authentication": "scram-sha-256"})
	s := read(t, c, "database/creds/ro")
	if got := stored(str(s, "username")); !strings.HasPrefix(got, "SCRAM-SHA-256$4096:") {
		t.Fatalf("with scram the engine's verifier was not stored: %.20s", got)
	}
	if err := canLogin(pg.Open, str(s, "username"), str(s, "password")); err != nil {
		t.Fatalf("login with a client-side SCRAM password: %v", err)
	}
	if d := read(t, c, "database/config/pg").Data["connection_details"].(map[string]any); d["password_authentication"] != "scram-sha-256" {
		t.Fatalf("connection_details: %v", d)
	}
	_, err := c.Logical().Write("database/config/pg", map[string]any{"password_authentication": "md5"})
	wantStatus(t, err, 400, "password_authentication")
}

// TestPostgresLeaseEdges: a renewal never passes the role's max_ttl; a
// lease whose role was deleted is still revoked (default statements on
// the database it was issued from); custom root rotation statements are
// used by rotate-root.
func TestPostgresLeaseEdges(t *testing.T) {
	c := startCore(t, 0)
	a, table, user, password := pgSetup(t, c, "pg")
	stmts := `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT SELECT ON ` + table + ` TO "{{name}}"`
	write(t, c, "database/roles/capped", map[string]any{"db_name": "pg", "creation_statements": stmts, "default_ttl": 5, "max_ttl": 10})
	s := read(t, c, "database/creds/capped")
	r, err := c.Sys().Renew(s.LeaseID, 3600)
	if err != nil {
		t.Fatal(err)
	}
	if r.LeaseDuration > 10 || r.LeaseDuration < 1 {
		t.Fatalf("renewal past max_ttl: lease_duration %d", r.LeaseDuration)
	}
	if err := c.Sys().Revoke(s.LeaseID); err != nil {
		t.Fatal(err)
	}

	write(t, c, "database/roles/gone", map[string]any{"db_name": "pg", "creation_statements": stmts, "default_ttl": "1h"})
	g := read(t, c, "database/creds/gone")
	if _, err := c.Logical().Delete("database/roles/gone"); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().Revoke(g.LeaseID); err != nil {
		t.Fatalf("revoke after the role was deleted: %v", err)
	}
	if pgRoleExists(t, a, str(g, "username")) {
		t.Fatal("the user of a deleted role's lease survived its revocation")
	}

	write(t, c, "database/config/pg", map[string]any{"root_rotation_statements": []string{`ALTER ROLE "{{username}}" WITH PASSWORD '{{password}}' CONNECTION LIMIT 50`}})
	write(t, c, "database/rotate-root/pg", nil)
	var limit int
	if err := a.QueryRow(`SELECT rolconnlimit FROM pg_roles WHERE rolname = $1`, user).Scan(&limit); err != nil || limit != 50 {
		t.Fatalf("custom root rotation statement not run: connlimit %d %v", limit, err)
	}
	if err := canLogin(pg.Open, user, password); err == nil {
		t.Fatal("the old root password still logs in")
	}
	if got := read(t, c, "database/config/pg").Data["root_credentials_rotate_statements"]; fmt.Sprint(got) == "[]" {
		t.Fatalf("root_credentials_rotate_statements: %v", got)
	}
}

// TestStaticRotationWithoutPeriodicRun: with the core's periodic runner at
// its default minute, a 5-second rotation_period still holds: the engine's
// own rotation loop (Vault's 5-second queue tick) rotates the password.
func TestStaticRotationWithoutPeriodicRun(t *testing.T) {
	c := startCore(t, time.Hour) // the periodic runner never comes in this test
	a, _, _, _ := pgSetup(t, c, "pg")
	if _, err := a.Exec(`CREATE ROLE app_loop WITH LOGIN PASSWORD 'initial-pw'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Exec(`DROP ROLE IF EXISTS app_loop`) })
	write(t, c, "database/static-roles/loop", map[string]any{"db_name": "pg", "username": "app_loop", "rotation_period": "5s"})
	s1 := read(t, c, "database/static-creds/loop")
	var s2 *vault.Secret
	eventually(t, "a rotation by the engine's loop", func() bool {
		s2 = read(t, c, "database/static-creds/loop")
		return str(s2, "last_vault_rotation") != str(s1, "last_vault_rotation")
	})
	if err := canLogin(pg.Open, "app_loop", str(s2, "password")); err != nil {
		t.Fatalf("rotated password: %v", err)
	}
}
