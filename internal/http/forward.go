package http

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/cluster"
	"github.com/strongbox/strongbox/internal/core/ha"
)

// HeaderNotActive marks a 503 from a node that got a forwarded request after
// it stopped being active; the forwarding standby waits for the new active
// and sends the request again instead of passing the error on.
const HeaderNotActive = "X-Strongbox-Not-Active"

// activeWait bounds how long a standby holds a request while no node is
// active (an election, a step-down) before answering 503.
const activeWait = 15 * time.Second

// forwarders keeps one Forwarder for the current active node.
type forwarders struct {
	// clientCert picks the certificate a standby presents (core's
	// ForwardingClientCertificate); nil presents the advertised pair.
	clientCert func(fallback tls.Certificate) func(*tls.CertificateRequestInfo) (*tls.Certificate, error)

	mu  sync.Mutex
	adv *ha.Advertisement
	key string
	fw  *cluster.Forwarder
}

func (f *forwarders) get(adv *ha.Advertisement) (*cluster.Forwarder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// The core hands out the same value while the advertisement is
	// unchanged: compare pointers before building the key.
	if f.fw != nil && f.adv == adv {
		return f.fw, nil
	}
	key := adv.NodeID + "\x00" + string(adv.CertPEM)
	if f.fw != nil && f.key == key {
		f.adv = adv
		return f.fw, nil
	}
	if f.fw != nil {
		_ = f.fw.Close()
		f.fw = nil
	}
	cert, err := tls.X509KeyPair(adv.CertPEM, adv.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("active node's certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(adv.CertPEM) {
		return nil, errors.New("active node's certificate: no PEM certificate")
	}
	target, err := hostPort(adv.ClusterAddr)
	if err != nil {
		return nil, err
	}
	fw, err := cluster.NewForwarder(target, &tls.Config{
		// Under raft this is the standby's own node certificate: the
		// active serves only members of the raft configuration.
		GetClientCertificate: f.clientCertFor(cert),
		RootCAs:              pool,
		MinVersion:           tls.VersionTLS12,
	})
	if err != nil {
		return nil, err
	}
	f.fw, f.key, f.adv = fw, key, adv
	return fw, nil
}

func (f *forwarders) clientCertFor(cert tls.Certificate) func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	if f.clientCert != nil {
		return f.clientCert(cert)
	}
	return func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
}

func (f *forwarders) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fw != nil {
		_ = f.fw.Close()
		f.fw = nil
	}
}

func hostPort(addr string) (string, error) {
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("invalid cluster address %q", addr)
	}
	return u.Host, nil
}

// serveStandby answers a request that reached a standby: forward it to the
// active node and relay its answer verbatim, or redirect the client there
// (307) when asked to (X-Vault-No-Request-Forwarding) or when forwarding
// fails. body is the request body, already read.
func (h *Handler) serveStandby(w http.ResponseWriter, r *http.Request, body []byte) {
	if _, forwarded := cluster.ForwardedFrom(r.Context()); forwarded {
		// One hop only: this node stopped being active after the standby
		// chose it. The standby retries with the new active.
		w.Header().Set(HeaderNotActive, "true")
		respondError(w, http.StatusServiceUnavailable, errors.New("node is not active; retry"))
		return
	}
	ctx := r.Context()
	deadline := time.Now().Add(activeWait)
	var lastErr error
	for time.Now().Before(deadline) {
		adv, err := h.waitActive(ctx, deadline)
		if err != nil {
			h.writeErr(w, r, err)
			return
		}
		if adv == nil {
			break
		}
		if r.Header.Get("X-Vault-No-Request-Forwarding") != "" {
			redirect(w, r, adv)
			return
		}
		fw, err := h.fw.get(adv)
		if err != nil {
			lastErr = err
			break
		}
		out := r.Clone(ctx)
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
		resp, err := fw.Forward(ctx, out)
		if err != nil && !errors.Is(err, cluster.ErrNotSent) {
			// The active may have served the request before the
			// connection failed: sending the client elsewhere could apply
			// a write twice. Say the outcome is unknown instead.
			h.logger.Warn("request forwarding failed mid-request", "active", adv.ClusterAddr, "error", err)
			respondError(w, http.StatusBadGateway, errors.New("forwarding to the active node failed after the request was sent; it may or may not have been applied"))
			return
		}
		if err != nil {
			// Not sent: the active is unreachable from here, most likely
			// dead. Hold the request while raft elects a new leader and
			// it advertises itself, then try again.
			lastErr = err
			select {
			case <-ctx.Done():
				h.writeErr(w, r, ctx.Err())
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get(HeaderNotActive) != "" {
			// The chosen node stepped down meanwhile; its answer says the
			// request was not served. Wait for the next active.
			resp.Body.Close()
			h.awaitChange(ctx, adv, deadline)
			continue
		}
		if err := cluster.WriteResponse(w, resp); err != nil {
			h.logger.Warn("relaying a forwarded response", "error", err)
		}
		return
	}
	// Out of time. If an active node is still advertised (reachable on its
	// API port, perhaps, if not on the cluster port), send the client
	// there; with no leader at all (quorum lost) say so.
	if adv, err := h.core.ActiveAdvertisement(ctx); err == nil && adv != nil {
		h.logger.Warn("request forwarding failed; redirecting the client", "active", adv.APIAddr, "error", lastErr)
		redirect(w, r, adv)
		return
	}
	respondError(w, http.StatusServiceUnavailable, errors.New("no active node in the cluster"))
}

// waitActive polls for an active node's advertisement until deadline.
func (h *Handler) waitActive(ctx context.Context, deadline time.Time) (*ha.Advertisement, error) {
	for {
		adv, err := h.core.ActiveAdvertisement(ctx)
		if err != nil || adv != nil {
			return adv, err
		}
		if !h.core.Standby() {
			return nil, nil
		}
		if time.Now().After(deadline) {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// awaitChange waits until the advertised active differs from old.
func (h *Handler) awaitChange(ctx context.Context, old *ha.Advertisement, deadline time.Time) {
	for time.Now().Before(deadline) {
		adv, err := h.core.ActiveAdvertisement(ctx)
		if err != nil || (adv != nil && (adv.NodeID != old.NodeID || !bytes.Equal(adv.CertPEM, old.CertPEM))) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func redirect(w http.ResponseWriter, r *http.Request, adv *ha.Advertisement) {
	if adv.APIAddr == "" {
		respondError(w, http.StatusServiceUnavailable, errors.New("the active node has no api_addr to redirect to"))
		return
	}
	w.Header().Set("Location", adv.APIAddr+r.URL.RequestURI())
	w.WriteHeader(http.StatusTemporaryRedirect)
}
