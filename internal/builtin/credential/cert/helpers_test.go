package cert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/strongbox/strongbox/internal/builtin/credential/cert/certtest"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/logicaltest"
)

type env struct {
	*logicaltest.Env
	t *testing.T
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return &env{Env: logicaltest.New(t, newBackend().framework()), t: t}
}

// login sends a login request over a connection presenting chain (none:
// a TLS connection without a client certificate; nil conn state when
// noTLS).
func (e *env) login(op logical.Operation, data map[string]any, chain ...*x509.Certificate) (*logical.Response, error) {
	e.t.Helper()
	return e.Backend.HandleRequest(context.Background(), &logical.Request{
		Operation: op, Path: "login", Data: data, Storage: e.Storage,
		Connection: &logical.Connection{RemoteAddr: e.RemoteAddr, ConnState: &tls.ConnectionState{PeerCertificates: chain}},
	})
}

func mustCA(t *testing.T, cn string) *certtest.CA {
	t.Helper()
	ca, err := certtest.NewCA(cn)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func mustIssue(t *testing.T, ca *certtest.CA, o certtest.Options, chain ...*x509.Certificate) *certtest.Leaf {
	t.Helper()
	l, err := ca.Issue(o, chain...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// status checks err is a coded error with status and message.
func status(t *testing.T, err error, wantStatus int, wantMsg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %d %q", wantStatus, wantMsg)
	}
	s, msg := logical.StatusOf(err)
	if s != wantStatus || (wantMsg != "" && msg != wantMsg) {
		t.Fatalf("got %d %q, want %d %q", s, msg, wantStatus, wantMsg)
	}
}

func certtestCA() (string, error) {
	ca, err := certtest.NewCA("fuzz")
	if err != nil {
		return "", err
	}
	return ca.PEM, nil
}
