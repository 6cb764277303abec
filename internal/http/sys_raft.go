package http

import (
	"errors"
	"net/http"

	"github.com/strongbox/strongbox/internal/core/raftops"
	"github.com/strongbox/strongbox/internal/logical"
)

// handleRaftJoin serves sys/storage/raft/join on the node that joins: it is
// not initialized and has no token to check, like sys/init.
func (h *Handler) handleRaftJoin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		if h.core.Standby() || !h.core.Sealed() {
			// An unsealed node has nothing to join; let the pipeline
			// answer (and forward) like any other path.
			h.handleLogical(w, r)
			return
		}
		respondError(w, http.StatusMethodNotAllowed, errors.New("unsupported operation"))
		return
	}
	body, status, err := h.parseBody(r, logical.UpdateOperation)
	if err != nil {
		respondError(w, status, err)
		return
	}
	d := &logical.FieldData{Raw: body, Schema: map[string]*logical.FieldSchema{
		"leader_api_addr":       {Type: logical.TypeString},
		"leader_ca_cert":        {Type: logical.TypeString},
		"leader_client_cert":    {Type: logical.TypeString},
		"leader_client_key":     {Type: logical.TypeString},
		"leader_tls_servername": {Type: logical.TypeString},
		"retry":                 {Type: logical.TypeBool},
		"non_voter":             {Type: logical.TypeBool},
		"leader_allow_http":     {Type: logical.TypeBool},
		"auto_join":             {Type: logical.TypeString},
		"auto_join_scheme":      {Type: logical.TypeString},
		"auto_join_port":        {Type: logical.TypeInt},
	}}
	if err := d.Validate(); err != nil {
		h.writeErr(w, r, err)
		return
	}
	if d.Get("auto_join").(string) != "" {
		respondError(w, http.StatusBadRequest, errors.New("auto_join (cloud auto-discovery) is not supported; give leader_api_addr"))
		return
	}
	req := raftops.JoinRequest{
		LeaderAPIAddr:       d.Get("leader_api_addr").(string),
		LeaderCACert:        d.Get("leader_ca_cert").(string),
		LeaderClientCert:    d.Get("leader_client_cert").(string),
		LeaderClientKey:     d.Get("leader_client_key").(string),
		LeaderTLSServerName: d.Get("leader_tls_servername").(string),
		NonVoter:            d.Get("non_voter").(bool),
		AllowHTTPLeader:     d.Get("leader_allow_http").(bool),
	}
	if req.LeaderAPIAddr == "" {
		respondError(w, http.StatusBadRequest, errors.New("leader_api_addr is required"))
		return
	}
	if d.Get("retry").(bool) {
		// Refuse at once what no attempt could accept.
		if err := raftops.CheckJoinRequest(req); err != nil {
			respondError(w, http.StatusBadRequest, err)
			return
		}
		h.core.StartRetryJoin(h.bg, []raftops.JoinRequest{req})
		respondJSON(w, http.StatusOK, map[string]any{"joined": true})
		return
	}
	if err := h.core.JoinRaft(r.Context(), req); err != nil {
		status, msg := h.statusOf(r, err)
		if status == http.StatusInternalServerError {
			status = http.StatusBadRequest // the leader was unreachable or refused
		}
		respondError(w, status, errors.New(msg))
		return
	}
	respondJSON(w, http.StatusOK, map[string]any{"joined": true})
}
