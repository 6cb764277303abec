package http

import (
	"errors"
	"net/http"
	"strings"

	"github.com/strongbox/strongbox/internal/core"
	"github.com/strongbox/strongbox/internal/core/keyops"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/pgp"
)

func (h *Handler) handleGenerateRootAttempt(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete:
	default:
		respondError(w, http.StatusMethodNotAllowed, errors.New("unsupported operation"))
		return
	}
	raw, data, ok := h.keyOpRequest(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	switch r.Method {
	case http.MethodGet:
		st, err := h.core.KeyOps().GenerateRootStatus(ctx)
		if err != nil {
			h.keyOpErr(w, r, raw, err)
			return
		}
		respondJSON(w, http.StatusOK, genRootStatusBody(st))
	case http.MethodDelete:
		if err := h.core.KeyOps().GenerateRootCancel(ctx); err != nil {
			h.keyOpErr(w, r, raw, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		d, err := fields(data, map[string]*logical.FieldSchema{
			"otp": {Type: logical.TypeString}, "pgp_key": {Type: logical.TypeString},
		})
		if err != nil {
			h.keyOpErr(w, r, raw, err)
			return
		}
		st, err := h.core.KeyOps().GenerateRootInit(ctx, strings.TrimSpace(d.Get("otp").(string)), d.Get("pgp_key").(string))
		if err != nil {
			h.keyOpErr(w, r, raw, err)
			return
		}
		respondJSON(w, http.StatusOK, genRootStatusBody(st))
	}
}

func genRootStatusBody(st *keyops.GenerateRootStatus) map[string]any {
	return map[string]any{
		"started": st.Started, "nonce": st.Nonce, "progress": st.Progress, "required": st.Required,
		"complete": false, "encoded_token": "", "encoded_root_token": "",
		"pgp_fingerprint": st.PGPFingerprint, "otp": st.OTP, "otp_length": st.OTPLength,
	}
}

func (h *Handler) handleGenerateRootUpdate(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		respondError(w, http.StatusMethodNotAllowed, errors.New("unsupported operation"))
		return
	}
	raw, data, ok := h.keyOpRequest(w, r)
	if !ok {
		return
	}
	key, nonce, err := keyAndNonce(data)
	if err != nil {
		h.keyOpErr(w, r, raw, err)
		return
	}
	res, err := h.core.KeyOps().GenerateRootUpdate(r.Context(), key, nonce)
	if err != nil {
		h.keyOpErr(w, r, raw, err)
		return
	}
	respondJSON(w, http.StatusOK, map[string]any{
		"started": true, "nonce": res.Nonce, "progress": res.Progress, "required": res.Required,
		"complete": res.Complete, "encoded_token": res.EncodedToken, "encoded_root_token": res.EncodedToken,
		"pgp_fingerprint": res.PGPFingerprint, "otp": "", "otp_length": 0,
	})
}

// handleDecodeToken serves sys/decode-token: it unmasks an encoded root
// token with its OTP. Like Vault it needs no token, but an unsealed node.
func (h *Handler) handleDecodeToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		respondError(w, http.StatusMethodNotAllowed, errors.New("unsupported operation"))
		return
	}
	body, status, err := h.parseBody(r, logical.UpdateOperation)
	if err != nil {
		respondError(w, status, err)
		return
	}
	if h.core.Sealed() {
		h.writeErr(w, r, core.ErrSealed)
		return
	}
	d, err := fields(body, map[string]*logical.FieldSchema{
		"encoded_token": {Type: logical.TypeString}, "otp": {Type: logical.TypeString},
	})
	if err != nil {
		h.writeErr(w, r, err)
		return
	}
	tok, err := pgp.DecodeToken(d.Get("encoded_token").(string), d.Get("otp").(string))
	if err != nil {
		respondError(w, http.StatusBadRequest, errors.New(strings.TrimPrefix(err.Error(), "pgp: ")))
		return
	}
	req := &logical.Request{ID: newRequestID()}
	respondEnvelope(w, http.StatusOK, req, &logical.Response{Data: map[string]any{"token": tok}}, "system")
}
