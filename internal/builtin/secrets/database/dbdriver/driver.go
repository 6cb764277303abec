package dbdriver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrConnection marks a failure to reach or log in to the database (a
// bad URL, host or password): the engine answers it with a 400 at config
// time.
var ErrConnection = errors.New("error verifying connection")

// Config is what a driver needs to open its pool.
type Config struct {
	// ConnectionURL may hold {{username}} and {{password}}, filled with
	// Username and Password (never escaped into the URL: the driver sets
	// them on its parsed configuration).
	ConnectionURL         string
	Username, Password    string
	MaxOpenConnections    int
	MaxIdleConnections    int
	MaxConnectionLifetime time.Duration
	// PasswordAuthentication is PostgreSQL's "password" (the default: the
	// clear password goes in the statements) or "scram-sha-256" (the
	// engine hashes it first); other drivers ignore it.
	PasswordAuthentication string
}

// Driver is an open connection pool to one database. Its methods are safe
// for concurrent use; each runs its statements in one transaction where
// the database allows (MySQL commits DDL implicitly).
type Driver interface {
	// Ping checks the database answers with the configured credentials;
	// a failure wraps ErrConnection.
	Ping(ctx context.Context) error
	// CreateUser runs the creation statements for a new user.
	CreateUser(ctx context.Context, stmts []string, username, password string, expiration time.Time) error
	// RenewUser runs the renew statements (the driver's default when
	// none are given) with the new expiration.
	RenewUser(ctx context.Context, stmts []string, username string, expiration time.Time) error
	// RevokeUser runs the revocation statements, or by default ends the
	// user's sessions and drops it. The default treats a user already
	// gone as done, so a retried revocation succeeds.
	RevokeUser(ctx context.Context, stmts []string, username string) error
	// SetPassword runs the rotation statements (by default the driver's
	// ALTER statement) to give an existing user a new password.
	SetPassword(ctx context.Context, stmts []string, username, password string) error
	// DefaultUsernameTemplate is the username_template the plugin uses
	// when the config names none.
	DefaultUsernameTemplate() string
	// Close closes the pool; in-flight statements finish first.
	Close() error
}

// Placeholder values substituted for {{username}} and {{password}} in a
// connection URL before it is parsed; the driver then sets the real ones.
const (
	URLUserPlaceholder     = "sbdbuser"
	URLPasswordPlaceholder = "sbdbpassword"
)

// PrepareURL replaces the URL's templates with placeholders and reports
// which were present.
func PrepareURL(raw string) (url string, hasUser, hasPassword bool) {
	hasUser = strings.Contains(raw, "{{username}}")
	hasPassword = strings.Contains(raw, "{{password}}")
	url = strings.ReplaceAll(raw, "{{username}}", URLUserPlaceholder)
	url = strings.ReplaceAll(url, "{{password}}", URLPasswordPlaceholder)
	return url, hasUser, hasPassword
}

// ConfigurePool applies the pool sizes and lifetime (Vault's defaults:
// 4 open, idle = open when zero, unlimited lifetime).
func ConfigurePool(db *sql.DB, c Config) {
	open := c.MaxOpenConnections
	if open <= 0 {
		open = 4
	}
	idle := c.MaxIdleConnections
	if idle <= 0 || idle > open {
		idle = open
	}
	db.SetMaxOpenConns(open)
	db.SetMaxIdleConns(idle)
	db.SetConnMaxLifetime(c.MaxConnectionLifetime)
}

// Render substitutes {{key}} in s for every key of vars.
func Render(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	return s
}

// Vars are a statement's template values: {{name}} and {{username}} are
// both the user's name, as in Vault.
func Vars(username, password, expiration string) map[string]string {
	return map[string]string{"name": username, "username": username, "password": password, "expiration": expiration}
}

// Split cuts each statement at semicolons outside quotes and dollar-quoted
// bodies and drops empty pieces, so one list entry may hold several
// statements as Vault allows.
func Split(stmts []string) []string {
	var out []string
	for _, s := range stmts {
		out = append(out, splitOne(s)...)
	}
	return out
}

func splitOne(s string) []string {
	var out []string
	start := 0
	var quote byte       // ' or " or ` while inside one
	var dollarTag string // "$tag$" while inside a dollar-quoted body
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case dollarTag != "":
			if strings.HasPrefix(s[i:], dollarTag) {
				i += len(dollarTag) - 1
				dollarTag = ""
			}
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '$':
			if j := strings.IndexByte(s[i+1:], '$'); j >= 0 && isTag(s[i+1:i+1+j]) {
				dollarTag = s[i : i+j+2]
				i += j + 1
			}
		case c == ';':
			if q := strings.TrimSpace(s[start:i]); q != "" {
				out = append(out, q)
			}
			start = i + 1
		}
	}
	if q := strings.TrimSpace(s[start:]); q != "" {
		out = append(out, q)
	}
	return out
}

func isTag(t string) bool {
	for _, r := range t {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// ExecTx runs the statements, rendered with vars, in one transaction.
// Errors name the statement's position, never its text (it may hold a
// password).
func ExecTx(ctx context.Context, db *sql.DB, stmts []string, vars map[string]string) error {
	queries := Split(stmts)
	if len(queries) == 0 {
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	for i, q := range queries {
		if _, err := tx.ExecContext(ctx, Render(q, vars)); err != nil {
			return fmt.Errorf("statement %d: %w", i+1, redacted{err: err, secret: vars["password"]})
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// redacted hides a secret in an error's text (MySQL quotes the statement
// near a syntax error, password included) and keeps the error for
// errors.As.
type redacted struct {
	err    error
	secret string
}

func (r redacted) Error() string {
	if r.secret == "" {
		return r.err.Error()
	}
	return strings.ReplaceAll(r.err.Error(), r.secret, "*****")
}

func (r redacted) Unwrap() error { return r.err }
