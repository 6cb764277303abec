package database_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/audit"
	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/builtin/secrets/database/dbtest"
	"github.com/strongbox/strongbox/internal/core"
	apihttp "github.com/strongbox/strongbox/internal/http"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// The package's database servers, started once in TestMain.
var (
	pg    *dbtest.Postgres
	maria *dbtest.MariaDB
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var err error
	if pg, err = dbtest.StartPostgres(); err != nil {
		fmt.Fprintln(os.Stderr, "start postgres:", err)
		return 1
	}
	defer pg.Stop()
	if maria, err = dbtest.StartMariaDB(); err != nil {
		fmt.Fprintln(os.Stderr, "start mariadb:", err)
		return 1
	}
	defer maria.Stop()
	return m.Run()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startCore serves a core with the builtin engines over HTTP on
// 127.0.0.1, initialized and unsealed, the database engine mounted at
// database/; it returns a root client. periodic shortens the core's
// periodic runner (static rotations); zero keeps the default.
func startCore(t testing.TB, periodic time.Duration) *vault.Client {
	t.Helper()
	c, err := core.New(core.Config{
		Physical: inmem.New(), StorageType: "inmem", Logger: quiet(), AuditDevices: audit.Factories(),
		SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods(),
		PeriodicInterval: periodic,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := apihttp.NewHandler(c, apihttp.Options{Logger: quiet()})
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		h.Close()
		_ = c.Seal(context.Background())
	})
	cfg := vault.DefaultConfig()
	cfg.Address = srv.URL
	cfg.MaxRetries = 0
	client, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	init, err := client.Sys().Init(&vault.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Sys().Unseal(init.Keys[0]); err != nil {
		t.Fatal(err)
	}
	client.SetToken(init.RootToken)
	if err := client.Sys().Mount("database", &vault.MountInput{Type: "database"}); err != nil {
		t.Fatal(err)
	}
	return client
}

// write writes and fails the test on error.
func write(t testing.TB, c *vault.Client, path string, data map[string]any) *vault.Secret {
	t.Helper()
	s, err := c.Logical().Write(path, data)
	if err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return s
}

func read(t testing.TB, c *vault.Client, path string) *vault.Secret {
	t.Helper()
	s, err := c.Logical().Read(path)
	if err != nil || s == nil {
		t.Fatalf("read %s: %v %v", path, s, err)
	}
	return s
}

// wantStatus checks err is a Vault API error with the status and, when
// given, a message containing msg.
func wantStatus(t testing.TB, err error, status int, msg string) {
	t.Helper()
	re, ok := err.(*vault.ResponseError)
	if !ok {
		t.Fatalf("want a %d error, got %v", status, err)
	}
	if re.StatusCode != status || msg != "" && !strings.Contains(strings.Join(re.Errors, " "), msg) {
		t.Fatalf("want %d %q, got %d %v", status, msg, re.StatusCode, re.Errors)
	}
}

// eventually polls cond until it holds or 30s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// canLogin reports whether user/password open a session and answer.
func canLogin(open func(u, p string) (*sql.DB, error), user, password string) error {
	db, err := open(user, password)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

func adminDB(t testing.TB, open func(u, p string) (*sql.DB, error), user, password string) *sql.DB {
	t.Helper()
	db, err := open(user, password)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func str(s *vault.Secret, k string) string {
	v, _ := s.Data[k].(string)
	return v
}

// sqlDB is an admin pool.
type sqlDB struct{ *sql.DB }
