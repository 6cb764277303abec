package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/strongbox/strongbox/internal/builtin/secrets/database/dbdriver"
)

// Plugin names this driver serves; the last three are "legacy" (16-char
// usernames).
const (
	PluginName       = "mysql-database-plugin"
	AuroraPluginName = "mysql-aurora-database-plugin"
	RDSPluginName    = "mysql-rds-database-plugin"
	LegacyPluginName = "mysql-legacy-database-plugin"
)

// Username templates, Vault's: 32 characters (MySQL 5.7+), 16 for legacy.
const (
	DefaultUsernameTemplate       = `{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 10) (.RoleName | truncate 10) (random 20) (unix_time) | truncate 32 }}`
	DefaultLegacyUsernameTemplate = `{{ printf "v-%s-%s-%s" (.RoleName | truncate 4) (.DisplayName | truncate 4) (random 20) | truncate 16 }}`
)

type driver struct {
	db     *sql.DB
	legacy bool
}

// Open parses the DSN (go-sql-driver's format,
// "{{username}}:{{password}}@tcp(host:port)/") and opens a pool; it does
// not connect (Ping does). legacy selects the 16-character usernames.
func Open(_ context.Context, c dbdriver.Config, legacy bool) (dbdriver.Driver, error) {
	dsn, hasUser, hasPassword := dbdriver.PrepareURL(c.ConnectionURL)
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", dbdriver.ErrConnection, err)
	}
	if hasUser {
		cfg.User = c.Username
	}
	if hasPassword {
		cfg.Passwd = c.Password
	}
	conn, err := gomysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", dbdriver.ErrConnection, err)
	}
	db := sql.OpenDB(conn)
	dbdriver.ConfigurePool(db, c)
	return &driver{db: db, legacy: legacy}, nil
}

func (d *driver) Ping(ctx context.Context) error {
	if err := d.db.PingContext(ctx); err != nil {
		return fmt.Errorf("%w: %v", dbdriver.ErrConnection, err)
	}
	return nil
}

func (d *driver) DefaultUsernameTemplate() string {
	if d.legacy {
		return DefaultLegacyUsernameTemplate
	}
	return DefaultUsernameTemplate
}

// CreateUser runs the creation statements. MySQL commits each DDL
// statement at once, so a failure after CREATE USER would leave a user no
// lease covers: the new (randomly named) user is dropped again.
func (d *driver) CreateUser(ctx context.Context, stmts []string, username, password string, exp time.Time) error {
	err := dbdriver.ExecTx(ctx, d.db, stmts, dbdriver.Vars(username, password, exp.UTC().Format(time.DateTime)))
	if err != nil {
		if derr := d.RevokeUser(ctx, nil, username); derr != nil {
			return fmt.Errorf("%w (and dropping the half-created user: %v)", err, derr)
		}
	}
	return err
}

// RenewUser runs the renew statements; MySQL users have no expiry of
// their own, so there is nothing to do by default.
func (d *driver) RenewUser(ctx context.Context, stmts []string, username string, exp time.Time) error {
	return dbdriver.ExecTx(ctx, d.db, stmts, dbdriver.Vars(username, "", exp.UTC().Format(time.DateTime)))
}

// SetPassword runs the rotation statements, by default an ALTER USER of
// every account (user@host) with this user name.
func (d *driver) SetPassword(ctx context.Context, stmts []string, username, password string) error {
	if len(stmts) > 0 {
		return dbdriver.ExecTx(ctx, d.db, stmts, dbdriver.Vars(username, password, ""))
	}
	hosts, err := d.hosts(ctx, username)
	if err != nil {
		return err
	}
	if len(hosts) == 0 {
		return fmt.Errorf("user %q does not exist", username)
	}
	for _, h := range hosts {
		if _, err := d.db.ExecContext(ctx, "ALTER USER "+account(username, h)+" IDENTIFIED BY "+quote(password)); err != nil {
			return fmt.Errorf("alter user: %w", err)
		}
	}
	return nil
}

// RevokeUser runs the revocation statements or, by default, ends the
// user's sessions and drops every account with its name. A user already
// gone is success, so a retried revocation ends well.
func (d *driver) RevokeUser(ctx context.Context, stmts []string, username string) error {
	if len(stmts) > 0 {
		return dbdriver.ExecTx(ctx, d.db, stmts, dbdriver.Vars(username, "", ""))
	}
	hosts, err := d.hosts(ctx, username)
	if err != nil {
		return err
	}
	for _, h := range hosts {
		// Lock first so no new session starts between the kill and the drop.
		if _, err := d.db.ExecContext(ctx, "ALTER USER "+account(username, h)+" ACCOUNT LOCK"); err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
	}
	if err := d.killSessions(ctx, username); err != nil {
		return err
	}
	for _, h := range hosts {
		if _, err := d.db.ExecContext(ctx, "DROP USER IF EXISTS "+account(username, h)); err != nil {
			return fmt.Errorf("drop user: %w", err)
		}
	}
	return nil
}

func (d *driver) killSessions(ctx context.Context, username string) error {
	rows, err := d.db.QueryContext(ctx, "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?", username)
	if err != nil {
		return fmt.Errorf("list sessions: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("list sessions: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list sessions: %w", err)
	}
	for _, id := range ids {
		// A session that ended meanwhile answers "unknown thread id".
		if _, err := d.db.ExecContext(ctx, fmt.Sprintf("KILL %d", id)); err != nil && !isUnknownThread(err) {
			return fmt.Errorf("kill session: %w", err)
		}
	}
	return nil
}

func isUnknownThread(err error) bool {
	var me *gomysql.MySQLError
	return errors.As(err, &me) && me.Number == 1094
}

// hosts lists the Host column of every account named username.
func (d *driver) hosts(ctx context.Context, username string) ([]string, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT Host FROM mysql.user WHERE User = ?", username)
	if err != nil {
		return nil, fmt.Errorf("look up user: %w", err)
	}
	defer rows.Close()
	var hosts []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("look up user: %w", err)
		}
		hosts = append(hosts, h)
	}
	return hosts, rows.Err()
}

// quote makes a MySQL string literal.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}

func account(user, host string) string { return quote(user) + "@" + quote(host) }

func (d *driver) Close() error { return d.db.Close() }
