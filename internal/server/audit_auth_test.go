package server

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

// TestAuditRequestAuthBlock: a request entry carries the caller's auth
// block as Vault writes it: client_token and accessor HMAC'd (equal to
// sys/audit-hash of the clear values), display_name, token_policies,
// identity_policies from the caller's entity, policies as their union,
// entity_id, token_type and token_ttl.
func TestAuditRequestAuthBlock(t *testing.T) {
	_, root := startDev(t)
	logPath := filepath.Join(t.TempDir(), "audit.log")
	if err := root.Sys().EnableAuditWithOptions("file", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": logPath}}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().EnableAuthWithOptions("userpass", &vault.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/userpass/users/alice", map[string]any{"password": "pw", "token_policies": "default", "token_ttl": "1h"}); err != nil {
		t.Fatal(err)
	}
	c, err := root.Clone()
	if err != nil {
		t.Fatal(err)
	}
	sec, err := c.Logical().Write("auth/userpass/login/alice", map[string]any{"password": "pw"})
	if err != nil {
		t.Fatal(err)
	}
	tok, accessor, entityID := sec.Auth.ClientToken, sec.Auth.Accessor, sec.Auth.EntityID
	if entityID == "" {
		t.Fatal("login made no entity")
	}
	if _, err := root.Logical().Write("identity/entity/id/"+entityID, map[string]any{"policies": []string{"ent-pol"}}); err != nil {
		t.Fatal(err)
	}
	c.SetToken(tok)
	if _, err := c.Logical().Read("auth/token/lookup-self"); err != nil {
		t.Fatal(err)
	}
	hash := func(s string) string {
		r, err := root.Logical().Write("sys/audit-hash/file", map[string]any{"input": s})
		if err != nil {
			t.Fatal(err)
		}
		return r.Data["hash"].(string)
	}

	type authBlock struct {
		ClientToken      string   `json:"client_token"`
		Accessor         string   `json:"accessor"`
		DisplayName      string   `json:"display_name"`
		Policies         []string `json:"policies"`
		TokenPolicies    []string `json:"token_policies"`
		IdentityPolicies []string `json:"identity_policies"`
		EntityID         string   `json:"entity_id"`
		TokenType        string   `json:"token_type"`
		TokenTTL         int64    `json:"token_ttl"`
	}
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got *authBlock
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct {
			Type    string     `json:"type"`
			Auth    *authBlock `json:"auth"`
			Request struct {
				Path string `json:"path"`
			} `json:"request"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.Type == "request" && e.Request.Path == "auth/token/lookup-self" {
			got = e.Auth
		}
	}
	if got == nil {
		t.Fatal("no request entry for auth/token/lookup-self")
	}
	want := authBlock{
		ClientToken: hash(tok), Accessor: hash(accessor), DisplayName: "userpass-alice",
		Policies: []string{"default", "ent-pol"}, TokenPolicies: []string{"default"}, IdentityPolicies: []string{"ent-pol"},
		EntityID: entityID, TokenType: "service",
	}
	if got.TokenTTL <= 0 || got.TokenTTL > 3600 {
		t.Errorf("token_ttl = %d, want within (0, 3600]", got.TokenTTL)
	}
	got.TokenTTL = 0
	if got.ClientToken != want.ClientToken || got.Accessor != want.Accessor || got.DisplayName != want.DisplayName ||
		!slices.Equal(got.Policies, want.Policies) || !slices.Equal(got.TokenPolicies, want.TokenPolicies) ||
		!slices.Equal(got.IdentityPolicies, want.IdentityPolicies) || got.EntityID != want.EntityID || got.TokenType != want.TokenType {
		t.Errorf("auth block = %+v\nwant %+v", *got, want)
	}
}
