package http

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// envelope is Vault's response body.
type envelope struct {
	RequestID     string         `json:"request_id"`
	LeaseID       string         `json:"lease_id"`
	Renewable     bool           `json:"renewable"`
	LeaseDuration int64          `json:"lease_duration"`
	Data          map[string]any `json:"data"`
	WrapInfo      any            `json:"wrap_info"`
	Warnings      []string       `json:"warnings"`
	Auth          *authBody      `json:"auth"`
	MountType     string         `json:"mount_type"`
}

type authBody struct {
	ClientToken    string            `json:"client_token"`
	Accessor       string            `json:"accessor"`
	Policies       []string          `json:"policies"`
	TokenPolicies  []string          `json:"token_policies"`
	Metadata       map[string]string `json:"metadata"`
	LeaseDuration  int64             `json:"lease_duration"`
	Renewable      bool              `json:"renewable"`
	EntityID       string            `json:"entity_id"`
	TokenType      string            `json:"token_type"`
	Orphan         bool              `json:"orphan"`
	MFARequirement any               `json:"mfa_requirement"`
	NumUses        int               `json:"num_uses"`
}

func respondEnvelope(w http.ResponseWriter, status int, req *logical.Request, resp *logical.Response, mountType string) {
	for k, v := range resp.Headers {
		w.Header()[k] = v
	}
	env := envelope{RequestID: req.ID, Data: resp.Data, Warnings: resp.Warnings, MountType: mountType}
	if s := resp.Secret; s != nil {
		// Only the lease terms reach the client; InternalData stays with
		// the lease.
		env.LeaseID = s.LeaseID
		env.Renewable = s.Renewable
		env.LeaseDuration = int64(s.TTL / time.Second)
	}
	if a := resp.Auth; a != nil {
		env.Auth = &authBody{
			ClientToken: a.ClientToken, Accessor: a.Accessor, Policies: a.Policies,
			TokenPolicies: a.TokenPolicies, Metadata: a.Metadata,
			LeaseDuration: int64(a.LeaseDuration / time.Second), Renewable: a.Renewable,
			EntityID: a.EntityID, TokenType: a.TokenType, Orphan: a.Orphan, NumUses: a.NumUses,
		}
		if env.Auth.TokenType == "" {
			env.Auth.TokenType = "service"
		}
	}
	if mountType == "system" && len(env.Data) > 0 {
		// Vault's sys/ endpoints also carry their data at the top level of
		// the body, and clients depend on it (sys/ha-status, sys/mounts).
		respondJSON(w, status, withTopLevelData(env))
		return
	}
	respondJSON(w, status, env)
}

func withTopLevelData(env envelope) map[string]any {
	out := make(map[string]any, len(env.Data)+9)
	for k, v := range env.Data {
		out[k] = v
	}
	out["request_id"], out["lease_id"], out["renewable"] = env.RequestID, env.LeaseID, env.Renewable
	out["lease_duration"], out["data"], out["wrap_info"] = env.LeaseDuration, env.Data, env.WrapInfo
	out["warnings"], out["auth"], out["mount_type"] = env.Warnings, env.Auth, env.MountType
	return out
}

func respondJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(body)
}

// respondError writes Vault's error shape: {"errors":["..."]}.
func respondError(w http.ResponseWriter, status int, err error) {
	msgs := []string{}
	if err != nil && err.Error() != "" {
		msgs = append(msgs, err.Error())
	}
	respondJSON(w, status, map[string]any{"errors": msgs})
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
