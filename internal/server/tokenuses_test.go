package server

import (
	"context"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

// TestUseLimitedTokenServesEveryUse: a token created with num_uses=N serves
// exactly N requests, the last one included (lookup-self on the last use
// answers), and is gone afterwards.
func TestUseLimitedTokenServesEveryUse(t *testing.T) {
	srv, c := startDev(t)
	ctx := context.Background()
	if _, err := c.KVv2("secret").Put(ctx, "app", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().PutPolicy("reader", `path "secret/data/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 3} {
		sec, err := c.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"reader"}, NumUses: n})
		if err != nil {
			t.Fatal(err)
		}
		tc := srv.client(sec.Auth.ClientToken)
		for i := 1; i < n; i++ {
			if s, err := tc.KVv2("secret").Get(ctx, "app"); err != nil || s.Data["k"] != "v" {
				t.Fatalf("num_uses=%d: use %d (kv read): %v", n, i, err)
			}
		}
		// The last use is a lookup-self, which must still find the token.
		self, err := tc.Auth().Token().LookupSelf()
		if err != nil {
			t.Fatalf("num_uses=%d: last use (lookup-self) refused: %v", n, err)
		}
		if self.Data["accessor"] != sec.Auth.Accessor {
			t.Errorf("num_uses=%d: lookup-self answered for another token: %v", n, self.Data)
		}
		// Revoked before the last answer came back.
		if _, err := tc.KVv2("secret").Get(ctx, "app"); err == nil {
			t.Fatalf("num_uses=%d: use %d was served", n, n+1)
		} else {
			assertStatus(t, err, 403)
		}
		if _, err := c.Auth().Token().LookupAccessor(sec.Auth.Accessor); err == nil {
			t.Errorf("num_uses=%d: the used-up token's accessor still resolves", n)
		}
	}
}

// TestRevokePrefix: sys/leases/revoke-prefix (what `token revoke -mode=path`
// calls) revokes the tokens created under the prefix, with their children;
// others, and root tokens, stay. It needs sudo.
func TestRevokePrefix(t *testing.T) {
	srv, c := startDev(t)
	orphanSec, err := c.Auth().Token().CreateOrphan(&vault.TokenCreateRequest{Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	sec, err := c.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().PutPolicy("creator", `path "auth/token/create" { capabilities = ["update"] }
path "sys/leases/revoke-prefix/*" { capabilities = ["update"] }`); err != nil {
		t.Fatal(err)
	}
	creator, err := c.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"creator"}})
	if err != nil {
		t.Fatal(err)
	}
	child, err := srv.client(creator.Auth.ClientToken).Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	// Without sudo: refused.
	err = srv.client(creator.Auth.ClientToken).Sys().RevokePrefix("auth/token/create-orphan")
	assertStatus(t, err, 403)
	if !lookupSelfWorks(t, srv, orphanSec.Auth.ClientToken) {
		t.Fatal("a refused revoke-prefix revoked a token")
	}
	if err := c.Sys().RevokePrefix("auth/token/create-orphan"); err != nil {
		t.Fatal(err)
	}
	if lookupSelfWorks(t, srv, orphanSec.Auth.ClientToken) {
		t.Error("a token created at the prefix survived")
	}
	for name, tok := range map[string]string{"create": sec.Auth.ClientToken, "creator": creator.Auth.ClientToken, "root": devRoot} {
		if !lookupSelfWorks(t, srv, tok) {
			t.Errorf("%s token outside the prefix was revoked", name)
		}
	}
	// The legacy path, and children go with their parent.
	if code, out := rawCall(t, srv, "PUT", "/v1/sys/revoke-prefix/auth/token/create", devRoot, nil); code != 204 {
		t.Fatalf("sys/revoke-prefix: %d %v", code, out)
	}
	for name, tok := range map[string]string{"create": sec.Auth.ClientToken, "creator": creator.Auth.ClientToken, "child": child.Auth.ClientToken} {
		if lookupSelfWorks(t, srv, tok) {
			t.Errorf("%s token survived revoke-prefix auth/token/create", name)
		}
	}
	if !lookupSelfWorks(t, srv, devRoot) {
		t.Error("revoke-prefix revoked the root token")
	}
}
