package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/strongbox/strongbox/internal/config"
)

// certHolder serves the listener's certificate and re-reads it on reload,
// so certificates can be rotated with SIGHUP.
type certHolder struct {
	certFile, keyFile string
	mu                sync.RWMutex
	cert              *tls.Certificate
}

func (h *certHolder) reload() error {
	c, err := tls.LoadX509KeyPair(h.certFile, h.keyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate %s: %w", h.certFile, err)
	}
	h.mu.Lock()
	h.cert = &c
	h.mu.Unlock()
	return nil
}

func (h *certHolder) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.cert, nil
}

var tlsVersions = map[string]uint16{
	"tls10": tls.VersionTLS10, "tls11": tls.VersionTLS11,
	"tls12": tls.VersionTLS12, "tls13": tls.VersionTLS13,
}

// listen opens a configured listener (tcp, or a unix socket), behind the
// PROXY protocol when configured, wrapped in TLS unless disabled.
func listen(l *config.Listener) (net.Listener, *certHolder, error) {
	ln, err := openSocket(l)
	if err != nil {
		return nil, nil, err
	}
	if ln, err = wrapProxyProto(ln, l); err != nil {
		ln.Close()
		return nil, nil, err
	}
	if l.TLSDisable {
		return ln, nil, nil
	}
	holder := &certHolder{certFile: l.TLSCertFile, keyFile: l.TLSKeyFile}
	if err := holder.reload(); err != nil {
		ln.Close()
		return nil, nil, err
	}
	tc := &tls.Config{GetCertificate: holder.get, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
	if l.TLSMinVersion != "" {
		v, ok := tlsVersions[l.TLSMinVersion]
		if !ok {
			ln.Close()
			return nil, nil, fmt.Errorf("listener %s: unknown tls_min_version %q", l.Address, l.TLSMinVersion)
		}
		tc.MinVersion = v
	}
	if l.TLSMaxVersion != "" {
		v, ok := tlsVersions[l.TLSMaxVersion]
		if !ok {
			ln.Close()
			return nil, nil, fmt.Errorf("listener %s: unknown tls_max_version %q", l.Address, l.TLSMaxVersion)
		}
		tc.MaxVersion = v
	}
	if l.TLSCipherSuites != "" {
		// Go applies these to TLS 1.2 and below; TLS 1.3's suites are fixed.
		if tc.CipherSuites, err = config.CipherSuites(l.TLSCipherSuites); err != nil {
			ln.Close()
			return nil, nil, fmt.Errorf("listener %s: tls_cipher_suites: %w", l.Address, err)
		}
	}
	if l.TLSClientCAFile != "" {
		pem, err := os.ReadFile(l.TLSClientCAFile)
		if err != nil {
			ln.Close()
			return nil, nil, fmt.Errorf("listener %s: read tls_client_ca_file: %w", l.Address, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			ln.Close()
			return nil, nil, fmt.Errorf("listener %s: no certificates in %s", l.Address, l.TLSClientCAFile)
		}
		tc.ClientCAs = pool
	}
	// As Vault's: tls_client_ca_file is enforced only with
	// tls_require_and_verify_client_cert. Otherwise the listener only
	// requests a certificate and never fails the handshake over an
	// unknown one: the cert auth method judges it and answers over HTTP.
	switch {
	case l.TLSRequireAndVerifyClientCert:
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	case l.TLSDisableClientCerts:
		tc.ClientAuth, tc.ClientCAs = tls.NoClientCert, nil
	default:
		tc.ClientAuth, tc.ClientCAs = tls.RequestClientCert, nil
	}
	return tls.NewListener(ln, tc), holder, nil
}
