package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// DefaultHandshakeTimeout bounds the TLS handshake of an accepted connection,
// so a peer that connects and stays silent cannot hold a goroutine.
const DefaultHandshakeTimeout = 10 * time.Second

// Handler serves the connections of one ALPN protocol.
type Handler interface {
	// ServeCluster is called on its own goroutine with a connection whose
	// handshake is complete and whose client certificate was verified. The
	// handler owns conn and must close it. ctx is canceled when the Listener
	// closes; a handler that keeps conn beyond its return must then close it.
	ServeCluster(ctx context.Context, conn *tls.Conn)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, conn *tls.Conn)

// ServeCluster calls f.
func (f HandlerFunc) ServeCluster(ctx context.Context, conn *tls.Conn) { f(ctx, conn) }

// Listener is the cluster port: a TCP listener that completes a mutual-TLS
// handshake on each connection and hands it to the Handler registered for the
// negotiated ALPN protocol. All methods are safe for concurrent use.
type Listener struct {
	ln       net.Listener
	provider TLSProvider
	logger   *slog.Logger
	tlsConf  *tls.Config

	// ctx is canceled by Close; every handler's context derives from it.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	handlers map[string]Handler
	conns    map[net.Conn]struct{} // handshaking or with a running handler
	// peers are the established connections a peer may use to reach a
	// handler (while it serves them, or after raft took them), with the
	// state their handshake ended in, so Recheck can judge them again.
	peers  map[*tls.Conn]peerConn
	closed bool

	wg sync.WaitGroup
}

// Listen opens the cluster port on addr ("127.0.0.1:0" picks a port) and
// starts accepting. ctx bounds the listen call only; the Listener runs until
// Close. A nil logger discards logs.
func Listen(ctx context.Context, addr string, provider TLSProvider, logger *slog.Logger) (*Listener, error) {
	if provider == nil {
		return nil, errors.New("cluster: listen: nil TLS provider")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: listen on %s: %w", addr, err)
	}
	lctx, cancel := context.WithCancel(context.Background())
	l := &Listener{
		ln:       ln,
		provider: provider,
		logger:   logger.With("cluster_addr", ln.Addr().String()),
		ctx:      lctx,
		cancel:   cancel,
		handlers: make(map[string]Handler),
		conns:    make(map[net.Conn]struct{}),
		peers:    make(map[*tls.Conn]peerConn),
	}
	l.tlsConf = &tls.Config{
		MinVersion:         tls.VersionTLS12,
		GetConfigForClient: l.configForClient,
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

// Addr is the address the Listener is bound to.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Register routes connections negotiating proto to h, replacing any previous
// handler. Connections already handed out are not affected.
func (l *Listener) Register(proto string, h Handler) {
	if h == nil {
		l.Unregister(proto)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.handlers[proto] = h
}

// Unregister stops accepting proto; new handshakes offering only it fail.
func (l *Listener) Unregister(proto string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.handlers, proto)
}

// unregisterIf removes proto's handler only if it is still h, so a stale
// stream layer closing cannot remove its replacement.
func (l *Listener) unregisterIf(proto string, h Handler) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur, ok := l.handlers[proto]; ok && cur == h {
		delete(l.handlers, proto)
	}
}

func (l *Listener) handler(proto string) Handler {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.handlers[proto]
}

// Close stops accepting, cancels handler contexts, closes the connections
// still handshaking or inside a handler, and waits for those goroutines.
// Connections a handler passed on (raft's) are closed by their new owner.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	conns := make([]net.Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()

	err := l.ln.Close()
	l.cancel()
	for _, c := range conns {
		_ = c.Close()
	}
	l.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("cluster: close listener: %w", err)
	}
	return nil
}

// Dial opens a mutual-TLS connection speaking proto to a peer's cluster port,
// with the client configuration the provider gives for addr's host.
func (l *Listener) Dial(ctx context.Context, proto, addr string) (*tls.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: dial %s (%s): %w", addr, proto, err)
	}
	conf, err := l.provider.ClientConfig(proto, host)
	if err != nil {
		return nil, fmt.Errorf("cluster: dial %s (%s): %w", addr, proto, err)
	}
	return DialTLS(ctx, addr, proto, conf)
}

// configForClient picks the first protocol the client offers that has a
// handler, and asks the provider for its current configuration.
func (l *Listener) configForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	proto := ""
	l.mu.Lock()
	for _, p := range hello.SupportedProtos {
		if _, ok := l.handlers[p]; ok {
			proto = p
			break
		}
	}
	l.mu.Unlock()
	if proto == "" {
		return nil, fmt.Errorf("%w: offered %q", ErrUnknownProtocol, hello.SupportedProtos)
	}
	base, err := l.provider.ServerConfig(proto)
	if err != nil {
		return nil, fmt.Errorf("cluster: server TLS config for %q: %w", proto, err)
	}
	return serverConfigFor(base, proto)
}

// track adds c to the set Close will close; false if the Listener is closed.
func (l *Listener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *Listener) untrack(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c)
}

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		raw, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.ctx.Err() != nil {
				return
			}
			// Transient (e.g. out of file descriptors): back off rather
			// than spin, like net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.logger.Warn("cluster accept failed", "error", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-l.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		if !l.track(raw) {
			_ = raw.Close()
			return
		}
		l.wg.Add(1)
		go l.serve(raw)
	}
}

func (l *Listener) serve(raw net.Conn) {
	defer l.wg.Done()
	defer l.untrack(raw)

	tc := tls.Server(raw, l.tlsConf)
	ctx, cancel := context.WithTimeout(l.ctx, DefaultHandshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		l.logger.Debug("cluster handshake failed", "remote_addr", raw.RemoteAddr().String(), "error", err)
		_ = raw.Close()
		return
	}
	state := tc.ConnectionState()
	proto := state.NegotiatedProtocol
	h := l.handler(proto)
	if h == nil {
		// Unregistered between handshake and here.
		l.logger.Debug("cluster protocol no longer served", "remote_addr", raw.RemoteAddr().String(), "alpn", proto)
		_ = tc.Close()
		return
	}
	l.hold(tc, proto, state)
	if _, handedOff := h.(*streamLayer); !handedOff {
		// The stream layer releases its connections when raft closes them.
		defer l.release(tc)
	}
	h.ServeCluster(l.ctx, tc)
}
