package cluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestListenerDispatchesByALPN(t *testing.T) {
	k := newTestKeyring(t)
	set := keyringConfigs(t, k, "node1", "alpha_v1", "beta_v1")
	l := newTestListener(t, set)
	l.Register("alpha_v1", writeAndClose("alpha"))
	l.Register("beta_v1", writeAndClose("beta"))

	for _, tc := range []struct{ proto, want string }{
		{"alpha_v1", "alpha"},
		{"beta_v1", "beta"},
		{"alpha_v1", "alpha"},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			ctx := testContext(t)
			conf, err := set.ClientConfig(tc.proto, "127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			got, err := exchange(ctx, l.Addr().String(), conf, tc.proto)
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}

	// Listener.Dial negotiates the protocol and returns a verified conn.
	c, err := l.Dial(testContext(t), "beta_v1", l.Addr().String())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if got := c.ConnectionState().NegotiatedProtocol; got != "beta_v1" {
		t.Fatalf("negotiated %q", got)
	}
}

func TestListenerRejectsUnknownALPN(t *testing.T) {
	k := newTestKeyring(t)
	// "orphan_v1" has TLS configs but no handler: still unknown.
	set := keyringConfigs(t, k, "node1", "alpha_v1", "orphan_v1")
	l := newTestListener(t, set)
	var served atomic.Int32
	l.Register("alpha_v1", HandlerFunc(func(ctx context.Context, c *tls.Conn) {
		served.Add(1)
		writeAndClose("alpha").ServeCluster(ctx, c)
	}))
	conf, err := set.ClientConfig("alpha_v1", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		protos []string
	}{
		{"unknown", []string{"nope_v1"}},
		{"none offered", nil},
		{"registered configs but no handler", []string{"orphan_v1"}},
		{"http/1.1", []string{"http/1.1", "h2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := exchange(testContext(t), l.Addr().String(), conf, tc.protos...)
			if err == nil {
				t.Fatalf("connection accepted, read %q", got)
			}
		})
	}
	// DialTLS reports the refusal as a handshake error.
	if _, err := DialTLS(testContext(t), l.Addr().String(), "nope_v1", conf); err == nil {
		t.Fatal("DialTLS with unknown protocol succeeded")
	}
	// A client offering several protocols gets the registered one.
	got, err := exchange(testContext(t), l.Addr().String(), conf, "nope_v1", "alpha_v1")
	if err != nil || got != "alpha" {
		t.Fatalf("mixed offer: got %q, %v", got, err)
	}
	if n := served.Load(); n != 1 {
		t.Fatalf("handler served %d connections, want 1", n)
	}
}

func TestListenerRequiresValidClientCert(t *testing.T) {
	k := newTestKeyring(t)
	set := keyringConfigs(t, k, "server", "alpha_v1")
	l := newTestListener(t, set)
	var served atomic.Int32
	l.Register("alpha_v1", HandlerFunc(func(ctx context.Context, c *tls.Conn) {
		served.Add(1)
		writeAndClose("alpha").ServeCluster(ctx, c)
	}))
	serverPool := pool(t, k)

	otherRing := newTestKeyring(t)
	selfPEM, selfKey, err := GenerateCert("intruder", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	selfSigned, err := tls.X509KeyPair(selfPEM, selfKey)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		certs  []tls.Certificate
		maxVer uint16
		ok     bool
	}{
		{"no client cert", nil, 0, false},
		{"no client cert TLS 1.2", nil, tls.VersionTLS12, false},
		{"cert from another CA", []tls.Certificate{issue(t, otherRing, "other")}, 0, false},
		{"self-signed cert", []tls.Certificate{selfSigned}, 0, false},
		{"cert from the cluster CA", []tls.Certificate{issue(t, k, "client")}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := &tls.Config{
				Certificates: tc.certs,
				RootCAs:      serverPool,
				ServerName:   KeyringServerName,
				MaxVersion:   tc.maxVer,
			}
			got, err := exchange(testContext(t), l.Addr().String(), conf, "alpha_v1")
			if tc.ok {
				if err != nil || got != "alpha" {
					t.Fatalf("got %q, %v; want accepted", got, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, read %q", got)
			}
		})
	}
	if n := served.Load(); n != 1 {
		t.Fatalf("handler served %d connections, want 1", n)
	}
}

func TestListenerServerCertRotation(t *testing.T) {
	oldRing, newRing := newTestKeyring(t), newTestKeyring(t)
	oldCert, newCert := issue(t, oldRing, "server-old"), issue(t, newRing, "server-new")
	set := &TLSConfigSet{}
	set.SetServer("echo_v1", MutualTLSServerConfig(oldCert, pool(t, oldRing)))
	l := newTestListener(t, set)
	l.Register("echo_v1", HandlerFunc(func(_ context.Context, c *tls.Conn) {
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(testTimeout))
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if _, err := c.Write([]byte(line)); err != nil {
				return
			}
		}
	}))
	oldClient := MutualTLSClientConfig(issue(t, oldRing, "client-old"), pool(t, oldRing), KeyringServerName)
	newClient := MutualTLSClientConfig(issue(t, newRing, "client-new"), pool(t, newRing), KeyringServerName)

	ctx := testContext(t)
	live, err := DialTLS(ctx, l.Addr().String(), "echo_v1", oldClient)
	if err != nil {
		t.Fatalf("dial before rotation: %v", err)
	}
	defer live.Close()
	echo := func(c *tls.Conn, msg string) error {
		if _, err := c.Write([]byte(msg + "\n")); err != nil {
			return err
		}
		got, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return err
		}
		if got != msg+"\n" {
			t.Fatalf("echo %q, want %q", got, msg)
		}
		return nil
	}
	if err := echo(live, "before"); err != nil {
		t.Fatalf("echo before rotation: %v", err)
	}

	set.SetServer("echo_v1", MutualTLSServerConfig(newCert, pool(t, newRing)))

	if c, err := DialTLS(ctx, l.Addr().String(), "echo_v1", oldClient); err == nil {
		c.Close()
		t.Fatal("client trusting only the old CA accepted the rotated server")
	}
	fresh, err := DialTLS(ctx, l.Addr().String(), "echo_v1", newClient)
	if err != nil {
		t.Fatalf("dial after rotation: %v", err)
	}
	defer fresh.Close()
	if got := fresh.ConnectionState().PeerCertificates[0]; !got.Equal(newCert.Leaf) {
		t.Fatalf("new handshake presented %q, want the rotated certificate", got.Subject.CommonName)
	}
	if err := echo(fresh, "after"); err != nil {
		t.Fatalf("echo on new connection: %v", err)
	}
	// The connection made before rotation keeps working.
	if err := echo(live, "still"); err != nil {
		t.Fatalf("echo on pre-rotation connection: %v", err)
	}
}

