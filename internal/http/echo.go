package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/strongbox/strongbox/internal/cluster"
	"github.com/strongbox/strongbox/internal/core/ha"
)

// echoPath receives standbys' heartbeats on the active node. It is served
// only to requests that came through the mutually authenticated forwarding
// channel: a client cannot reach it directly.
const echoPath = "/v1/sys/internal/ha-echo"

// echoInterval is how often a standby reports to the active node.
const echoInterval = 2 * time.Second

func (h *Handler) handleEcho(w http.ResponseWriter, r *http.Request) {
	if _, ok := cluster.ForwardedFrom(r.Context()); !ok || r.Method != http.MethodPost {
		respondError(w, http.StatusNotFound, errors.New("not found"))
		return
	}
	var e ha.NodeEcho
	if err := json.NewDecoder(r.Body).Decode(&e); err != nil || e.NodeID == "" {
		respondError(w, http.StatusBadRequest, errors.New("invalid echo"))
		return
	}
	h.core.RecordEcho(e)
	w.WriteHeader(http.StatusNoContent)
}

// runEchoes sends this node's heartbeat to the active node while it is a
// standby, until ctx ends.
func (h *Handler) runEchoes(ctx context.Context) {
	t := time.NewTicker(echoInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !h.core.HAEnabled() || !h.core.Standby() {
			continue
		}
		adv, err := h.core.ActiveAdvertisement(ctx)
		if err != nil || adv == nil {
			continue
		}
		fw, err := h.fw.get(adv)
		if err != nil {
			continue
		}
		body, _ := json.Marshal(h.core.LocalEcho())
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://active"+echoPath, bytes.NewReader(body))
		if err != nil {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, echoInterval)
		resp, err := fw.Forward(rctx, req.WithContext(rctx))
		if err == nil {
			resp.Body.Close()
		}
		cancel()
	}
}
