package cluster

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/net/http2"
)

// ForwardInfo describes a request that reached the active node through
// request forwarding.
type ForwardInfo struct {
	// ClientAddr is the original client's address as the standby saw it
	// (empty if the standby did not know it).
	ClientAddr string
	// StandbyAddr is the forwarding standby's address on the cluster port.
	StandbyAddr string
}

type forwardInfoKey struct{}

// ForwardedFrom reports whether the request whose context is ctx was forwarded
// by a standby, and from where. The core uses it to never forward a request a
// second time (a deposed active answers instead of looping).
func ForwardedFrom(ctx context.Context) (ForwardInfo, bool) {
	fi, ok := ctx.Value(forwardInfoKey{}).(ForwardInfo)
	return fi, ok
}

// ForwardServer serves ProtoForwarding on the active node: HTTP/2 over the
// cluster connection, each request handed to the wrapped API handler as if the
// client had sent it directly. Register it on the Listener for ProtoForwarding.
type ForwardServer struct {
	handler http.Handler
	h2      *http2.Server
	base    *http.Server
}

// NewForwardServer wraps the active node's API handler. A nil logger discards.
func NewForwardServer(h http.Handler, logger *slog.Logger) *ForwardServer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &ForwardServer{handler: h}
	s.h2 = &http2.Server{
		// Standbys multiplex all their clients on one connection: give
		// uploads room beyond the 1 MB per-connection default.
		MaxUploadBufferPerConnection: 8 << 20,
		MaxUploadBufferPerStream:     1 << 20,
		// Detect a vanished standby instead of holding its streams.
		ReadIdleTimeout: 30 * time.Second,
		PingTimeout:     10 * time.Second,
	}
	s.base = &http.Server{
		Handler:  http.HandlerFunc(s.serveHTTP),
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	return s
}

// ServeCluster implements Handler: it serves HTTP/2 on conn until the standby
// goes away or ctx is canceled.
func (s *ForwardServer) ServeCluster(ctx context.Context, conn *tls.Conn) {
	// ServeConn does not watch its context; close the connection ourselves
	// so a closing Listener is not held by an idle standby.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	defer conn.Close()
	s.h2.ServeConn(conn, &http2.ServeConnOpts{
		Context:    ctx,
		BaseConfig: s.base,
		Handler:    s.base.Handler,
	})
}

// serveHTTP restores the client's address from HeaderForwardedFor and its
// TLS state from HeaderForwardedClientCert, which are trusted here because
// only an authenticated standby can reach this handler. The TLS state of
// the cluster connection itself (the standby's node certificate) never
// reaches the handler: it is not the client's.
func (s *ForwardServer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	fi := ForwardInfo{ClientAddr: r.Header.Get(HeaderForwardedFor), StandbyAddr: r.RemoteAddr}
	r.Header.Del(HeaderForwardedFor)
	r.TLS = nil
	if v, ok := r.Header[HeaderForwardedClientCert]; ok && len(v) > 0 {
		r.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: decodeClientCerts(v[0])}
	}
	r.Header.Del(HeaderForwardedClientCert)
	if fi.ClientAddr != "" {
		r.RemoteAddr = fi.ClientAddr
	}
	s.handler.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), forwardInfoKey{}, fi)))
}
