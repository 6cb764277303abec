package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// defaultRaftDialTimeout applies when raft dials with no timeout.
const defaultRaftDialTimeout = 10 * time.Second

// RaftStreamLayer registers proto (ProtoRaft) on the Listener and returns the
// raft.StreamLayer to give to raft.NewNetworkTransport: Accept yields the
// connections that negotiated proto, Dial opens mutual-TLS connections with
// that ALPN, and Addr is advertise (the address peers reach this node at; nil
// means the bound address). Closing the stream layer unregisters proto but
// leaves the Listener open for the other protocols.
func (l *Listener) RaftStreamLayer(proto string, advertise net.Addr) raft.StreamLayer {
	s := &streamLayer{
		l:         l,
		proto:     proto,
		advertise: advertise,
		conns:     make(chan *tls.Conn),
		closed:    make(chan struct{}),
	}
	l.Register(proto, s)
	return s
}

type streamLayer struct {
	l         *Listener
	proto     string
	advertise net.Addr

	conns     chan *tls.Conn
	closeOnce sync.Once
	closed    chan struct{}
}

// ServeCluster hands an accepted connection to Accept. It waits for raft to
// take it, so a busy transport applies back-pressure instead of queueing.
func (s *streamLayer) ServeCluster(ctx context.Context, conn *tls.Conn) {
	select {
	case s.conns <- conn:
	case <-s.closed:
		s.l.release(conn)
		_ = conn.Close()
	case <-ctx.Done():
		s.l.release(conn)
		_ = conn.Close()
	}
}

// streamConn is an accepted raft connection: closing it tells the Listener
// to stop rechecking it.
type streamConn struct {
	*tls.Conn
	l *Listener
}

// Close implements net.Conn.
func (c streamConn) Close() error {
	c.l.release(c.Conn)
	return c.Conn.Close()
}

// Accept implements net.Listener.
func (s *streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.conns:
		return streamConn{Conn: c, l: s.l}, nil
	case <-s.closed:
		return nil, fmt.Errorf("cluster: raft stream layer %s: %w", s.proto, net.ErrClosed)
	case <-s.l.ctx.Done():
		return nil, fmt.Errorf("cluster: raft stream layer %s: listener: %w", s.proto, net.ErrClosed)
	}
}

// Close implements net.Listener. It is idempotent.
func (s *streamLayer) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.l.unregisterIf(s.proto, s)
	})
	return nil
}

// Addr implements net.Listener: the advertised address raft tells peers.
func (s *streamLayer) Addr() net.Addr {
	if s.advertise != nil {
		return s.advertise
	}
	return s.l.Addr()
}

// Dial implements raft.StreamLayer.
func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if timeout <= 0 {
		timeout = defaultRaftDialTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := s.l.Dial(ctx, s.proto, string(address))
	if err != nil {
		return nil, err
	}
	return conn, nil
}
