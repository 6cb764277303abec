package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync"
)

// ALPN protocol names spoken on the cluster port. They match Vault's, so the
// port looks the same to operators' tooling.
const (
	// ProtoRaft carries hashicorp/raft RPCs (RaftStreamLayer).
	ProtoRaft = "raft_storage_v1"
	// ProtoForwarding carries client requests from a standby to the active
	// node as HTTP/2 (Forwarder, ForwardServer).
	ProtoForwarding = "req_fw_sb-act_v1"
)

var (
	// ErrUnknownProtocol is returned when a peer offers no ALPN protocol that
	// has a registered handler (server side) or the server did not agree to
	// the requested protocol (client side).
	ErrUnknownProtocol = errors.New("cluster: unknown ALPN protocol")
	// ErrNoTLSConfig is returned by a TLSProvider that has no configuration
	// for the asked protocol.
	ErrNoTLSConfig = errors.New("cluster: no TLS configuration for protocol")
	// ErrNoClientAuth is returned when a server configuration could not
	// authenticate clients (no ClientCAs and no custom verification).
	ErrNoClientAuth = errors.New("cluster: server TLS configuration does not verify clients")
)

// TLSProvider supplies the TLS configuration of each cluster protocol. The core
// implements it; the Listener calls it on every handshake, so returned
// configurations may change at any time (leader change, keyring rotation).
// Implementations must be safe for concurrent use and must not block on I/O.
type TLSProvider interface {
	// ServerConfig returns the server side for proto: Certificates (or
	// GetCertificate) and ClientCAs. The Listener clones it, pins NextProtos
	// to proto and requires a verified client certificate.
	ServerConfig(proto string) (*tls.Config, error)
	// ClientConfig returns the client side for proto when dialing a peer
	// known as serverName (the host part of its address): Certificates and
	// RootCAs. A non-empty ServerName in the result overrides serverName.
	ClientConfig(proto, serverName string) (*tls.Config, error)
}

// TLSConfigSet is a ready-made TLSProvider holding one server and one client
// configuration per protocol, replaceable at run time. It is safe for
// concurrent use; the zero value is empty and usable.
type TLSConfigSet struct {
	mu     sync.RWMutex
	server map[string]*tls.Config
	client map[string]*tls.Config
}

// SetServer installs (or with nil, removes) the server configuration of proto.
// New handshakes use it; established connections keep theirs.
func (s *TLSConfigSet) SetServer(proto string, c *tls.Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.server = setConfig(s.server, proto, c)
}

// SetClient installs (or with nil, removes) the client configuration of proto.
func (s *TLSConfigSet) SetClient(proto string, c *tls.Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.client = setConfig(s.client, proto, c)
}

func setConfig(m map[string]*tls.Config, proto string, c *tls.Config) map[string]*tls.Config {
	if c == nil {
		delete(m, proto)
		return m
	}
	if m == nil {
		m = make(map[string]*tls.Config)
	}
	m[proto] = c.Clone()
	return m
}

// ServerConfig implements TLSProvider.
func (s *TLSConfigSet) ServerConfig(proto string) (*tls.Config, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.server[proto]
	if !ok {
		return nil, fmt.Errorf("%w: server %q", ErrNoTLSConfig, proto)
	}
	return c.Clone(), nil
}

// ClientConfig implements TLSProvider.
func (s *TLSConfigSet) ClientConfig(proto, serverName string) (*tls.Config, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.client[proto]
	if !ok {
		return nil, fmt.Errorf("%w: client %q", ErrNoTLSConfig, proto)
	}
	c = c.Clone()
	if c.ServerName == "" {
		c.ServerName = serverName
	}
	return c, nil
}

// MutualTLSServerConfig is the server side of a cluster protocol: it presents
// cert and accepts only clients whose certificate chains to clientCAs.
func MutualTLSServerConfig(cert tls.Certificate, clientCAs *x509.CertPool) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    clientCAs,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}
}

// MutualTLSClientConfig is the client side of a cluster protocol: it presents
// cert and trusts servers chaining to rootCAs under serverName (empty: the
// host being dialed).
func MutualTLSClientConfig(cert tls.Certificate, rootCAs *x509.CertPool, serverName string) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      rootCAs,
		ServerName:   serverName,
		MinVersion:   tls.VersionTLS12,
	}
}

// serverConfigFor turns a provider's configuration into the one a handshake
// for proto uses. Client verification is forced here, not trusted to the
// provider: a config that forgot ClientAuth must not open the port.
func serverConfigFor(base *tls.Config, proto string) (*tls.Config, error) {
	if base == nil {
		return nil, fmt.Errorf("%w: server %q", ErrNoTLSConfig, proto)
	}
	c := base.Clone()
	c.GetConfigForClient = nil
	c.NextProtos = []string{proto}
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	switch {
	case c.ClientCAs != nil:
		c.ClientAuth = tls.RequireAndVerifyClientCert
	case c.VerifyPeerCertificate != nil || c.VerifyConnection != nil:
		if c.ClientAuth < tls.RequireAnyClientCert {
			c.ClientAuth = tls.RequireAnyClientCert
		}
	default:
		return nil, fmt.Errorf("%w: %q", ErrNoClientAuth, proto)
	}
	return c, nil
}

// DialTLS opens a TCP connection to addr and completes a TLS handshake
// offering only proto, within ctx. conf is cloned; an empty ServerName
// defaults to addr's host. It fails with ErrUnknownProtocol if the server did
// not select proto.
func DialTLS(ctx context.Context, addr, proto string, conf *tls.Config) (*tls.Conn, error) {
	if conf == nil {
		return nil, fmt.Errorf("cluster: dial %s (%s): no TLS configuration", addr, proto)
	}
	c := conf.Clone()
	c.NextProtos = []string{proto}
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	if c.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("cluster: dial %s (%s): %w", addr, proto, err)
		}
		c.ServerName = host
	}
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: dial %s (%s): %w", addr, proto, err)
	}
	tc := tls.Client(raw, c)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("cluster: handshake with %s (%s): %w", addr, proto, err)
	}
	if got := tc.ConnectionState().NegotiatedProtocol; got != proto {
		_ = tc.Close()
		return nil, fmt.Errorf("%w: %s answered %q to %q", ErrUnknownProtocol, addr, got, proto)
	}
	return tc, nil
}
