package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// testServer is a real server on a 127.0.0.1 port, driven through Run.
type testServer struct {
	t      *testing.T
	addr   string
	cancel context.CancelFunc
	done   chan error
	out    *lockedBuffer
}

// startServer runs the server with the given HCL config text (the listener
// address is filled in) or in dev mode when hcl is empty.
func startServer(t *testing.T, opts Options) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan []string, 1)
	opts.Ready = func(a []string) { ready <- a }
	out := &lockedBuffer{}
	if opts.Out == nil {
		opts.Out = out
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ts := &testServer{t: t, cancel: cancel, done: make(chan error, 1), out: out}
	go func() { ts.done <- Run(ctx, opts, nil) }()
	select {
	case a := <-ready:
		ts.addr = a[0]
	case err := <-ts.done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start within 30s")
	}
	t.Cleanup(ts.stop)
	return ts
}

func (s *testServer) stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("server exited with error: %v", err)
		}
	case <-time.After(40 * time.Second):
		s.t.Error("server did not stop within 40s")
	}
}

func (s *testServer) client(token string) *vault.Client {
	s.t.Helper()
	cfg := vault.DefaultConfig()
	cfg.Address = "http://" + s.addr
	cfg.MaxRetries = 0
	c, err := vault.NewClient(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

// fileConfig writes a config with file storage under dir and returns its path.
func fileConfig(t *testing.T, dir, extra string) string {
	t.Helper()
	p := filepath.Join(dir, "config.hcl")
	body := fmt.Sprintf(`
storage "file" {
  path = %q
}
listener "tcp" {
  address     = "127.0.0.1:0"
  tls_disable = true
}
disable_mlock = true
%s
`, filepath.Join(dir, "data"), extra)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// initUnseal initializes with 5/3 and unseals with three shares.
func initUnseal(t *testing.T, c *vault.Client) (keys []string, root string) {
	t.Helper()
	res, err := c.Sys().Init(&vault.InitRequest{SecretShares: 5, SecretThreshold: 3})
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	unseal(t, c, res.Keys[:3])
	return res.Keys, res.RootToken
}

func unseal(t *testing.T, c *vault.Client, keys []string) {
	t.Helper()
	var st *vault.SealStatusResponse
	var err error
	for _, k := range keys {
		if st, err = c.Sys().Unseal(k); err != nil {
			t.Fatalf("unseal: %v", err)
		}
	}
	if st.Sealed {
		t.Fatalf("still sealed after %d keys: %+v", len(keys), st)
	}
}

// wantStatus fails unless err is a Vault error response with status, one
// of whose messages contains msg (any message when msg is empty).
func wantStatus(t *testing.T, err error, status int, msg string) {
	t.Helper()
	var re *vault.ResponseError
	if !errors.As(err, &re) || re.StatusCode != status {
		t.Fatalf("error = %v, want HTTP %d", err, status)
	}
	if msg == "" {
		return
	}
	for _, e := range re.Errors {
		if strings.Contains(e, msg) {
			return
		}
	}
	t.Fatalf("got %d %v, want %d %q", re.StatusCode, re.Errors, status, msg)
}
