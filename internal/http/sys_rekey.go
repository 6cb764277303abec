package http

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/strongbox/strongbox/internal/core"
	"github.com/strongbox/strongbox/internal/core/keyops"
	"github.com/strongbox/strongbox/internal/logical"
)

// The sys/rekey and sys/generate-root endpoints take no token, like
// sys/unseal: the current key shares are the credential. They are served
// here, outside the logical pipeline, by the active node; a standby
// forwards them.

// keyOpRequest reads a key-operation request. It answers the request
// itself (and returns ok=false) when this node is a standby, which
// forwards it, or when the body is unreadable. The body's keys are matched
// case-insensitively, as Vault's JSON decoding does (the Go client sends
// "Backup").
func (h *Handler) keyOpRequest(w http.ResponseWriter, r *http.Request) (raw []byte, data map[string]any, ok bool) {
	raw, status, err := readBody(r)
	if err != nil {
		respondError(w, status, err)
		return nil, nil, false
	}
	if h.core.Standby() {
		h.serveStandby(w, r, raw)
		return nil, nil, false
	}
	op := logical.UpdateOperation
	switch r.Method {
	case http.MethodGet:
		op = logical.ReadOperation
	case http.MethodDelete:
		op = logical.DeleteOperation
	}
	body, err := requestData(r, op, raw)
	if err != nil {
		respondError(w, http.StatusBadRequest, err)
		return nil, nil, false
	}
	data = make(map[string]any, len(body))
	for k, v := range body {
		if v != nil {
			data[strings.ToLower(k)] = v
		}
	}
	return raw, data, true
}

// keyOpErr answers a core error: a node demoted mid-request forwards it,
// anything else gets its status.
func (h *Handler) keyOpErr(w http.ResponseWriter, r *http.Request, raw []byte, err error) {
	if errors.Is(err, core.ErrStandby) {
		h.serveStandby(w, r, raw)
		return
	}
	h.writeErr(w, r, err)
}

// fields validates data against a schema.
func fields(data map[string]any, schema map[string]*logical.FieldSchema) (*logical.FieldData, error) {
	d := &logical.FieldData{Raw: data, Schema: schema}
	return d, d.Validate()
}

// decodeShare decodes a key share given in hex or base64. Hex wins only
// when it yields a share of plausible length, so a base64 share made only
// of hex digits is still read as base64 (Vault's rule).
func decodeShare(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("'key' must be specified in request body as JSON")
	}
	if k, err := hex.DecodeString(s); err == nil && len(k) >= 16 && len(k) <= 33 {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(s); err == nil {
		return k, nil
	}
	return nil, errors.New("'key' must be a valid hex or base64 string")
}

// keyAndNonce reads the {key, nonce} body of the update endpoints.
func keyAndNonce(data map[string]any) ([]byte, string, error) {
	d, err := fields(data, map[string]*logical.FieldSchema{
		"key": {Type: logical.TypeString}, "nonce": {Type: logical.TypeString},
	})
	if err != nil {
		return nil, "", err
	}
	key, err := decodeShare(d.Get("key").(string))
	if err != nil {
		return nil, "", logical.BadRequest("%s", err)
	}
	return key, strings.TrimSpace(d.Get("nonce").(string)), nil
}

// rekeyOps are the core's operations for one rekey target: the unseal
// keys (sys/rekey) or the recovery keys (sys/rekey-recovery-key). The two
// APIs are the same.
type rekeyOps struct {
	status        func(context.Context) (*keyops.RekeyStatus, error)
	init          func(context.Context, keyops.RekeyRequest) (*keyops.RekeyStatus, error)
	cancel        func(context.Context, string) error
	update        func(context.Context, []byte, string) (*keyops.RekeyResult, error)
	verifyStatus  func(context.Context) (*keyops.RekeyVerifyStatus, error)
	verifyRestart func(context.Context) (*keyops.RekeyVerifyStatus, error)
	verify        func(context.Context, []byte, string) (*keyops.RekeyVerifyResult, error)
}

func (h *Handler) barrierRekey() rekeyOps {
	c := h.core.KeyOps()
	return rekeyOps{c.RekeyStatus, c.RekeyInit, c.RekeyCancel, c.RekeyUpdate, c.RekeyVerifyStatus, c.RekeyVerifyRestart, c.RekeyVerify}
}

func (h *Handler) recoveryRekey() rekeyOps {
	c := h.core.KeyOps()
	return rekeyOps{c.RecoveryRekeyStatus, c.RecoveryRekeyInit, c.RecoveryRekeyCancel, c.RecoveryRekeyUpdate,
		c.RecoveryRekeyVerifyStatus, c.RecoveryRekeyVerifyRestart, c.RecoveryRekeyVerify}
}

func (h *Handler) handleRekeyInit(w http.ResponseWriter, r *http.Request) {
	h.rekeyInit(w, r, h.barrierRekey())
}

func (h *Handler) handleRekeyUpdate(w http.ResponseWriter, r *http.Request) {
	h.rekeyUpdate(w, r, h.barrierRekey())
}

func (h *Handler) handleRekeyVerify(w http.ResponseWriter, r *http.Request) {
	h.rekeyVerify(w, r, h.barrierRekey())
}

