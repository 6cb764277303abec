package cluster

import (
	"crypto/tls"
)

// peerConn is an established connection as Recheck sees it.
type peerConn struct {
	proto string
	state tls.ConnectionState
}

// hold records an established connection for Recheck.
func (l *Listener) hold(c *tls.Conn, proto string, state tls.ConnectionState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.peers[c] = peerConn{proto: proto, state: state}
}

// release forgets a connection that was closed.
func (l *Listener) release(c *tls.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.peers, c)
}

// Recheck judges every established connection again with the VerifyConnection
// of its protocol's current server configuration, and closes those it now
// refuses. A handshake checks a peer once; a peer can lose its right to the
// cluster port later (a node removed from the raft configuration), and must
// then lose the connections it already has, not only new ones. Connections of
// a protocol whose configuration cannot be had right now (a sealed node) are
// left alone. It returns how many connections it closed.
func (l *Listener) Recheck() int {
	l.mu.Lock()
	held := make(map[*tls.Conn]peerConn, len(l.peers))
	for c, p := range l.peers {
		held[c] = p
	}
	l.mu.Unlock()

	verify := map[string]func(tls.ConnectionState) error{}
	closed := 0
	for c, p := range held {
		v, ok := verify[p.proto]
		if !ok {
			if conf, err := l.provider.ServerConfig(p.proto); err == nil && conf != nil {
				v = conf.VerifyConnection
			}
			verify[p.proto] = v
		}
		if v == nil {
			continue
		}
		if err := v(p.state); err != nil {
			l.logger.Info("closing cluster connection the peer no longer may hold",
				"remote_addr", c.RemoteAddr().String(), "alpn", p.proto, "reason", err)
			_ = c.Close()
			l.release(c)
			closed++
		}
	}
	return closed
}
