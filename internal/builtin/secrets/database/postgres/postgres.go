package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/strongbox/strongbox/internal/builtin/secrets/database/dbdriver"
)

// PluginName is the plugin_name a config names this driver by.
const PluginName = "postgresql-database-plugin"

// DefaultUsernameTemplate is Vault's for PostgreSQL (63 is the longest
// identifier PostgreSQL keeps).
const DefaultUsernameTemplate = `{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 20) (unix_time) | truncate 63 }}`

// Statements the driver runs when a role or config names none.
const (
	defaultRenew  = `ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}'`
	defaultRotate = `ALTER ROLE "{{name}}" WITH PASSWORD '{{password}}'`
)

// expirationLayout is how {{expiration}} is rendered (VALID UNTIL).
const expirationLayout = "2006-01-02 15:04:05-0700"

type driver struct {
	db *sql.DB
	// scram hashes passwords client-side (password_authentication).
	scram bool
}

// PasswordAuthentication values a config may name.
const (
	AuthPassword    = "password"
	AuthScramSHA256 = "scram-sha-256"
)

// Open parses the connection URL (a URL or key=value string) and opens a
// pool; it does not connect (Ping does).
func Open(_ context.Context, c dbdriver.Config) (dbdriver.Driver, error) {
	url, hasUser, hasPassword := dbdriver.PrepareURL(c.ConnectionURL)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", dbdriver.ErrConnection, err)
	}
	if hasUser {
		cfg.User = c.Username
	}
	if hasPassword {
		cfg.Password = c.Password
	}
	switch c.PasswordAuthentication {
	case "", AuthPassword, AuthScramSHA256:
	default:
		return nil, fmt.Errorf("%w: password_authentication %q: want %q or %q", dbdriver.ErrConnection, c.PasswordAuthentication, AuthPassword, AuthScramSHA256)
	}
	db := stdlib.OpenDB(*cfg)
	dbdriver.ConfigurePool(db, c)
	return &driver{db: db, scram: c.PasswordAuthentication == AuthScramSHA256}, nil
}

func (d *driver) Ping(ctx context.Context) error {
	if err := d.db.PingContext(ctx); err != nil {
		return fmt.Errorf("%w: %v", dbdriver.ErrConnection, err)
	}
	return nil
}

func (d *driver) DefaultUsernameTemplate() string { return DefaultUsernameTemplate }

func (d *driver) CreateUser(ctx context.Context, stmts []string, username, password string, exp time.Time) error {
	pw, err := d.storedPassword(password)
	if err != nil {
		return err
	}
	return d.execTx(ctx, stmts, dbdriver.Vars(username, pw, exp.Format(expirationLayout)))
}

// storedPassword is what {{password}} becomes: the password, or its SCRAM
// verifier with password_authentication = scram-sha-256.
func (d *driver) storedPassword(password string) (string, error) {
	if !d.scram {
		return password, nil
	}
	v, ok, err := scramVerifier(password)
	if err != nil || !ok {
		return password, err
	}
	return v, nil
}

// maxAttempts bounds the retries of a transaction that lost a race.
const maxAttempts = 8

// execTx runs the statements in one transaction, again when PostgreSQL
// refuses it for a concurrent change: two GRANTs on one table at once
// fail with "tuple concurrently updated" (the catalog row of the table's
// ACL), and serialization failures and deadlocks are retryable by
// definition. The failed transaction was rolled back, so a retry is safe.
func (d *driver) execTx(ctx context.Context, stmts []string, vars map[string]string) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = dbdriver.ExecTx(ctx, d.db, stmts, vars)
		if err == nil || attempt == maxAttempts || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
		}
	}
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return true
	case "XX000": // internal_error: only the catalog race
		return strings.Contains(pe.Message, "tuple concurrently updated")
	}
	return false
}

func (d *driver) RenewUser(ctx context.Context, stmts []string, username string, exp time.Time) error {
	if len(stmts) == 0 {
		stmts = []string{defaultRenew}
	}
	return d.execTx(ctx, stmts, dbdriver.Vars(username, "", exp.Format(expirationLayout)))
}

func (d *driver) SetPassword(ctx context.Context, stmts []string, username, password string) error {
	if len(stmts) == 0 {
		stmts = []string{defaultRotate}
	}
	pw, err := d.storedPassword(password)
	if err != nil {
		return err
	}
	return d.execTx(ctx, stmts, dbdriver.Vars(username, pw, ""))
}

func (d *driver) RevokeUser(ctx context.Context, stmts []string, username string) error {
	if len(stmts) > 0 {
		return d.execTx(ctx, stmts, dbdriver.Vars(username, "", ""))
	}
	return d.dropUser(ctx, username)
}

// dropUser ends the user's sessions, hands what it owns to the engine's
// user, drops its privileges and then the role. A role already gone is
// success, so a retried revocation ends well.
func (d *driver) dropUser(ctx context.Context, username string) error {
	var exists bool
	if err := d.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, username).Scan(&exists); err != nil {
		return fmt.Errorf("look up role: %w", err)
	}
	if !exists {
		return nil
	}
	// Disallow new logins first, so no session appears after the purge.
	ident := pgx.Identifier{username}.Sanitize()
	if _, err := d.db.ExecContext(ctx, `ALTER ROLE `+ident+` NOLOGIN`); err != nil {
		return fmt.Errorf("disable login: %w", err)
	}
	if _, err := d.db.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()`, username); err != nil {
		return fmt.Errorf("terminate sessions: %w", err)
	}
	return d.execTx(ctx, []string{
		`REASSIGN OWNED BY ` + ident + ` TO CURRENT_USER`,
		`DROP OWNED BY ` + ident,
		`DROP ROLE IF EXISTS ` + ident,
	}, nil)
}

func (d *driver) Close() error { return d.db.Close() }
