package http

import (
	"errors"
	"net/http"
	"strings"

	"github.com/strongbox/strongbox/internal/core/diag"
	"github.com/strongbox/strongbox/internal/logical"
)

// handleMetrics serves sys/metrics. With a token it is an ordinary read
// (ACL, audit); when the listener allows unauthenticated access it is
// answered here, from this node's own metrics, without a token, sealed or
// standby alike, as Vault does.
func (h *Handler) handleMetrics(w http.ResponseWriter, r *http.Request) {
	h.serveUnauthenticated(w, r, h.unauthMetrics, func() (*logical.Response, error) {
		return diag.MetricsResponse(h.core.MetricsSource(), r.URL.Query().Get("format"))
	})
}

// serveUnauthenticated answers a diagnostics GET with fn's raw response
// when the listener allows it without a token (allowed), else as an
// ordinary request (token, ACL, audit).
func (h *Handler) serveUnauthenticated(w http.ResponseWriter, r *http.Request, allowed bool, fn func() (*logical.Response, error)) {
	if !allowed {
		h.handleLogical(w, r)
		return
	}
	if r.Method != http.MethodGet {
		respondError(w, http.StatusMethodNotAllowed, errors.New("unsupported operation"))
		return
	}
	resp, err := fn()
	if err != nil {
		status, msg := h.statusOf(r, err)
		respondError(w, status, errors.New(msg))
		return
	}
	w.Header().Set("Content-Type", resp.RawContentType)
	w.WriteHeader(resp.RawStatus)
	_, _ = w.Write(resp.Raw)
}

// requestIDKey carries the id ServeHTTP gave the request.
type requestIDKey struct{}

// requestID is the id ServeHTTP gave r, or a new one.
func requestID(r *http.Request) string {
	if id, ok := r.Context().Value(requestIDKey{}).(string); ok {
		return id
	}
	return newRequestID()
}

// handleInFlight serves sys/in-flight-req: an ordinary read with a token,
// or answered here without one when the listener allows it.
func (h *Handler) handleInFlight(w http.ResponseWriter, r *http.Request) {
	h.serveUnauthenticated(w, r, h.unauthInFlight, func() (*logical.Response, error) {
		return diag.InFlightResponse(h.core.InFlight())
	})
}

// handlePprof serves sys/pprof/*: an ordinary read (sudo) with a token, or
// answered here without one when the listener allows it.
func (h *Handler) handlePprof(w http.ResponseWriter, r *http.Request) {
	h.serveUnauthenticated(w, r, h.unauthPprof, func() (*logical.Response, error) {
		data := map[string]any{}
		for k, v := range r.URL.Query() {
			data[k] = v[0]
		}
		return h.core.PprofUnauthenticated(r.Context(), strings.TrimPrefix(r.URL.Path, "/v1/sys/"), data)
	})
}
