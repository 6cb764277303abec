package server

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/core"
)

// TestTokenRoles: through the official client, token roles are written,
// read, listed and deleted; bad input is a 400 that stores nothing; a
// token created against a role gets the role's policies, orphan flag,
// period and creation path, and revoke-prefix on that path revokes it.
func TestTokenRoles(t *testing.T) {
	client := rootClient(t, serveCore(t, core.Config{SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods()}))
	logical := client.Logical()

	if _, err := logical.Write("auth/token/roles/web", map[string]any{
		"allowed_policies":    []string{"app", "ops"},
		"disallowed_policies": "secret",
		"orphan":              true,
		"path_suffix":         "v1",
		"token_period":        "1h",
		"token_bound_cidrs":   "127.0.0.1/32",
	}); err != nil {
		t.Fatal(err)
	}
	sec, err := logical.Read("auth/token/roles/web")
	if err != nil || sec == nil {
		t.Fatalf("read role: %v %v", sec, err)
	}
	if got := roleList(sec.Data["allowed_policies"]); !slices.Equal(got, []string{"app", "ops"}) {
		t.Errorf("allowed_policies = %v", got)
	}
	if sec.Data["orphan"] != true || sec.Data["path_suffix"] != "v1" || sec.Data["token_type"] != "default" {
		t.Errorf("read role: %v", sec.Data)
	}

	// Bad input: 400 in Vault's shape, and the role stays as it was.
	for _, body := range []map[string]any{
		{"token_type": "batch", "token_period": "1h"},
		{"token_bound_cidrs": "not-a-cidr"},
		{"path_suffix": "../escape"},
		{"token_period": "-1"},
	} {
		_, err := logical.Write("auth/token/roles/web", body)
		var re *vault.ResponseError
		if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest || len(re.Errors) == 0 {
			t.Fatalf("write %v: %v, want a 400", body, err)
		}
		if _, err := logical.Write("auth/token/roles/bad", body); err == nil {
			t.Fatalf("write %v to a new role: no error", body)
		}
	}
	after, err := logical.Read("auth/token/roles/web")
	if err != nil || after.Data["token_period"] != sec.Data["token_period"] || after.Data["path_suffix"] != "v1" {
		t.Fatalf("a refused write changed the role: %v %v", after, err)
	}
	if bad, err := logical.Read("auth/token/roles/bad"); err != nil || bad != nil {
		t.Fatalf("a refused create stored a role: %v %v", bad, err)
	}

	if _, err := logical.Write("auth/token/roles/db", nil); err != nil {
		t.Fatal(err)
	}
	list, err := logical.List("auth/token/roles")
	if err != nil || list == nil || !slices.Equal(roleList(list.Data["keys"]), []string{"db", "web"}) {
		t.Fatalf("list roles: %v %v", list, err)
	}

	// create/<role> through the client's helper.
	ts := client.Auth().Token()
	secret, err := ts.CreateWithRole(&vault.TokenCreateRequest{}, "web")
	if err != nil {
		t.Fatal(err)
	}
	a := secret.Auth
	if !slices.Equal(a.Policies, []string{"app", "default", "ops"}) || !a.Orphan || a.LeaseDuration != 3600 {
		t.Fatalf("token of role web: %+v", a)
	}
	look, err := ts.Lookup(a.ClientToken)
	if err != nil {
		t.Fatal(err)
	}
	if look.Data["path"] != "auth/token/create/web/v1" {
		t.Errorf("path = %v", look.Data["path"])
	}
	if _, err := ts.CreateWithRole(&vault.TokenCreateRequest{Policies: []string{"secret"}}, "web"); err == nil || !strings.Contains(err.Error(), "must be subset of the role's allowed policies") {
		t.Fatalf("policy outside the role: %v", err)
	}
	if _, err := ts.CreateWithRole(&vault.TokenCreateRequest{EntityAlias: "alice"}, "web"); err == nil || !strings.Contains(err.Error(), "invalid 'entity_alias' value") {
		t.Fatalf("entity_alias: %v", err)
	}
	if _, err := ts.CreateWithRole(&vault.TokenCreateRequest{}, "nope"); err == nil || !strings.Contains(err.Error(), "unknown role nope") {
		t.Fatalf("unknown role: %v", err)
	}

	// The role's bound CIDRs go on its tokens: one bound elsewhere is
	// refused from 127.0.0.1, one bound here works.
	if _, err := logical.Write("auth/token/roles/far", map[string]any{"token_bound_cidrs": "10.0.0.0/8"}); err != nil {
		t.Fatal(err)
	}
	far, err := ts.CreateWithRole(&vault.TokenCreateRequest{}, "far")
	if err != nil {
		t.Fatal(err)
	}
	other, err := client.Clone()
	if err != nil {
		t.Fatal(err)
	}
	other.SetToken(far.Auth.ClientToken)
	_, err = other.Auth().Token().LookupSelf()
	var denied *vault.ResponseError
	if !errors.As(err, &denied) || denied.StatusCode != http.StatusForbidden {
		t.Fatalf("token bound to 10.0.0.0/8 used from 127.0.0.1: %v", err)
	}
	other.SetToken(a.ClientToken)
	if _, err := other.Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("token bound to 127.0.0.1 used from 127.0.0.1: %v", err)
	}

	// The role's tokens are leases under its creation path.
	if err := client.Sys().RevokePrefix("auth/token/create/web"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Lookup(a.ClientToken); err == nil {
		t.Fatal("token of role web still valid after revoke-prefix auth/token/create/web")
	}

	if _, err := logical.Delete("auth/token/roles/web"); err != nil {
		t.Fatal(err)
	}
	if sec, err := logical.Read("auth/token/roles/web"); err != nil || sec != nil {
		t.Fatalf("read after delete: %v %v", sec, err)
	}
}

// roleList reads a JSON list of strings.
func roleList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, s := range l {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}
