package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/cluster"
	"github.com/strongbox/strongbox/internal/core"
	"github.com/strongbox/strongbox/internal/logical"
)

// DefaultMaxRequestSize bounds request bodies when the listener sets none.
const DefaultMaxRequestSize = 32 << 20

// Options configure the handler.
type Options struct {
	Logger *slog.Logger
	// MaxRequestSize bounds request bodies; 0 means DefaultMaxRequestSize,
	// negative means unlimited.
	MaxRequestSize int64
	// Redact blanks what unauthenticated status endpoints tell (the
	// listener's redact_* settings).
	Redact Redaction
	// UnauthenticatedMetrics serves sys/metrics without a token (the
	// listener's telemetry { unauthenticated_metrics_access }).
	UnauthenticatedMetrics bool
	// UnauthenticatedInFlight serves sys/in-flight-req without a token
	// (inflight_requests_logging { unauthenticated_in_flight_requests_access }).
	UnauthenticatedInFlight bool
	// UnauthenticatedPprof serves sys/pprof/* without a token (profiling
	// { unauthenticated_pprof_access }).
	UnauthenticatedPprof bool
}

// Handler serves the Vault HTTP API for one core.
type Handler struct {
	core   *core.Core
	logger *slog.Logger
	max    int64
	redact Redaction
	// unauthMetrics: sys/metrics needs no token (handleMetrics).
	unauthMetrics  bool
	unauthInFlight bool
	unauthPprof    bool
	mux            *http.ServeMux
	fw             forwarders
	// bg outlives requests (a join retried in the background); Close ends it.
	bg     context.Context
	stopBg context.CancelFunc
}

// NewHandler returns the API handler.
func NewHandler(c *core.Core, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxRequestSize == 0 {
		opts.MaxRequestSize = DefaultMaxRequestSize
	}
	h := &Handler{core: c, logger: opts.Logger, max: opts.MaxRequestSize, redact: opts.Redact, unauthMetrics: opts.UnauthenticatedMetrics, unauthInFlight: opts.UnauthenticatedInFlight, unauthPprof: opts.UnauthenticatedPprof, mux: http.NewServeMux()}
	h.bg, h.stopBg = context.WithCancel(context.Background())
	h.fw.clientCert = c.ForwardingClientCertificate
	if c.HAEnabled() {
		go h.runEchoes(h.bg)
	}
	h.mux.HandleFunc("/v1/sys/init", h.handleInit)
	h.mux.HandleFunc("/v1/sys/unseal", h.handleUnseal)
	h.mux.HandleFunc("/v1/sys/seal-status", h.handleSealStatus)
	h.mux.HandleFunc("/v1/sys/health", h.handleHealth)
	h.mux.HandleFunc("/v1/sys/leader", h.handleLeader)
	h.mux.HandleFunc("/v1/sys/storage/raft/join", h.handleRaftJoin)
	h.mux.HandleFunc(snapshotPath, h.handleRaftSnapshot)
	h.mux.HandleFunc(snapshotForcePath, h.handleRaftSnapshotForce)
	h.mux.HandleFunc("/v1/sys/rekey/init", h.handleRekeyInit)
	h.mux.HandleFunc("/v1/sys/rekey/update", h.handleRekeyUpdate)
	h.mux.HandleFunc("/v1/sys/rekey/verify", h.handleRekeyVerify)
	h.mux.HandleFunc("/v1/sys/rekey-recovery-key/", h.handleRekeyRecovery)
	h.mux.HandleFunc("/v1/sys/generate-root/attempt", h.handleGenerateRootAttempt)
	h.mux.HandleFunc("/v1/sys/generate-root/update", h.handleGenerateRootUpdate)
	h.mux.HandleFunc("/v1/sys/decode-token", h.handleDecodeToken)
	h.mux.HandleFunc(echoPath, h.handleEcho)
	h.mux.HandleFunc("/v1/sys/metrics", h.handleMetrics)
	h.mux.HandleFunc("/v1/sys/in-flight-req", h.handleInFlight)
	h.mux.HandleFunc("/v1/sys/pprof", h.handlePprof)
	h.mux.HandleFunc("/v1/sys/pprof/", h.handlePprof)
	h.mux.HandleFunc("/v1/", h.handleLogical)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/ui/", http.StatusTemporaryRedirect)
			return
		}
		respondError(w, http.StatusNotFound, errors.New("not found"))
	})
	return h
}

