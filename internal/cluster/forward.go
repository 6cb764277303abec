package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// HeaderForwardedFor carries the original client's address ("ip:port") from a
// standby to the active node. Only a ForwardServer reads it, and it serves only
// the mutually-authenticated cluster port, so a client cannot spoof it: the
// Forwarder overwrites whatever the client sent.
const HeaderForwardedFor = "X-Strongbox-Forwarded-For"

// HeaderForwardedClientCert carries the client's TLS state from a standby
// to the active node, so the cert auth method judges the certificate the
// client presented to the standby: absent when the client did not use TLS,
// "-" for TLS without a client certificate, else the client's chain as
// comma-separated base64 DER certificates, leaf first. As with
// HeaderForwardedFor, the Forwarder replaces whatever the client sent and
// only a ForwardServer (mutually-authenticated cluster port) reads it.
const HeaderForwardedClientCert = "X-Strongbox-Forwarded-Client-Cert"

// Default Forwarder timeouts.
const (
	DefaultForwardDialTimeout    = 5 * time.Second
	DefaultForwardRequestTimeout = 90 * time.Second
)

var (
	// ErrForwarding wraps every failure to forward a request; the standby
	// then answers 307 to the active's api_addr.
	ErrForwarding = errors.New("cluster: request forwarding failed")
	// ErrForwarderClosed is returned (wrapped with ErrForwarding) after Close.
	ErrForwarderClosed = errors.New("cluster: forwarder closed")
	// ErrNotSent marks a forwarding failure that happened before any byte of
	// the request reached the active node (dial, handshake, closed
	// forwarder): the request was certainly not served, so the client may be
	// sent elsewhere. Any other failure leaves the outcome unknown.
	ErrNotSent = errors.New("cluster: request not sent")
)

// ForwarderOptions configures a Forwarder.
type ForwarderOptions struct {
	// TargetAddr is the active node's cluster address, host:port. Required.
	TargetAddr string
	// TLSConfig is the client side of ProtoForwarding: the certificate the
	// active advertised (client auth) and a RootCAs pool trusting it.
	// Required; cloned. An empty ServerName defaults to TargetAddr's host.
	TLSConfig *tls.Config
	// DialTimeout bounds TCP connect plus TLS handshake. Default 5s.
	DialTimeout time.Duration
	// RequestTimeout bounds one request, from sending it to the end of the
	// response body. Default 90s, Vault's default max request duration.
	RequestTimeout time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

// Forwarder sends client requests from a standby to the active node over one
// reused HTTP/2 connection on the cluster port. It is safe for concurrent use.
// Build a new Forwarder when the active node changes.
type Forwarder struct {
	target         string
	tlsConf        *tls.Config
	dialTimeout    time.Duration
	requestTimeout time.Duration
	logger         *slog.Logger
	transport      *http2.Transport

	mu     sync.RWMutex
	closed bool
}

// NewForwarder returns a Forwarder to the active node's cluster address with
// the default timeouts.
func NewForwarder(targetAddr string, tlsConf *tls.Config) (*Forwarder, error) {
	return NewForwarderWithOptions(ForwarderOptions{TargetAddr: targetAddr, TLSConfig: tlsConf})
}

// NewForwarderWithOptions returns a Forwarder configured by opts.
func NewForwarderWithOptions(opts ForwarderOptions) (*Forwarder, error) {
	if opts.TLSConfig == nil {
		return nil, errors.New("cluster: forwarder: nil TLS configuration")
	}
	if _, _, err := net.SplitHostPort(opts.TargetAddr); err != nil {
		return nil, fmt.Errorf("cluster: forwarder: target %q: %w", opts.TargetAddr, err)
	}
	f := &Forwarder{
		target:         opts.TargetAddr,
		tlsConf:        opts.TLSConfig.Clone(),
		dialTimeout:    opts.DialTimeout,
		requestTimeout: opts.RequestTimeout,
		logger:         opts.Logger,
	}
	if f.dialTimeout <= 0 {
		f.dialTimeout = DefaultForwardDialTimeout
	}
	if f.requestTimeout <= 0 {
		f.requestTimeout = DefaultForwardRequestTimeout
	}
	if f.logger == nil {
		f.logger = slog.New(slog.DiscardHandler)
	}
	f.transport = &http2.Transport{
		DialTLSContext: f.dial,
		// Compression off: the body must reach the client byte for byte,
		// with the Content-Encoding the active chose.
		DisableCompression: true,
		// Health-check the idle connection so a dead active is noticed
		// before a request waits on it.
		ReadIdleTimeout:  15 * time.Second,
		PingTimeout:      5 * time.Second,
		WriteByteTimeout: 30 * time.Second,
	}
	return f, nil
}

// Target is the cluster address requests go to.
func (f *Forwarder) Target() string { return f.target }

func (f *Forwarder) dial(ctx context.Context, _, _ string, _ *tls.Config) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, f.dialTimeout)
	defer cancel()
	conn, err := DialTLS(ctx, f.target, ProtoForwarding, f.tlsConf)
	if err != nil {
		f.logger.Debug("forwarding dial failed", "target", f.target, "error", err)
		return nil, err
	}
	return conn, nil
}

