package logical

import "time"

// Envelope is Vault's JSON response body, as the HTTP layer writes it and
// as a wrapped response is kept in its wrapping token's cubbyhole (so that
// unwrapping returns the very body the client would have had).
type Envelope struct {
	RequestID     string         `json:"request_id"`
	LeaseID       string         `json:"lease_id"`
	Renewable     bool           `json:"renewable"`
	LeaseDuration int64          `json:"lease_duration"`
	Data          map[string]any `json:"data"`
	WrapInfo      *EnvelopeWrap  `json:"wrap_info"`
	Warnings      []string       `json:"warnings"`
	Auth          *EnvelopeAuth  `json:"auth"`
	MountType     string         `json:"mount_type"`
	// Errors is set on an error answered with a body (a transit batch
	// whose every item failed): Vault's "errors", beside the data.
	Errors []string `json:"errors,omitempty"`
}

// EnvelopeAuth is the envelope's "auth" object.
type EnvelopeAuth struct {
	ClientToken   string   `json:"client_token"`
	Accessor      string   `json:"accessor"`
	Policies      []string `json:"policies"`
	TokenPolicies []string `json:"token_policies"`
	// IdentityPolicies are omitted when empty, as Vault does.
	IdentityPolicies []string          `json:"identity_policies,omitempty"`
	Metadata         map[string]string `json:"metadata"`
	LeaseDuration    int64             `json:"lease_duration"`
	Renewable        bool              `json:"renewable"`
	EntityID         string            `json:"entity_id"`
	TokenType        string            `json:"token_type"`
	Orphan           bool              `json:"orphan"`
	MFARequirement   any               `json:"mfa_requirement"`
	NumUses          int               `json:"num_uses"`
}

// EnvelopeWrap is the envelope's "wrap_info" object.
type EnvelopeWrap struct {
	Token           string `json:"token"`
	Accessor        string `json:"accessor"`
	TTL             int64  `json:"ttl"`
	CreationTime    string `json:"creation_time"`
	CreationPath    string `json:"creation_path"`
	WrappedAccessor string `json:"wrapped_accessor"`
}

// EnvelopeBody is the JSON body the HTTP layer writes for resp: its
// Envelope, and for the sys/ mount (mountType "system") the data also at
// the top level, where Vault's clients read it (sys/ha-status, sys/mounts).
func EnvelopeBody(requestID string, resp *Response, mountType string) any {
	env := EnvelopeOf(requestID, resp, mountType)
	if env.WrapInfo == nil && mountType == "system" && len(env.Data) > 0 {
		return withTopLevelData(env)
	}
	return env
}

// EnvelopeOf is resp in Vault's envelope. A wrapped response shows its
// wrap_info and nothing else, as Vault's does.
func EnvelopeOf(requestID string, resp *Response, mountType string) Envelope {
	if w := resp.WrapInfo; w != nil && w.Token != "" {
		return Envelope{WrapInfo: &EnvelopeWrap{
			Token: w.Token, Accessor: w.Accessor, TTL: int64(w.TTL / time.Second),
			CreationTime: w.CreationTime.UTC().Format(time.RFC3339Nano),
			CreationPath: w.CreationPath, WrappedAccessor: w.WrappedAccessor,
		}}
	}
	env := Envelope{RequestID: requestID, Data: resp.Data, Warnings: resp.Warnings, MountType: mountType}
	if s := resp.Secret; s != nil {
		// Only the lease terms reach the client; InternalData stays with
		// the lease.
		env.LeaseID = s.LeaseID
		env.Renewable = s.Renewable
		env.LeaseDuration = int64(s.TTL / time.Second)
	}
	if a := resp.Auth; a != nil {
		env.Auth = &EnvelopeAuth{
			ClientToken: a.ClientToken, Accessor: a.Accessor, Policies: a.Policies,
			TokenPolicies: a.TokenPolicies, IdentityPolicies: a.IdentityPolicies, Metadata: a.Metadata,
			LeaseDuration: int64(a.LeaseDuration / time.Second), Renewable: a.Renewable,
			EntityID: a.EntityID, TokenType: a.TokenType, Orphan: a.Orphan, NumUses: a.NumUses,
		}
		if env.Auth.TokenType == "" {
			env.Auth.TokenType = "service"
		}
	}
	return env
}

func withTopLevelData(env Envelope) map[string]any {
	out := make(map[string]any, len(env.Data)+9)
	for k, v := range env.Data {
		out[k] = v
	}
	out["request_id"], out["lease_id"], out["renewable"] = env.RequestID, env.LeaseID, env.Renewable
	out["lease_duration"], out["data"], out["wrap_info"] = env.LeaseDuration, env.Data, env.WrapInfo
	out["warnings"], out["auth"], out["mount_type"] = env.Warnings, env.Auth, env.MountType
	return out
}
