package http

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/strongbox/strongbox/internal/cluster"
	"github.com/strongbox/strongbox/internal/core"
	"github.com/strongbox/strongbox/internal/logical"
)

// Snapshot endpoints, served outside the logical pipeline because their
// bodies are streams: a snapshot goes out as it is read from storage, and
// a restore comes in straight to a spool file, neither held in memory.
const (
	snapshotPath      = "/v1/sys/storage/raft/snapshot"
	snapshotForcePath = "/v1/sys/storage/raft/snapshot-force"
)

// isSnapshotUpload reports whether r carries a snapshot to restore, whose
// body may be far larger than max_request_size (as in Vault, the limit
// does not apply to it).
func isSnapshotUpload(r *http.Request) bool {
	return (r.Method == http.MethodPost || r.Method == http.MethodPut) &&
		(r.URL.Path == snapshotPath || r.URL.Path == snapshotForcePath)
}

// handleRaftSnapshot serves sys/storage/raft/snapshot: GET streams a
// snapshot, POST/PUT restores one.
func (h *Handler) handleRaftSnapshot(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		h.serveSnapshot(w, r)
	case http.MethodPost, http.MethodPut:
		h.serveRestore(w, r)
	default:
		respondError(w, http.StatusMethodNotAllowed, errors.New("unsupported operation"))
	}
}

// handleRaftSnapshotForce serves sys/storage/raft/snapshot-force: a restore
// that skips the check that the snapshot is this cluster's.
func (h *Handler) handleRaftSnapshotForce(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		respondError(w, http.StatusMethodNotAllowed, errors.New("unsupported operation"))
		return
	}
	h.serveRestore(w, r)
}

// snapshotRequest is the logical request for a snapshot endpoint: no
// JSON, the body and the answer are streams.
func (h *Handler) snapshotRequest(r *http.Request) (*logical.Request, int, error) {
	req, status, err := h.buildRequest(r, nil)
	if err != nil {
		return nil, status, err
	}
	if req.Operation == logical.UpdateOperation {
		req.Body = r.Body
		if req.Body == nil {
			req.Body = http.NoBody
		}
	}
	return req, 0, nil
}

// serveSnapshot streams a snapshot from the active node (a standby
// forwards the request there). It goes through the core's one request
// pipeline like every endpoint; only its answer is a stream.
func (h *Handler) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	if h.core.Standby() {
		h.serveStandby(w, r, nil)
		return
	}
	req, status, err := h.snapshotRequest(r)
	if err != nil {
		respondError(w, status, err)
		return
	}
	sw := &startedWriter{w: w}
	req.ResponseWriter = sw
	_, err = h.core.HandleRequest(r.Context(), req)
	switch {
	case err != nil && !sw.started:
		if errors.Is(err, core.ErrStandby) {
			// Demoted before the stream started; the new active serves it.
			h.serveStandby(w, r, nil)
			return
		}
		h.writeErr(w, r, err)
	case err != nil:
		// The status line is out: cut the connection so the client sees
		// a broken transfer rather than a clean end of a short body.
		h.logger.Error("snapshot stream failed", "error", err)
		panic(http.ErrAbortHandler)
	case !sw.started:
		h.logger.Error("snapshot request answered without a stream")
		respondError(w, http.StatusInternalServerError, errors.New("internal error"))
	}
}

// startedWriter sends the snapshot headers before the first byte, so an
// error before the stream starts can still be answered properly.
type startedWriter struct {
	w       http.ResponseWriter
	started bool
}

func (s *startedWriter) Write(p []byte) (int, error) {
	if !s.started {
		s.started = true
		s.w.Header().Set("Content-Type", "application/gzip")
		s.w.Header().Set("Content-Disposition", `attachment; filename="raft.snap"`)
		s.w.WriteHeader(http.StatusOK)
	}
	return s.w.Write(p)
}

// serveRestore restores the snapshot in the request body on the active
// node; a standby streams the request there.
func (h *Handler) serveRestore(w http.ResponseWriter, r *http.Request) {
	if h.core.Standby() {
		h.forwardStream(w, r, func() { h.serveRestore(w, r) })
		return
	}
	req, status, err := h.snapshotRequest(r)
	if err != nil {
		respondError(w, status, err)
		return
	}
	body := &readCounter{r: req.Body}
	req.Body = body
	_, err = h.core.HandleRequest(r.Context(), req)
	if errors.Is(err, core.ErrStandby) && body.n == 0 {
		// Demoted before the body was read: the new active restores it.
		h.forwardStream(w, r, nil)
		return
	}
	if err != nil {
		h.writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// forwardStream sends a request whose body is a stream (a snapshot to
// restore) from a standby to the active node, body unread and unbuffered,
// and relays the answer; with X-Vault-No-Request-Forwarding the client is
// redirected instead. Unlike serveStandby it cannot send the body twice,
// so it retries only while nothing has been sent. local, when set, serves
// the request here if this node became active meanwhile.
func (h *Handler) forwardStream(w http.ResponseWriter, r *http.Request, local func()) {
	if _, forwarded := cluster.ForwardedFrom(r.Context()); forwarded {
		w.Header().Set(HeaderNotActive, "true")
		respondError(w, http.StatusServiceUnavailable, errors.New("node is not active; retry"))
		return
	}
	ctx := r.Context()
	deadline := time.Now().Add(activeWait)
	for {
		adv, err := h.waitActive(ctx, deadline)
		if err != nil {
			h.writeErr(w, r, err)
			return
		}
		if adv == nil && local != nil && !h.core.Standby() {
			local()
			return
		}
		if adv == nil {
			respondError(w, http.StatusServiceUnavailable, errors.New("no active node in the cluster"))
			return
		}
		if r.Header.Get("X-Vault-No-Request-Forwarding") != "" {
			redirect(w, r, adv)
			return
		}
		fw, err := h.fw.get(adv)
		if err != nil {
			h.writeErr(w, r, err)
			return
		}
		resp, err := fw.Forward(ctx, r)
		if errors.Is(err, cluster.ErrNotSent) && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				h.writeErr(w, r, ctx.Err())
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			h.logger.Warn("forwarding a snapshot restore failed", "active", adv.ClusterAddr, "error", err)
			respondError(w, http.StatusBadGateway, errors.New("forwarding the snapshot to the active node failed; it may or may not have been restored"))
			return
		}
		if err := cluster.WriteResponse(w, resp); err != nil {
			h.logger.Warn("relaying a forwarded response", "error", err)
		}
		return
	}
}

// readCounter counts what was read of a body, so a request that failed
// after its stream was consumed is never forwarded with the rest.
type readCounter struct {
	r io.Reader
	n int64
}

func (c *readCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