// Forward sends r (method, path, query, headers, body, Host) to the active
// node and returns its response: status, headers and body as the active wrote
// them. The caller must close the response body; the request timeout runs
// until then. r.RemoteAddr travels in HeaderForwardedFor. Any failure is
// wrapped with ErrForwarding and leaves no response to close.
func (f *Forwarder) Forward(ctx context.Context, r *http.Request) (*http.Response, error) {
	f.mu.RLock()
	closed := f.closed
	f.mu.RUnlock()
	if closed {
		return nil, fmt.Errorf("%w: %w: %w", ErrForwarding, ErrNotSent, ErrForwarderClosed)
	}
	ctx, cancel := context.WithTimeout(ctx, f.requestTimeout)
	// Whether the request's headers left this node decides whether a
	// failure is safe to retry elsewhere.
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }})
	out, err := f.outgoing(ctx, r)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%w: %w: %s %s: %w", ErrForwarding, ErrNotSent, r.Method, f.target, err)
	}
	resp, err := f.transport.RoundTrip(out)
	if err != nil {
		cancel()
		if !wrote.Load() {
			return nil, fmt.Errorf("%w: %w: %s %s: %w", ErrForwarding, ErrNotSent, r.Method, f.target, err)
		}
		return nil, fmt.Errorf("%w: %s %s: %w", ErrForwarding, r.Method, f.target, err)
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// outgoing builds the request sent to the active node.
func (f *Forwarder) outgoing(ctx context.Context, r *http.Request) (*http.Request, error) {
	if r.URL == nil {
		return nil, errors.New("request has no URL")
	}
	out, err := http.NewRequestWithContext(ctx, r.Method, "https://"+f.target+"/", nil)
	if err != nil {
		return nil, err
	}
	out.URL.Path = r.URL.Path
	out.URL.RawPath = r.URL.RawPath
	out.URL.RawQuery = r.URL.RawQuery
	out.Host = r.Host
	out.Header = forwardHeaders(r.Header, r.RemoteAddr)
	if r.TLS != nil {
		out.Header.Set(HeaderForwardedClientCert, encodeClientCerts(r.TLS.PeerCertificates))
	}
	out.ContentLength = r.ContentLength
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		out.Body = r.Body
	} else {
		out.Body = http.NoBody
		out.ContentLength = 0
	}
	return out, nil
}

// hopHeaders are connection-level headers; HTTP/2 forbids them and they
// describe the client's hop, not the request.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// forwardHeaders copies h without hop-by-hop headers and with the client's
// address in HeaderForwardedFor (replacing any the client sent).
func forwardHeaders(h http.Header, remoteAddr string) http.Header {
	out := h.Clone()
	if out == nil {
		out = make(http.Header)
	}
	for _, v := range h.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			if name = textproto.TrimString(name); name != "" {
				out.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		out.Del(name)
	}
	out.Del(HeaderForwardedFor)
	out.Del(HeaderForwardedClientCert)
	if remoteAddr != "" {
		out.Set(HeaderForwardedFor, remoteAddr)
	}
	return out
}

func encodeClientCerts(certs []*x509.Certificate) string {
	if len(certs) == 0 {
		return "-"
	}
	parts := make([]string, len(certs))
	for i, c := range certs {
		parts[i] = base64.StdEncoding.EncodeToString(c.Raw)
	}
	return strings.Join(parts, ",")
}

// decodeClientCerts is encodeClientCerts' inverse; a certificate that
// does not decode ends the chain there (the cert method then sees what
// came before it, or none).
func decodeClientCerts(v string) []*x509.Certificate {
	if v == "-" || v == "" {
		return nil
	}
	var out []*x509.Certificate
	for _, p := range strings.Split(v, ",") {
		der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(p))
		if err != nil {
			return out
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return out
		}
		out = append(out, c)
	}
	return out
}

// Close drops the connection to the active node; later Forward calls fail
// with ErrForwarderClosed. Requests in flight finish or time out.
func (f *Forwarder) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.transport.CloseIdleConnections()
	return nil
}

// cancelOnClose releases the request's context when the caller is done with
// the body, so the timeout covers the body without leaking.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// WriteResponse copies a forwarded response to w verbatim (headers, status,
// body) and closes its body. An error after the status line is written means
// the client got a truncated body; the caller can only log it.
func WriteResponse(w http.ResponseWriter, resp *http.Response) error {
	defer resp.Body.Close()
	dst := w.Header()
	for k, vs := range resp.Header {
		dst[k] = append([]string(nil), vs...)
	}
	w.WriteHeader(resp.StatusCode)
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("cluster: copy forwarded response body: %w", err)
	}
	return nil
}
