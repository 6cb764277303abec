package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// echoHandler stands in for the active node's API handler: it reports what it
// received in headers and sends the body back.
func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	status := http.StatusOK
	if s := r.URL.Query().Get("status"); s != "" {
		status, _ = strconv.Atoi(s)
	}
	fi, forwarded := ForwardedFrom(r.Context())
	h := w.Header()
	h.Set("X-Echo-Method", r.Method)
	h.Set("X-Echo-Path", r.URL.EscapedPath())
	h.Set("X-Echo-Query", r.URL.RawQuery)
	h.Set("X-Echo-Host", r.Host)
	h.Set("X-Echo-Remote", r.RemoteAddr)
	h.Set("X-Echo-Forwarded", strconv.FormatBool(forwarded && fi.StandbyAddr != ""))
	h.Set("X-Echo-Token", r.Header.Get("X-Vault-Token"))
	h.Set("X-Echo-Custom", strings.Join(r.Header.Values("X-Custom"), "|"))
	h.Set("X-Echo-Spoof", r.Header.Get(HeaderForwardedFor))
	h.Set("X-Echo-Connection", r.Header.Get("Connection")+r.Header.Get("X-Hop"))
	h["X-Multi"] = []string{"one", "two"}
	h.Set("Content-Type", "application/octet-stream")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

type forwardSetup struct {
	listener *Listener
	fwd      *Forwarder
	conns    *atomic.Int32 // forwarding connections the active accepted
}

// newForwardSetup runs an active node's ForwardServer and a standby's
// Forwarder, authenticated the way DESIGN §5 says: the active advertises one
// self-signed pair; the standby presents it and trusts only it.
func newForwardSetup(t *testing.T, handler http.HandlerFunc, opts ForwarderOptions) *forwardSetup {
	t.Helper()
	certPEM, keyPEM, err := GenerateCert("active.cluster", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(certPEM)
	set := &TLSConfigSet{}
	set.SetServer(ProtoForwarding, MutualTLSServerConfig(pair, p))
	l := newTestListener(t, set)
	fs := NewForwardServer(handler, nil)
	var conns atomic.Int32
	l.Register(ProtoForwarding, HandlerFunc(func(ctx context.Context, c *tls.Conn) {
		conns.Add(1)
		fs.ServeCluster(ctx, c)
	}))
	if opts.TLSConfig == nil {
		opts.TLSConfig = MutualTLSClientConfig(pair, p, "")
	}
	opts.TargetAddr = l.Addr().String()
	fwd, err := NewForwarderWithOptions(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fwd.Close() })
	return &forwardSetup{listener: l, fwd: fwd, conns: &conns}
}

// clientRequest builds a request as the standby's HTTP server hands it over.
func clientRequest(t *testing.T, method, target string, body []byte) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequest(method, "http://vault.example:8200"+target, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		r.Body = http.NoBody
	}
	r.RemoteAddr = "203.0.113.7:51234"
	return r
}

func TestForwardVerbatim(t *testing.T) {
	s := newForwardSetup(t, echoHandler, ForwarderOptions{})
	for _, tc := range []struct {
		name, method, target string
		body                 []byte
		status               int
	}{
		{"get", http.MethodGet, "/v1/secret/data/app", nil, 200},
		{"put created", http.MethodPut, "/v1/secret/data/app?status=201", []byte(`{"data":{"k":"v"}}`), 201},
		{"list not found", "LIST", "/v1/secret/metadata/?status=404", nil, 404},
		{"post unavailable", http.MethodPost, "/v1/sys/step-down?status=503&x=a%20b", []byte("x"), 503},
		{"escaped path", http.MethodDelete, "/v1/secret/data/a%2Fb/c?status=204", nil, 204},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := clientRequest(t, tc.method, tc.target, tc.body)
			r.Header.Set("X-Vault-Token", "s.testtoken")
			r.Header.Add("X-Custom", "a")
			r.Header.Add("X-Custom", "b")
			r.Header.Set(HeaderForwardedFor, "10.6.6.6:1") // a client's spoof attempt
			r.Header.Set("Connection", "X-Hop")
			r.Header.Set("X-Hop", "dropped")
			resp, err := s.fwd.Forward(testContext(t), r)
			if err != nil {
				t.Fatalf("Forward: %v", err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			wantPath, wantQuery, _ := strings.Cut(tc.target, "?")
			checks := []struct{ name, got, want string }{
				{"status", strconv.Itoa(resp.StatusCode), strconv.Itoa(tc.status)},
				{"body", string(got), string(tc.body)},
				{"method", resp.Header.Get("X-Echo-Method"), tc.method},
				{"path", resp.Header.Get("X-Echo-Path"), wantPath},
				{"query", resp.Header.Get("X-Echo-Query"), wantQuery},
				{"host", resp.Header.Get("X-Echo-Host"), "vault.example:8200"},
				{"remote addr", resp.Header.Get("X-Echo-Remote"), r.RemoteAddr},
				{"forwarded", resp.Header.Get("X-Echo-Forwarded"), "true"},
				{"token", resp.Header.Get("X-Echo-Token"), "s.testtoken"},
				{"multi-valued request header", resp.Header.Get("X-Echo-Custom"), "a|b"},
				{"forwarded-for reaches handler", resp.Header.Get("X-Echo-Spoof"), ""},
				{"hop-by-hop headers", resp.Header.Get("X-Echo-Connection"), ""},
				{"multi-valued response header", strings.Join(resp.Header.Values("X-Multi"), "|"), "one|two"},
				{"content type", resp.Header.Get("Content-Type"), "application/octet-stream"},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
				}
			}
		})
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("active accepted %d forwarding connections, want 1 (reuse)", n)
	}
}