// handleRekeyRecovery serves sys/rekey-recovery-key/{init,update,verify}:
// sys/rekey's API for the recovery keys of an auto-unseal seal. Under the
// Shamir seal they are refused (400), as Vault does, before anything else.
func (h *Handler) handleRekeyRecovery(w http.ResponseWriter, r *http.Request) {
	if !h.core.RecoverySeal() {
		respondError(w, http.StatusBadRequest, errors.New("recovery rekeying not supported: recovery keys are used only with auto-unseal seals"))
		return
	}
	ops := h.recoveryRekey()
	switch strings.TrimPrefix(r.URL.Path, "/v1/sys/rekey-recovery-key/") {
	case "init":
		h.rekeyInit(w, r, ops)
	case "update":
		h.rekeyUpdate(w, r, ops)
	case "verify":
		h.rekeyVerify(w, r, ops)
	default:
		respondError(w, http.StatusNotFound, errors.New("unsupported path"))
	}
}

func (h *Handler) rekeyInit(w http.ResponseWriter, r *http.Request, ops rekeyOps) {
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
		st, err := ops.status(ctx)
		if err != nil {
			h.keyOpErr(w, r, raw, err)
			return
		}
		respondJSON(w, http.StatusOK, rekeyStatusBody(st))
	case http.MethodDelete:
		d, err := fields(data, map[string]*logical.FieldSchema{"nonce": {Type: logical.TypeString}})
		if err == nil {
			err = ops.cancel(ctx, strings.TrimSpace(d.Get("nonce").(string)))
		}
		if err != nil {
			h.keyOpErr(w, r, raw, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		d, err := fields(data, map[string]*logical.FieldSchema{
			"secret_shares":        {Type: logical.TypeInt},
			"secret_threshold":     {Type: logical.TypeInt},
			"stored_shares":        {Type: logical.TypeInt},
			"pgp_keys":             {Type: logical.TypeCommaStringSlice},
			"backup":               {Type: logical.TypeBool},
			"require_verification": {Type: logical.TypeBool},
		})
		if err != nil {
			h.keyOpErr(w, r, raw, err)
			return
		}
		// stored_shares: Vault forces it to 1 for a barrier rekey and
		// refuses it for a recovery rekey; the core applies both.
		st, err := ops.init(ctx, keyops.RekeyRequest{
			SecretShares:        d.Get("secret_shares").(int),
			SecretThreshold:     d.Get("secret_threshold").(int),
			StoredShares:        d.Get("stored_shares").(int),
			PGPKeys:             d.Get("pgp_keys").([]string),
			Backup:              d.Get("backup").(bool),
			RequireVerification: d.Get("require_verification").(bool),
		})
		if err != nil {
			h.keyOpErr(w, r, raw, err)
			return
		}
		respondJSON(w, http.StatusOK, rekeyStatusBody(st))
	}
}

func rekeyStatusBody(st *keyops.RekeyStatus) map[string]any {
	body := map[string]any{
		"nonce": st.Nonce, "started": st.Started, "t": st.T, "n": st.N,
		"progress": st.Progress, "required": st.Required,
		"pgp_fingerprints": st.PGPFingerprints, "backup": st.Backup,
		"verification_required": st.VerificationRequired,
	}
	if st.VerificationNonce != "" {
		body["verification_nonce"] = st.VerificationNonce
	}
	return body
}

func (h *Handler) rekeyUpdate(w http.ResponseWriter, r *http.Request, ops rekeyOps) {
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
	ctx := r.Context()
	res, err := ops.update(ctx, key, nonce)
	if err != nil {
		h.keyOpErr(w, r, raw, err)
		return
	}
	if res == nil {
		st, err := ops.status(ctx)
		if err != nil {
			h.keyOpErr(w, r, raw, err)
			return
		}
		respondJSON(w, http.StatusOK, rekeyStatusBody(st))
		return
	}
	keys, keysB64 := encodeKeys(res.Keys)
	body := map[string]any{
		"nonce": res.Nonce, "complete": true, "keys": keys, "keys_base64": keysB64,
		"pgp_fingerprints": res.PGPFingerprints, "backup": res.Backup,
		"verification_required": res.VerificationRequired,
	}
	if res.VerificationNonce != "" {
		body["verification_nonce"] = res.VerificationNonce
	}
	respondJSON(w, http.StatusOK, body)
}

func (h *Handler) rekeyVerify(w http.ResponseWriter, r *http.Request, ops rekeyOps) {
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
	var st *keyops.RekeyVerifyStatus
	var err error
	switch r.Method {
	case http.MethodGet:
		st, err = ops.verifyStatus(ctx)
	case http.MethodDelete:
		st, err = ops.verifyRestart(ctx)
	default:
		var key []byte
		var nonce string
		var res *keyops.RekeyVerifyResult
		if key, nonce, err = keyAndNonce(data); err == nil {
			res, err = ops.verify(ctx, key, nonce)
		}
		if err == nil && res != nil {
			respondJSON(w, http.StatusOK, map[string]any{"nonce": res.Nonce, "complete": res.Complete})
			return
		}
		if err == nil {
			st, err = ops.verifyStatus(ctx)
		}
	}
	if err != nil {
		h.keyOpErr(w, r, raw, err)
		return
	}
	respondJSON(w, http.StatusOK, map[string]any{
		"nonce": st.Nonce, "started": st.Started, "t": st.T, "n": st.N, "progress": st.Progress,
	})
}
