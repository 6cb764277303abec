package audit

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// The types below are the audit log line, field for field Vault's JSON audit
// format (names and omitempty as in hashicorp/vault audit/types.go), minus
// Enterprise-only and plugin-only fields Strongbox has no data for.

type entry struct {
	Time     string         `json:"time,omitempty"`
	Type     string         `json:"type"`
	Auth     *entryAuth     `json:"auth,omitempty"`
	Request  *entryRequest  `json:"request,omitempty"`
	Response *entryResponse `json:"response,omitempty"`
	Error    string         `json:"error,omitempty"`
}

type entryAuth struct {
	ClientToken   string   `json:"client_token,omitempty"`
	Accessor      string   `json:"accessor,omitempty"`
	DisplayName   string   `json:"display_name,omitempty"`
	Policies      []string `json:"policies,omitempty"`
	TokenPolicies []string `json:"token_policies,omitempty"`
	// IdentityPolicies come from the caller's entity and groups.
	IdentityPolicies []string          `json:"identity_policies,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	NumUses          int               `json:"num_uses,omitempty"`
	EntityID         string            `json:"entity_id,omitempty"`
	TokenType        string            `json:"token_type,omitempty"`
	TokenTTL         int64             `json:"token_ttl,omitempty"`
}

type entryNamespace struct {
	ID   string `json:"id,omitempty"`
	Path string `json:"path,omitempty"`
}

type entryRequest struct {
	ID                  string              `json:"id,omitempty"`
	ClientToken         string              `json:"client_token,omitempty"`
	ClientTokenAccessor string              `json:"client_token_accessor,omitempty"`
	Operation           logical.Operation   `json:"operation,omitempty"`
	MountPoint          string              `json:"mount_point,omitempty"`
	MountType           string              `json:"mount_type,omitempty"`
	Namespace           *entryNamespace     `json:"namespace,omitempty"`
	Path                string              `json:"path,omitempty"`
	Data                map[string]any      `json:"data,omitempty"`
	RemoteAddr          string              `json:"remote_address,omitempty"`
	RemotePort          int                 `json:"remote_port,omitempty"`
	Headers             map[string][]string `json:"headers,omitempty"`
}

type entrySecret struct {
	LeaseID string `json:"lease_id,omitempty"`
}

type entryWrapInfo struct {
	TTL             int    `json:"ttl,omitempty"`
	Token           string `json:"token,omitempty"`
	Accessor        string `json:"accessor,omitempty"`
	CreationTime    string `json:"creation_time,omitempty"`
	CreationPath    string `json:"creation_path,omitempty"`
	WrappedAccessor string `json:"wrapped_accessor,omitempty"`
}

type entryResponse struct {
	MountPoint string              `json:"mount_point,omitempty"`
	MountType  string              `json:"mount_type,omitempty"`
	Auth       *entryAuth          `json:"auth,omitempty"`
	Secret     *entrySecret        `json:"secret,omitempty"`
	Data       map[string]any      `json:"data,omitempty"`
	Warnings   []string            `json:"warnings,omitempty"`
	WrapInfo   *entryWrapInfo      `json:"wrap_info,omitempty"`
	Headers    map[string][]string `json:"headers,omitempty"`
}

// rootNamespace is the only namespace Strongbox has; Vault names it "root".
var rootNamespace = entryNamespace{ID: "root"}

// callerAuth describes the caller's token: in.Auth when the core gave one,
// else what the request itself carries.
func callerAuth(in *LogInput) *entryAuth {
	if a := in.Auth; a != nil {
		return authEntry(a)
	}
	r := in.Request
	return &entryAuth{
		ClientToken: r.ClientToken,
		Accessor:    r.ClientTokenAccessor,
		DisplayName: r.DisplayName,
		Policies:    r.Policies,
		EntityID:    r.EntityID,
		TokenType:   tokenType(""),
		TokenTTL:    int64(r.TokenTTL / time.Second),
	}
}

// authEntry converts a logical.Auth. Strings are shared with a; the caller
// replaces token fields by their HMAC on the copy, never on a.
func authEntry(a *logical.Auth) *entryAuth {
	return &entryAuth{
		ClientToken:      a.ClientToken,
		Accessor:         a.Accessor,
		DisplayName:      a.DisplayName,
		Policies:         a.Policies,
		TokenPolicies:    a.TokenPolicies,
		IdentityPolicies: a.IdentityPolicies,
		Metadata:         a.Metadata,
		NumUses:          a.NumUses,
		EntityID:         a.EntityID,
		TokenType:        tokenType(a.TokenType),
		TokenTTL:         int64(a.LeaseDuration / time.Second),
	}
}

// tokenType mirrors Vault, whose zero token type prints as "default".
func tokenType(t string) string {
	if t == "" {
		return "default"
	}
	return t
}

// requestEntry converts the parts of r that need no hashing.
func requestEntry(r *logical.Request) *entryRequest {
	ns := rootNamespace
	e := &entryRequest{
		ID:                  r.ID,
		ClientToken:         r.ClientToken,
		ClientTokenAccessor: r.ClientTokenAccessor,
		Operation:           r.Operation,
		MountPoint:          r.MountPoint,
		MountType:           r.MountType,
		Namespace:           &ns,
		Path:                r.Path,
	}
	if r.Connection != nil {
		e.RemoteAddr, e.RemotePort = splitRemote(r.Connection.RemoteAddr)
	}
	return e
}

// splitRemote splits "host:port" (what net/http gives); an address without
// a port is returned whole.
func splitRemote(addr string) (string, int) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return addr, 0
	}
	return host, p
}

// auditedHeaders returns the configured headers of h, keyed by lower-case
// name, HMAC'ing the values of those configured so (hmac may be nil when
// the device logs raw).
func auditedHeaders(h http.Header, cfg HeaderConfig, hmac func(string) string) map[string][]string {
	if len(h) == 0 || len(cfg) == 0 {
		return nil
	}
	var out map[string][]string
	for name, vals := range h {
		lname := strings.ToLower(name)
		doHMAC, ok := cfg[lname]
		if !ok {
			continue
		}
		cp := make([]string, len(vals))
		for i, v := range vals {
			if doHMAC && hmac != nil {
				v = hmac(v)
			}
			cp[i] = v
		}
		if out == nil {
			out = make(map[string][]string)
		}
		out[lname] = append(out[lname], cp...)
	}
	return out
}