func TestForwardLargeBody(t *testing.T) {
	s := newForwardSetup(t, echoHandler, ForwarderOptions{})
	body := make([]byte, 5<<20)
	_, _ = rand.Read(body)
	resp, err := s.fwd.Forward(testContext(t), clientRequest(t, http.MethodPost, "/v1/transit/encrypt/k?status=201", body))
	if err != nil {
		t.Fatalf("Forward: %v", err)
	}
	// WriteResponse is how the standby answers its client.
	var rec recorder
	if err := WriteResponse(&rec, resp); err != nil {
		t.Fatalf("WriteResponse: %v", err)
	}
	if rec.status != 201 || !bytes.Equal(rec.body.Bytes(), body) {
		t.Fatalf("status %d, body %d bytes equal=%v", rec.status, rec.body.Len(), bytes.Equal(rec.body.Bytes(), body))
	}
	if rec.header.Get("X-Echo-Method") != http.MethodPost {
		t.Fatalf("headers not copied: %v", rec.header)
	}
}

func TestForwardConcurrent(t *testing.T) {
	s := newForwardSetup(t, echoHandler, ForwarderOptions{})
	const workers, perWorker = 32, 4
	ctx := testContext(t)
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				body := bytes.Repeat([]byte(fmt.Sprintf("w%d-i%d;", w, i)), 8<<10)
				status := []int{200, 201, 404, 503}[i%4]
				r := clientRequest(t, http.MethodPut, fmt.Sprintf("/v1/kv/%d/%d?status=%d", w, i, status), body)
				r.Header.Set("X-Vault-Token", fmt.Sprintf("tok-%d-%d", w, i))
				resp, err := s.fwd.Forward(ctx, r)
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					errs <- err
				case resp.StatusCode != status:
					errs <- fmt.Errorf("w%d i%d: status %d, want %d", w, i, resp.StatusCode, status)
				case !bytes.Equal(got, body):
					errs <- fmt.Errorf("w%d i%d: body mismatch (%d bytes)", w, i, len(got))
				case resp.Header.Get("X-Echo-Token") != r.Header.Get("X-Vault-Token"):
					errs <- fmt.Errorf("w%d i%d: token %q", w, i, resp.Header.Get("X-Echo-Token"))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("active accepted %d forwarding connections, want 1 (reuse)", n)
	}
}

func TestForwardFailures(t *testing.T) {
	// A port nothing listens on: the connection is refused at once, so the
	// error must not be the dial timeout.
	refused := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	// A port that accepts TCP and never speaks TLS: only the dial timeout
	// ends the attempt.
	blackHole := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var held []net.Conn
		var mu sync.Mutex
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
			}
		}()
		t.Cleanup(func() {
			ln.Close()
			mu.Lock()
			defer mu.Unlock()
			for _, c := range held {
				c.Close()
			}
		})
		return ln.Addr().String()
	}
	conf := MutualTLSClientConfig(issue(t, newTestKeyring(t), "standby"), x509.NewCertPool(), "")
	for _, tc := range []struct {
		name         string
		addr         func(*testing.T) string
		dialTimeout  time.Duration
		wantDeadline bool
	}{
		{"connection refused", refused, 20 * time.Second, false},
		{"black hole", blackHole, 200 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fwd, err := NewForwarderWithOptions(ForwarderOptions{
				TargetAddr: tc.addr(t), TLSConfig: conf, DialTimeout: tc.dialTimeout,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer fwd.Close()
			ctx := testContext(t)
			resp, err := fwd.Forward(ctx, clientRequest(t, http.MethodGet, "/v1/sys/health", nil))
			if err == nil {
				resp.Body.Close()
				t.Fatal("Forward to a dead target succeeded")
			}
			if !errors.Is(err, ErrForwarding) || !errors.Is(err, ErrNotSent) {
				t.Fatalf("err = %v, want ErrForwarding and ErrNotSent", err)
			}
			if ctx.Err() != nil {
				t.Fatalf("Forward returned only when the caller's context expired: %v", err)
			}
			if got := errors.Is(err, context.DeadlineExceeded); got != tc.wantDeadline {
				t.Fatalf("err = %v; deadline exceeded = %v, want %v", err, got, tc.wantDeadline)
			}
		})
	}
}

