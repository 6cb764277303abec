package http

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/core"
	"github.com/strongbox/strongbox/internal/logical"
)

func (h *Handler) handleInit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	switch r.Method {
	case http.MethodGet:
		inited, err := h.core.Initialized(ctx)
		if err != nil {
			respondError(w, http.StatusInternalServerError, err)
			return
		}
		respondJSON(w, http.StatusOK, map[string]any{"initialized": inited})
	case http.MethodPut, http.MethodPost:
		body, status, err := h.parseBody(r, logical.UpdateOperation)
		if err != nil {
			respondError(w, status, err)
			return
		}
		d := &logical.FieldData{Raw: body, Schema: map[string]*logical.FieldSchema{
			"secret_shares":      {Type: logical.TypeInt},
			"secret_threshold":   {Type: logical.TypeInt},
			"stored_shares":      {Type: logical.TypeInt},
			"recovery_shares":    {Type: logical.TypeInt},
			"recovery_threshold": {Type: logical.TypeInt},
			"pgp_keys":           {Type: logical.TypeStringSlice},
			"recovery_pgp_keys":  {Type: logical.TypeStringSlice},
			"root_token_pgp_key": {Type: logical.TypeString},
		}}
		if err := d.Validate(); err != nil {
			h.writeErr(w, r, err)
			return
		}
		switch {
		case len(d.Get("pgp_keys").([]string)) > 0, d.Get("root_token_pgp_key").(string) != "":
			respondError(w, http.StatusBadRequest, errors.New("PGP-encrypted key shares are not supported yet"))
			return
		case d.Get("recovery_shares").(int) != 0 || d.Get("recovery_threshold").(int) != 0:
			respondError(w, http.StatusBadRequest, errors.New("parameters recovery_shares,recovery_threshold not applicable to seal type shamir"))
			return
		case d.Get("stored_shares").(int) != 0:
			respondError(w, http.StatusBadRequest, errors.New("stored keys are not supported by the shamir seal"))
			return
		}
		res, err := h.core.Init(ctx, core.InitRequest{
			SecretShares:    d.Get("secret_shares").(int),
			SecretThreshold: d.Get("secret_threshold").(int),
		})
		if err != nil {
			if errors.Is(err, core.ErrAlreadyInitialized) {
				respondError(w, http.StatusBadRequest, err)
				return
			}
			h.writeErr(w, r, err)
			return
		}
		keys, keysB64 := make([]string, len(res.Keys)), make([]string, len(res.Keys))
		for i, k := range res.Keys {
			keys[i] = hex.EncodeToString(k)
			keysB64[i] = base64.StdEncoding.EncodeToString(k)
		}
		respondJSON(w, http.StatusOK, map[string]any{"keys": keys, "keys_base64": keysB64, "root_token": res.RootToken})
	default:
		respondError(w, http.StatusMethodNotAllowed, errors.New("unsupported operation"))
	}
}

func (h *Handler) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := h.statusOf(r, err)
	respondError(w, status, errors.New(msg))
}

func (h *Handler) handleUnseal(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		respondError(w, http.StatusMethodNotAllowed, errors.New("unsupported operation"))
		return
	}
	body, status, err := h.parseBody(r, logical.UpdateOperation)
	if err != nil {
		respondError(w, status, err)
		return
	}
	d := &logical.FieldData{Raw: body, Schema: map[string]*logical.FieldSchema{
		"key": {Type: logical.TypeString}, "reset": {Type: logical.TypeBool}, "migrate": {Type: logical.TypeBool},
	}}
	if err := d.Validate(); err != nil {
		h.writeErr(w, r, err)
		return
	}
	ctx := r.Context()
	if d.Get("reset").(bool) {
		h.core.ResetUnseal()
	} else {
		keyStr := strings.TrimSpace(d.Get("key").(string))
		if keyStr == "" {
			respondError(w, http.StatusBadRequest, errors.New("'key' must be specified in request body as JSON, or 'reset' set to true"))
			return
		}
		key, err := decodeKey(keyStr)
		if err != nil {
			respondError(w, http.StatusBadRequest, err)
			return
		}
		if err := h.core.Unseal(ctx, key); err != nil {
			h.writeErr(w, r, err)
			return
		}
	}
	h.handleSealStatus(w, r)
}