// Close releases the connections kept to the active node.
func (h *Handler) Close() {
	h.stopBg()
	h.fw.close()
}

// ServeHTTP implements http.Handler: common headers, panic recovery.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.logger.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			respondError(w, http.StatusInternalServerError, errors.New("internal error"))
		}
	}()
	// Every request is listed in sys/in-flight-req while it is served,
	// under the id it will carry through the pipeline.
	id := newRequestID()
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
	defer h.core.InFlight().Add(id, &core.InFlightRequest{
		StartTime:           time.Now().UTC(),
		ClientRemoteAddress: r.RemoteAddr,
		RequestPath:         r.URL.Path,
		RequestMethod:       r.Method,
	})()
	if h.max > 0 && r.Body != nil && !isSnapshotUpload(r) {
		r.Body = http.MaxBytesReader(w, r.Body, h.max)
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) handleLogical(w http.ResponseWriter, r *http.Request) {
	body, status, err := readBody(r)
	if err != nil {
		respondError(w, status, err)
		return
	}
	if h.core.Standby() {
		h.serveStandby(w, r, body)
		return
	}
	req, status, err := h.buildRequest(r, body)
	if err != nil {
		respondError(w, status, err)
		return
	}
	res, err := h.core.HandleRequest(r.Context(), req)
	var resp *logical.Response
	mountType := ""
	if res != nil {
		resp, mountType = res.Response, res.MountType
	}
	if errors.Is(err, core.ErrStandby) {
		// Demoted between the check above and the request.
		h.serveStandby(w, r, body)
		return
	}
	if err != nil {
		status, msg := h.statusOf(r, err)
		if resp != nil && resp.Data != nil && status < 500 {
			// Some engines answer an error with a body (a transit batch
			// whose every item failed: 400 with the per-item errors), as
			// Vault does; the message is in "errors" as usual.
			for k, v := range resp.Headers {
				w.Header()[k] = v
			}
			env := logical.EnvelopeOf(req.ID, resp, mountType)
			env.Errors = []string{msg}
			respondJSON(w, status, env)
			return
		}
		respondError(w, status, errors.New(msg))
		return
	}
	switch {
	case resp == nil && (req.Operation == logical.ReadOperation || req.Operation == logical.ListOperation):
		respondJSON(w, http.StatusNotFound, map[string]any{"errors": []string{}})
	case resp == nil:
		w.WriteHeader(http.StatusNoContent)
	case resp.Raw != nil || resp.RawStatus != 0:
		ct := resp.RawContentType
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		st := resp.RawStatus
		if st == 0 {
			st = http.StatusOK
		}
		w.WriteHeader(st)
		_, _ = w.Write(resp.Raw)
	case req.Operation == logical.ListOperation && resp.WrapInfo == nil && emptyKeys(resp):
		respondJSON(w, http.StatusNotFound, map[string]any{"errors": []string{}})
	default:
		respondEnvelope(w, http.StatusOK, req, resp, mountType)
	}
}

func emptyKeys(resp *logical.Response) bool {
	if resp.Data == nil {
		return true
	}
	switch k := resp.Data["keys"].(type) {
	case []string:
		return len(k) == 0
	case []any:
		return len(k) == 0
	case nil:
		return true
	}
	return false
}

