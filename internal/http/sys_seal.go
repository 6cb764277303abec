package http

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/core"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/seal"
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
		if err := h.checkInitParams(d); err != nil {
			respondError(w, http.StatusBadRequest, err)
			return
		}
		req := core.InitRequest{
			SecretShares:      d.Get("secret_shares").(int),
			SecretThreshold:   d.Get("secret_threshold").(int),
			RecoveryShares:    d.Get("recovery_shares").(int),
			RecoveryThreshold: d.Get("recovery_threshold").(int),
			RecoveryPGPKeys:   d.Get("recovery_pgp_keys").([]string),
			PGPKeys:           d.Get("pgp_keys").([]string),
			RootTokenPGPKey:   d.Get("root_token_pgp_key").(string),
		}
		_, hasShares := d.GetOk("recovery_shares")
		_, hasThreshold := d.GetOk("recovery_threshold")
		if h.core.RecoverySeal() && !hasShares && !hasThreshold {
			// The defaults Vault's CLI sends; a client that sends 0 gets
			// Vault's error instead.
			req.RecoveryShares, req.RecoveryThreshold = seal.DefaultRecoveryShares, seal.DefaultRecoveryThreshold
		}
		res, err := h.core.Init(ctx, req)
		if err != nil {
			if errors.Is(err, core.ErrAlreadyInitialized) {
				respondError(w, http.StatusBadRequest, err)
				return
			}
			h.writeErr(w, r, err)
			return
		}
		keys, keysB64 := encodeKeys(res.Keys)
		out := map[string]any{"keys": keys, "keys_base64": keysB64, "root_token": res.RootToken}
		if len(res.RecoveryKeys) > 0 {
			out["recovery_keys"], out["recovery_keys_base64"] = encodeKeys(res.RecoveryKeys)
		}
		respondJSON(w, http.StatusOK, out)
	default:
		respondError(w, http.StatusMethodNotAllowed, errors.New("unsupported operation"))
	}
}

// checkInitParams applies Vault's rule: the secret_* parameters belong to
// the Shamir seal, the recovery_* ones to auto seals, and the other kind
// is refused by name.
func (h *Handler) checkInitParams(d *logical.FieldData) error {
	var barrierFlags, recoveryFlags []string
	if d.Get("secret_shares").(int) != 0 {
		barrierFlags = append(barrierFlags, "secret_shares")
	}
	if d.Get("secret_threshold").(int) != 0 {
		barrierFlags = append(barrierFlags, "secret_threshold")
	}
	if len(d.Get("pgp_keys").([]string)) != 0 {
		barrierFlags = append(barrierFlags, "pgp_keys")
	}
	if d.Get("recovery_shares").(int) != 0 {
		recoveryFlags = append(recoveryFlags, "recovery_shares")
	}
	if d.Get("recovery_threshold").(int) != 0 {
		recoveryFlags = append(recoveryFlags, "recovery_threshold")
	}
	if len(d.Get("recovery_pgp_keys").([]string)) != 0 {
		recoveryFlags = append(recoveryFlags, "recovery_pgp_keys")
	}
	recovery := h.core.RecoverySeal()
	switch {
	case recovery && len(barrierFlags) > 0:
		return fmt.Errorf("parameters %s not applicable to seal type %s", strings.Join(barrierFlags, ","), h.core.SealType())
	case !recovery && len(recoveryFlags) > 0:
		return fmt.Errorf("parameters %s not applicable to seal type %s", strings.Join(recoveryFlags, ","), h.core.SealType())
	case !recovery && d.Get("stored_shares").(int) != 0:
		return errors.New("stored keys are not supported by the shamir seal")
	}
	return nil
}

// encodeKeys renders key shares as Vault does: hex and base64.
func encodeKeys(ks [][]byte) (hexKeys, b64Keys []string) {
	hexKeys, b64Keys = make([]string, len(ks)), make([]string, len(ks))
	for i, k := range ks {
		hexKeys[i] = hex.EncodeToString(k)
		b64Keys[i] = base64.StdEncoding.EncodeToString(k)
	}
	return hexKeys, b64Keys
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
		opts := core.UnsealOptions{Migrate: d.Get("migrate").(bool)}
		if err := h.core.UnsealWithOptions(ctx, key, opts); err != nil {
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
		"version": h.core.Version(), "build_date": buildDate(), "migration": st.Migration,
		"recovery_seal": st.RecoverySeal, "storage_type": h.core.StorageType(),
		"removed_from_cluster": false,
	}
	if st.RecoverySealType != "" {
		body["recovery_seal_type"] = st.RecoverySealType
	}
	if !st.Sealed {
		body["cluster_name"], body["cluster_id"] = st.ClusterName, st.ClusterID
	}
	h.redact.apply(body)
	respondJSON(w, http.StatusOK, body)
}

// buildDate is reported by seal-status: the commit time the Go toolchain
// stamped into the binary, empty for a build outside version control.
func buildDate() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.time" {
				return s.Value
			}
		}
	}
	return ""
}

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
	h.redact.apply(body)
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
	h.redact.apply(body)
	respondJSON(w, http.StatusOK, body)
}

func truthy(s string) bool {
	b, err := strconv.ParseBool(s)
	return err == nil && b
}
