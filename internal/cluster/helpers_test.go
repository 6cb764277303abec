package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"testing"
	"time"
)

// testTimeout bounds every test's network waits.
const testTimeout = 30 * time.Second

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func newTestKeyring(t *testing.T) *Keyring {
	t.Helper()
	k, err := NewKeyring()
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return k
}

func issue(t *testing.T, k *Keyring, nodeID string) tls.Certificate {
	t.Helper()
	c, err := k.IssueNodeCert(nodeID, []string{"127.0.0.1"})
	if err != nil {
		t.Fatalf("IssueNodeCert: %v", err)
	}
	return c
}

func pool(t *testing.T, k *Keyring) *x509.CertPool {
	t.Helper()
	p, err := k.CertPool()
	if err != nil {
		t.Fatalf("CertPool: %v", err)
	}
	return p
}

// keyringConfigs is a TLSConfigSet where every proto uses a certificate from k
// on both sides, as raft does.
func keyringConfigs(t *testing.T, k *Keyring, nodeID string, protos ...string) *TLSConfigSet {
	t.Helper()
	cert := issue(t, k, nodeID)
	p := pool(t, k)
	set := &TLSConfigSet{}
	for _, proto := range protos {
		set.SetServer(proto, MutualTLSServerConfig(cert, p))
		set.SetClient(proto, MutualTLSClientConfig(cert, p, KeyringServerName))
	}
	return set
}

func newTestListener(t *testing.T, provider TLSProvider) *Listener {
	t.Helper()
	l, err := Listen(testContext(t), "127.0.0.1:0", provider, nil)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

// writeAndClose is a handler that writes msg and closes the connection.
func writeAndClose(msg string) Handler {
	return HandlerFunc(func(_ context.Context, c *tls.Conn) {
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(testTimeout))
		_, _ = io.WriteString(c, msg)
	})
}

// exchange handshakes with conf (offering protos) and reads until EOF. A TLS
// 1.3 server rejects a client certificate after the client's handshake has
// returned, so a rejection may surface from the read rather than the
// handshake; both count.
func exchange(ctx context.Context, addr string, conf *tls.Config, protos ...string) (string, error) {
	c := conf.Clone()
	c.NextProtos = protos
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	tc := tls.Client(raw, c)
	if err := tc.HandshakeContext(ctx); err != nil {
		return "", err
	}
	b, err := io.ReadAll(tc)
	return string(b), err
}
