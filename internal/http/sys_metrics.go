package http

import (
	"errors"
	"net/http"
	"strings"

	"github.com/strongbox/strongbox/internal/core/diag"
)

// handleMetrics serves sys/metrics. With a token it is an ordinary read
// (ACL, audit); when the listener allows unauthenticated access it is
// answered here, from this node's own metrics, without a token, sealed or
// standby alike, as Vault does.
func (h *Handler) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if !h.unauthMetrics {
		h.handleLogical(w, r)
		return
	}
	if r.Method != http.MethodGet {
		respondError(w, http.StatusMethodNotAllowed, errors.New("unsupported operation"))
		return
	}
	resp, err := diag.MetricsResponse(h.core.MetricsSource(), r.URL.Query().Get("format"))
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
	if !h.unauthInFlight {
		h.handleLogical(w, r)
		return
	}
	if r.Method != http.MethodGet {
		respondError(w, http.StatusMethodNotAllowed, errors.New("unsupported operation"))
		return
	}
	resp, err := diag.InFlightResponse(h.core.InFlight())
	if err != nil {
		status, msg := h.statusOf(r, err)
		respondError(w, status, errors.New(msg))
		return
	}
	w.Header().Set("Content-Type", resp.RawContentType)
	w.WriteHeader(resp.RawStatus)
	_, _ = w.Write(resp.Raw)
}

// handlePprof serves sys/pprof/*: an ordinary read (sudo) with a token, or
// answered here without one when the listener allows it.
func (h *Handler) handlePprof(w http.ResponseWriter, r *http.Request) {
	if !h.unauthPprof {
		h.handleLogical(w, r)
		return
	}
	if r.Method != http.MethodGet {
		respondError(w, http.StatusMethodNotAllowed, errors.New("unsupported operation"))
		return
	}
	data := map[string]any{}
	for k, v := range r.URL.Query() {
		data[k] = v[0]
	}
	rel := strings.TrimPrefix(r.URL.Path, "/v1/sys/")
	resp, err := h.core.PprofUnauthenticated(r.Context(), rel, data)
	if err != nil {
		status, msg := h.statusOf(r, err)
		respondError(w, status, errors.New(msg))
		return
	}
	w.Header().Set("Content-Type", resp.RawContentType)
	w.WriteHeader(resp.RawStatus)
	_, _ = w.Write(resp.Raw)
}