func (h *Handler) statusOf(r *http.Request, err error) (int, string) {
	switch {
	case errors.Is(err, core.ErrSealed):
		return http.StatusServiceUnavailable, "Vault is sealed"
	case errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, "request canceled"
	}
	status, msg := logical.StatusOf(err)
	if status >= 500 {
		h.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	return status, msg
}

// buildRequest turns an HTTP request into a logical one.
func (h *Handler) buildRequest(r *http.Request, body []byte) (*logical.Request, int, error) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	if path == "" || strings.Contains(path, "..") || strings.Contains(path, "//") {
		return nil, http.StatusNotFound, fmt.Errorf("invalid path %q", r.URL.Path)
	}
	if ns := strings.Trim(r.Header.Get("X-Vault-Namespace"), "/"); ns != "" && ns != "root" {
		return nil, http.StatusBadRequest, fmt.Errorf("namespaces are not supported yet: %q", ns)
	}
	wrap, err := requestWrapInfo(r)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	var op logical.Operation
	switch r.Method {
	case http.MethodGet:
		op = logical.ReadOperation
		if lv := r.URL.Query().Get("list"); lv == "true" || lv == "1" {
			op = logical.ListOperation
		}
	case "LIST":
		op = logical.ListOperation
	case http.MethodPost, http.MethodPut:
		op = logical.UpdateOperation
	case http.MethodPatch:
		op = logical.PatchOperation
	case http.MethodDelete:
		op = logical.DeleteOperation
	default:
		return nil, http.StatusMethodNotAllowed, fmt.Errorf("unsupported operation %s", r.Method)
	}
	if op == logical.ListOperation && !strings.HasSuffix(path, "/") {
		path += "/"
	}
	data, err := requestData(r, op, body)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	remote := r.RemoteAddr
	if fi, ok := cluster.ForwardedFrom(r.Context()); ok && fi.ClientAddr != "" {
		remote = fi.ClientAddr
	}
	return &logical.Request{
		ID:          requestID(r),
		Operation:   op,
		Path:        path,
		Data:        data,
		ClientToken: clientToken(r),
		Headers:     r.Header,
		Connection:  &logical.Connection{RemoteAddr: remote, ConnState: r.TLS},
		WrapInfo:    wrap,
	}, 0, nil
}

// requestWrapInfo reads X-Vault-Wrap-TTL (seconds or a duration string) and
// X-Vault-Wrap-Format; nil when the request asks for no wrapping.
func requestWrapInfo(r *http.Request) (*logical.RequestWrapInfo, error) {
	raw := r.Header.Get("X-Vault-Wrap-TTL")
	if raw == "" {
		return nil, nil
	}
	ttl, err := logical.ParseDuration(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid X-Vault-Wrap-TTL: %w", err)
	}
	format := r.Header.Get("X-Vault-Wrap-Format")
	switch format {
	case "", logical.WrapFormatUUID, logical.WrapFormatJWT:
	default:
		return nil, fmt.Errorf(`invalid X-Vault-Wrap-Format %q: must be "uuid" or "jwt"`, format)
	}
	if ttl == 0 {
		return nil, nil
	}
	return &logical.RequestWrapInfo{TTL: ttl, Format: format}, nil
}

// readBody reads the request body within the handler's size limit.
func readBody(r *http.Request) ([]byte, int, error) {
	if r.Body == nil {
		return nil, 0, nil
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body too large: limit is %d bytes", mbe.Limit)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("failed to read request body: %w", err)
	}
	return raw, 0, nil
}

// requestData merges the query parameters (reads, lists and deletes) and
// the JSON body (writes and deletes) into a request's data.
func requestData(r *http.Request, op logical.Operation, body []byte) (map[string]any, error) {
	data := map[string]any{}
	switch op {
	case logical.ReadOperation, logical.ListOperation, logical.DeleteOperation:
		for k, v := range r.URL.Query() {
			if k == "list" && op == logical.ListOperation {
				continue
			}
			if len(v) == 1 {
				data[k] = v[0]
			} else {
				data[k] = v
			}
		}
		if op != logical.DeleteOperation {
			return data, nil
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return data, nil
	}
	obj, err := decodeJSONObject(body)
	if err != nil {
		return nil, err
	}
	for k, v := range obj {
		data[k] = v
	}
	return data, nil
}

// parseBody reads and decodes a write's body, for the sys/ handlers that
// take JSON outside the logical pipeline.
func (h *Handler) parseBody(r *http.Request, op logical.Operation) (map[string]any, int, error) {
	body, status, err := readBody(r)
	if err != nil {
		return nil, status, err
	}
	data, err := requestData(r, op, body)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	return data, 0, nil
}

func decodeJSONObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var body map[string]any
	if err := dec.Decode(&body); err != nil {
		return nil, fmt.Errorf("failed to parse JSON input: %w", err)
	}
	if dec.More() {
		return nil, errors.New("failed to parse JSON input: trailing data after the JSON object")
	}
	if body == nil {
		body = map[string]any{}
	}
	return body, nil
}

func clientToken(r *http.Request) string {
	if t := r.Header.Get("X-Vault-Token"); t != "" {
		return t
	}
	if a := r.Header.Get("Authorization"); a != "" {
		if t, ok := strings.CutPrefix(a, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
	}
	return ""
}