func TestForwardRequestTimeout(t *testing.T) {
	stuck := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	s := newForwardSetup(t, stuck, ForwarderOptions{RequestTimeout: 300 * time.Millisecond})
	ctx := testContext(t)
	resp, err := s.fwd.Forward(ctx, clientRequest(t, http.MethodGet, "/v1/slow", nil))
	if err == nil {
		resp.Body.Close()
		t.Fatal("Forward to a stuck handler succeeded")
	}
	if !errors.Is(err, ErrForwarding) || ctx.Err() != nil {
		t.Fatalf("err = %v (caller ctx %v), want ErrForwarding from the request timeout", err, ctx.Err())
	}
	// The active got the request: the outcome is unknown, not "not sent".
	if errors.Is(err, ErrNotSent) {
		t.Fatalf("a request the active received was reported as not sent: %v", err)
	}
}

func TestForwardRejectedByActive(t *testing.T) {
	// The standby presents a certificate the active does not trust.
	otherPEM, otherKey, err := GenerateCert("not-the-active", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := tls.X509KeyPair(otherPEM, otherKey)
	if err != nil {
		t.Fatal(err)
	}
	s := newForwardSetup(t, echoHandler, ForwarderOptions{})
	conf := s.fwd.tlsConf.Clone()
	conf.Certificates = []tls.Certificate{other}
	fwd, err := NewForwarder(s.fwd.Target(), conf)
	if err != nil {
		t.Fatal(err)
	}
	defer fwd.Close()
	resp, err := fwd.Forward(testContext(t), clientRequest(t, http.MethodGet, "/v1/sys/health", nil))
	if err == nil {
		resp.Body.Close()
		t.Fatal("untrusted standby was served")
	}
	if !errors.Is(err, ErrForwarding) {
		t.Fatalf("err = %v, want ErrForwarding", err)
	}
}

func TestForwarderClose(t *testing.T) {
	s := newForwardSetup(t, echoHandler, ForwarderOptions{})
	resp, err := s.fwd.Forward(testContext(t), clientRequest(t, http.MethodGet, "/v1/a", nil))
	if err != nil {
		t.Fatalf("Forward: %v", err)
	}
	resp.Body.Close()
	if err := s.fwd.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = s.fwd.Forward(testContext(t), clientRequest(t, http.MethodGet, "/v1/a", nil))
	if !errors.Is(err, ErrForwarding) || !errors.Is(err, ErrForwarderClosed) {
		t.Fatalf("Forward after Close = %v, want ErrForwarderClosed", err)
	}
}

func TestNewForwarderValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		addr string
		conf *tls.Config
	}{
		{"nil TLS", "127.0.0.1:1", nil},
		{"no port", "127.0.0.1", &tls.Config{}},
		{"empty", "", &tls.Config{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewForwarder(tc.addr, tc.conf); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// recorder is a minimal http.ResponseWriter.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header {
	if r.header == nil {
		r.header = make(http.Header)
	}
	return r.header
}
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

func TestForwarderRedialsAfterConnectionLoss(t *testing.T) {
	certPEM, keyPEM, err := GenerateCert("active.cluster", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(certPEM)
	set := &TLSConfigSet{}
	set.SetServer(ProtoForwarding, MutualTLSServerConfig(pair, p))
	l := newTestListener(t, set)
	fs := NewForwardServer(http.HandlerFunc(echoHandler), nil)
	var mu sync.Mutex
	var serverConns []*tls.Conn
	l.Register(ProtoForwarding, HandlerFunc(func(ctx context.Context, c *tls.Conn) {
		mu.Lock()
		serverConns = append(serverConns, c)
		mu.Unlock()
		fs.ServeCluster(ctx, c)
	}))
	fwd, err := NewForwarder(l.Addr().String(), MutualTLSClientConfig(pair, p, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer fwd.Close()
	ctx := testContext(t)
	get := func() error {
		resp, err := fwd.Forward(ctx, clientRequest(t, http.MethodGet, "/v1/x", nil))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	if err := get(); err != nil {
		t.Fatalf("first Forward: %v", err)
	}
	mu.Lock()
	_ = serverConns[0].Close() // the active drops the connection
	mu.Unlock()

	// A request racing the drop may fail (the standby then answers 307);
	// the Forwarder must recover by dialing again.
	for err := get(); err != nil; err = get() {
		if ctx.Err() != nil {
			t.Fatalf("Forwarder never recovered: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(serverConns) != 2 {
		t.Fatalf("active saw %d connections, want 2", len(serverConns))
	}
}
