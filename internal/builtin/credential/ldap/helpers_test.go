package ldap

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"testing"

	"github.com/strongbox/strongbox/internal/builtin/credential/ldap/ldaptest"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/logicaltest"
)

// slapd is the package's one OpenLDAP server, started by TestMain.
var slapd *ldaptest.Server

// TestMain runs the tests against a private slapd on 127.0.0.1 and stops
// it at the end. Without slapd installed every test fails (the run
// exits 1 with the fix): the method cannot be checked without it.
func TestMain(m *testing.M) {
	flag.Parse()
	// A fuzzing worker runs only the fuzz target, which needs no server.
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "ldaptest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s, err := ldaptest.Start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: the LDAP tests need OpenLDAP:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	slapd = s
	code := m.Run()
	s.Stop()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type env struct {
	*logicaltest.Env
	t *testing.T
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return &env{Env: logicaltest.New(t, newBackend(slog.New(slog.DiscardHandler)).framework()), t: t}
}

// baseConfig searches users as the reader service account, by uid, and
// their groups under ou=groups with Vault's default group filter.
func baseConfig() map[string]any {
	return map[string]any{
		"url": slapd.URL, "userdn": ldaptest.UsersDN, "userattr": "uid", "groupdn": ldaptest.GroupsDN,
		"binddn": ldaptest.ReaderDN, "bindpass": ldaptest.ReaderPW,
	}
}

// configure writes baseConfig with the overrides (a nil value removes the
// key).
func (e *env) configure(overrides map[string]any) {
	e.t.Helper()
	c := baseConfig()
	for k, v := range overrides {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	e.OK(logical.UpdateOperation, "config", c)
}

func (e *env) login(user, password string) *logical.Auth {
	e.t.Helper()
	resp := e.OK(logical.UpdateOperation, "login/"+user, map[string]any{"password": password})
	if resp == nil || resp.Auth == nil {
		e.t.Fatalf("login %s: no auth", user)
	}
	return resp.Auth
}
