package ldap

import (
	"net"
	"strings"
	"testing"

	"github.com/strongbox/strongbox/internal/builtin/credential/ldap/ldaptest"
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

// client_tls_cert and client_tls_key are presented to a server that
// demands a client certificate; without them the handshake fails.
func TestClientCertificate(t *testing.T) {
	strict, err := ldaptest.StartWith(t.TempDir(), ldaptest.Options{RequireClientCert: true})
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Stop()
	e := newEnv(t)
	e.configure(map[string]any{"url": strict.URL, "starttls": true, "certificate": strict.CACert})
	_, err = e.Do(logical.UpdateOperation, "login/alice", map[string]any{"password": "alice-pw"})
	if status, msg := logical.StatusOf(err); status != 400 || !strings.Contains(msg, "StartTLS") {
		t.Fatalf("login without a client certificate: %d %q", status, msg)
	}
	e.configure(map[string]any{"url": strict.URL, "starttls": true, "certificate": strict.CACert,
		"client_tls_cert": strict.ClientCert, "client_tls_key": strict.ClientKey})
	e.login("alice", "alice-pw")
	e.configure(map[string]any{"url": strict.LDAPSURL, "certificate": strict.CACert})
	e.login("alice", "alice-pw")
}

// request_timeout bounds a request to a server that accepts the
// connection and never answers.
func TestRequestTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	e := newEnv(t)
	e.configure(map[string]any{"url": "ldap://" + ln.Addr().String(), "request_timeout": 1})
	_, err = e.Do(logical.UpdateOperation, "login/alice", map[string]any{"password": "alice-pw"})
	if status, _ := logical.StatusOf(err); status != 400 {
		t.Fatalf("login against a silent server: %v", err)
	}
}