func TestListenerCloseStopsHandlers(t *testing.T) {
	k := newTestKeyring(t)
	set := keyringConfigs(t, k, "node1", "hold_v1")
	l, err := Listen(testContext(t), "127.0.0.1:0", set, nil)
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	l.Register("hold_v1", HandlerFunc(func(ctx context.Context, c *tls.Conn) {
		defer c.Close()
		close(entered)
		<-ctx.Done()
	}))
	c, err := l.Dial(testContext(t), "hold_v1", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case <-entered:
	case <-testContext(t).Done():
		t.Fatal("handler never ran")
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := l.Dial(testContext(t), "hold_v1", l.Addr().String()); err == nil {
		t.Fatal("dial after Close succeeded")
	}
}

func TestListenValidation(t *testing.T) {
	if _, err := Listen(testContext(t), "127.0.0.1:0", nil, nil); err == nil {
		t.Error("nil provider accepted")
	}
	if _, err := Listen(testContext(t), "not-an-address", &TLSConfigSet{}, nil); err == nil {
		t.Error("bad address accepted")
	}
}

func TestServerConfigForForcesClientAuth(t *testing.T) {
	cert := issue(t, newTestKeyring(t), "n")
	verify := func(tls.ConnectionState) error { return nil }
	for _, tc := range []struct {
		name     string
		base     *tls.Config
		wantErr  error
		wantAuth tls.ClientAuthType
	}{
		{"nil", nil, ErrNoTLSConfig, 0},
		{"no client verification", &tls.Config{Certificates: []tls.Certificate{cert}}, ErrNoClientAuth, 0},
		{"client CAs but ClientAuth unset", &tls.Config{ClientCAs: x509.NewCertPool()}, nil, tls.RequireAndVerifyClientCert},
		{"custom verification", &tls.Config{VerifyConnection: verify}, nil, tls.RequireAnyClientCert},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := serverConfigFor(tc.base, "p_v1")
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if got.ClientAuth != tc.wantAuth {
				t.Errorf("ClientAuth = %v, want %v", got.ClientAuth, tc.wantAuth)
			}
			if strings.Join(got.NextProtos, ",") != "p_v1" {
				t.Errorf("NextProtos = %v", got.NextProtos)
			}
			if got.MinVersion < tls.VersionTLS12 {
				t.Errorf("MinVersion = %x", got.MinVersion)
			}
		})
	}
}

func TestTLSConfigSet(t *testing.T) {
	set := &TLSConfigSet{}
	if _, err := set.ServerConfig("x"); !errors.Is(err, ErrNoTLSConfig) {
		t.Fatalf("empty set server: %v", err)
	}
	if _, err := set.ClientConfig("x", "h"); !errors.Is(err, ErrNoTLSConfig) {
		t.Fatalf("empty set client: %v", err)
	}
	set.SetClient("x", &tls.Config{})
	c, err := set.ClientConfig("x", "host.example")
	if err != nil || c.ServerName != "host.example" {
		t.Fatalf("ClientConfig = %v, %v; want ServerName defaulted", c, err)
	}
	set.SetClient("x", &tls.Config{ServerName: "fixed"})
	if c, _ := set.ClientConfig("x", "host.example"); c.ServerName != "fixed" {
		t.Fatalf("ServerName = %q, want the configured one", c.ServerName)
	}
	set.SetClient("x", nil)
	if _, err := set.ClientConfig("x", "h"); !errors.Is(err, ErrNoTLSConfig) {
		t.Fatalf("removed config still served: %v", err)
	}
}