// decodeKey accepts a share in hex or base64, as Vault does.
func decodeKey(s string) ([]byte, error) {
	if k, err := hex.DecodeString(s); err == nil {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(s); err == nil {
		return k, nil
	}
	return nil, errors.New("'key' must be a valid hex or base64 string")
}

func (h *Handler) handleSealStatus(w http.ResponseWriter, r *http.Request) {
	st, err := h.core.SealStatus(r.Context())
	if err != nil {
		respondError(w, http.StatusInternalServerError, err)
		return
	}
	body := map[string]any{
		"type": st.Type, "initialized": st.Initialized, "sealed": st.Sealed,
		"t": st.T, "n": st.N, "progress": st.Progress, "nonce": st.Nonce,
		"version": h.core.Version(), "build_date": buildDate, "migration": false,
		"recovery_seal": false, "storage_type": h.core.StorageType(),
		"removed_from_cluster": false,
	}
	if !st.Sealed {
		body["cluster_name"], body["cluster_id"] = st.ClusterName, st.ClusterID
	}
	respondJSON(w, http.StatusOK, body)
}

// buildDate is reported by seal-status and health.
var buildDate = time.Now().UTC().Format(time.RFC3339)

func (h *Handler) handleHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		respondError(w, http.StatusMethodNotAllowed, errors.New("unsupported operation"))
		return
	}
	q := r.URL.Query()
	code := func(name string, def int) (int, error) {
		v := q.Get(name)
		if v == "" {
			return def, nil
		}
		c, err := strconv.Atoi(v)
		if err != nil || c < 100 || c > 999 {
			return 0, errors.New("invalid " + name + ": " + v)
		}
		return c, nil
	}
	st, err := h.core.SealStatus(r.Context())
	if err != nil {
		respondError(w, http.StatusInternalServerError, err)
		return
	}
	standby := st.Initialized && !st.Sealed && h.core.Standby()
	status, err := code("activecode", http.StatusOK)
	if err == nil {
		switch {
		case !st.Initialized:
			status, err = code("uninitcode", http.StatusNotImplemented)
		case st.Sealed:
			status, err = code("sealedcode", http.StatusServiceUnavailable)
		case standby && !truthy(q.Get("standbyok")):
			status, err = code("standbycode", http.StatusTooManyRequests)
		}
	}
	if err != nil {
		respondError(w, http.StatusBadRequest, err)
		return
	}
	for _, p := range []string{"standbycode", "drsecondarycode", "performancestandbycode", "removedcode", "haunhealthycode"} {
		if _, err := code(p, 0); err != nil {
			respondError(w, http.StatusBadRequest, err)
			return
		}
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	body := map[string]any{
		"initialized": st.Initialized, "sealed": st.Sealed, "standby": standby,
		"performance_standby": false, "replication_performance_mode": "disabled",
		"replication_dr_mode": "disabled", "server_time_utc": time.Now().Unix(),
		"version": h.core.Version(), "enterprise": false, "echo_duration_ms": 0,
		"clock_skew_ms": 0, "replication_primary_canary_age_ms": 0, "removed_from_cluster": false,
	}
	if !st.Sealed {
		body["cluster_name"], body["cluster_id"] = st.ClusterName, st.ClusterID
	}
	respondJSON(w, status, body)
}

func (h *Handler) handleLeader(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		respondError(w, http.StatusMethodNotAllowed, errors.New("unsupported operation"))
		return
	}
	st, err := h.core.SealStatus(r.Context())
	if err != nil {
		respondError(w, http.StatusInternalServerError, err)
		return
	}
	if st.Sealed && h.core.HAEnabled() {
		respondError(w, http.StatusServiceUnavailable, errors.New("Vault is sealed"))
		return
	}
	body := map[string]any{
		"ha_enabled": h.core.HAEnabled(), "is_self": false,
		"active_time":                         time.Time{}.Format(time.RFC3339),
		"leader_address":                      "",
		"leader_cluster_address":              "",
		"performance_standby":                 false,
		"performance_standby_last_remote_wal": 0,
	}
	committed, applied := h.core.RaftIndexes()
	body["raft_committed_index"], body["raft_applied_index"] = committed, applied
	if h.core.HAEnabled() {
		adv, err := h.core.ActiveAdvertisement(r.Context())
		if err != nil {
			h.writeErr(w, r, err)
			return
		}
		if adv != nil {
			body["is_self"] = !h.core.Standby()
			body["leader_address"], body["leader_cluster_address"] = adv.APIAddr, adv.ClusterAddr
			body["active_time"] = adv.ActiveTime.Format(time.RFC3339Nano)
		}
	}
	respondJSON(w, http.StatusOK, body)
}

func truthy(s string) bool {
	b, err := strconv.ParseBool(s)
	return err == nil && b
}
