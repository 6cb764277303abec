package ldap

import (
	"strings"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

// StartTLS and ldaps against the test CA: verified with certificate,
// refused when the CA is not trusted, accepted unverified only with
// insecure_tls.
func TestTLS(t *testing.T) {
	e := newEnv(t)
	ok := func(config map[string]any) {
		t.Helper()
		e.Storage.Delete(t.Context(), configKey)
		e.configure(config)
		e.login("alice", "alice-pw")
	}
	refused := func(config map[string]any, want string) {
		t.Helper()
		e.Storage.Delete(t.Context(), configKey)
		e.configure(config)
		_, err := e.Do(logical.UpdateOperation, "login/alice", map[string]any{"password": "alice-pw"})
		status, msg := logical.StatusOf(err)
		if status != 400 || !strings.Contains(msg, want) {
			t.Fatalf("login with %v: %d %q, want 400 containing %q", config, status, msg, want)
		}
	}
	ok(map[string]any{"starttls": true, "certificate": slapd.CACert})
	ok(map[string]any{"url": slapd.LDAPSURL, "certificate": slapd.CACert})
	ok(map[string]any{"starttls": true, "certificate": slapd.CACert, "tls_min_version": "tls13", "tls_max_version": "tls13"})
	// The CA is not trusted.
	refused(map[string]any{"starttls": true}, "certificate signed by unknown authority")
	refused(map[string]any{"url": slapd.LDAPSURL}, "certificate signed by unknown authority")
	refused(map[string]any{"starttls": true, "insecure_tls": false}, "certificate signed by unknown authority")
	ok(map[string]any{"starttls": true, "insecure_tls": true})
	ok(map[string]any{"url": slapd.LDAPSURL, "insecure_tls": true})
}
