package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/server"
)

// testServer is a real Strongbox server (file storage, so it survives a
// restart) on a fixed 127.0.0.1 port.
type testServer struct {
	t      *testing.T
	cfg    string
	addr   string
	scheme string // http, or https with caFile
	caFile string
	keys   []string
	root   string
	cancel context.CancelFunc
	done   chan error
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func newTestServer(t *testing.T) *testServer { return newTestServerTLS(t, "", "", "") }

// newTestServerTLS serves TLS with the given files when certFile is set;
// caFile verifies the server in clients.
func newTestServerTLS(t *testing.T, certFile, keyFile, caFile string) *testServer {
	t.Helper()
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "server.hcl")
	tlsLines := "tls_disable = true"
	scheme := "http"
	if certFile != "" {
		tlsLines = fmt.Sprintf("tls_cert_file = %q\n  tls_key_file = %q", certFile, keyFile)
		scheme = "https"
	}
	body := fmt.Sprintf("storage \"file\" {\n  path = %q\n}\nlistener \"tcp\" {\n  address = %q\n  %s\n}\ndisable_mlock = true\n",
		filepath.Join(dir, "data"), addr, tlsLines)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &testServer{t: t, cfg: cfg, addr: addr, scheme: scheme, caFile: caFile}
	s.start()
	t.Cleanup(s.stop)
	res, err := s.client("").Sys().Init(&vault.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	s.keys, s.root = res.Keys, res.RootToken
	s.unseal()
	return s
}

func (s *testServer) start() {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan []string, 1)
	s.cancel, s.done = cancel, make(chan error, 1)
	opts := server.Options{ConfigPaths: []string{s.cfg}, Out: io.Discard,
		Logger: slog.New(slog.DiscardHandler), Ready: func(a []string) { ready <- a }}
	go func() { s.done <- server.Run(ctx, opts, nil) }()
	select {
	case <-ready:
	case err := <-s.done:
		cancel()
		s.t.Fatalf("server did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		s.t.Fatal("server did not start within 30s")
	}
}

func (s *testServer) unseal() {
	s.t.Helper()
	st, err := s.client("").Sys().Unseal(s.keys[0])
	if err != nil || st.Sealed {
		s.t.Fatalf("unseal: %v %+v", err, st)
	}
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
	cfg.Address = s.scheme + "://" + s.addr
	cfg.MaxRetries = 0
	if s.caFile != "" {
		if err := cfg.ConfigureTLS(&vault.TLSConfig{CACert: s.caFile}); err != nil {
			s.t.Fatal(err)
		}
	}
	c, err := vault.NewClient(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

// appRole enables AppRole and creates role "app" with the given token
// settings; it writes the role ID and a fresh secret ID into dir.
func (s *testServer) appRole(dir string, role map[string]any) (roleIDFile, secretIDFile string) {
	s.t.Helper()
	c := s.client(s.root)
	if err := c.Sys().EnableAuthWithOptions("approle", &vault.EnableAuthOptions{Type: "approle"}); err != nil && !strings.Contains(err.Error(), "already in use") {
		s.t.Fatalf("enable approle: %v", err)
	}
	if _, err := c.Logical().Write("auth/approle/role/app", role); err != nil {
		s.t.Fatalf("write role: %v", err)
	}
	rid, err := c.Logical().Read("auth/approle/role/app/role-id")
	if err != nil {
		s.t.Fatalf("role-id: %v", err)
	}
	sid, err := c.Logical().Write("auth/approle/role/app/secret-id", nil)
	if err != nil {
		s.t.Fatalf("secret-id: %v", err)
	}
	roleIDFile, secretIDFile = filepath.Join(dir, "role-id"), filepath.Join(dir, "secret-id")
	writeFile(s.t, roleIDFile, rid.Data["role_id"].(string))
	writeFile(s.t, secretIDFile, sid.Data["secret_id"].(string))
	return roleIDFile, secretIDFile
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// logBuffer records the agent's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runningAgent is Run in a goroutine.
type runningAgent struct {
	cancel context.CancelFunc
	done   chan error
	logs   *logBuffer
}

func startAgent(t *testing.T, hcl string) *runningAgent {
	t.Helper()
	cfg, err := Parse("agent.hcl", []byte(hcl))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &runningAgent{cancel: cancel, done: make(chan error, 1), logs: &logBuffer{}}
	logger := slog.New(slog.NewTextHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { a.done <- Run(ctx, cfg, logger) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-a.done:
			if err != nil {
				t.Errorf("agent: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("agent did not stop within 30s")
		}
	})
	return a
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sinkToken reads the sink, "" when it does not exist yet.
func sinkToken(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}

func newTextLogger(w *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
