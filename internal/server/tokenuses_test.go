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
