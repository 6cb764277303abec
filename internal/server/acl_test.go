package server

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

const appPolicy = `
path "secret/data/app/*" {
  capabilities = ["create", "read", "update"]
}
path "secret/data/app/forbidden" {
  capabilities = ["deny"]
}
path "secret/metadata/app/*" {
  capabilities = ["list"]
}
path "auth/token/create" {
  capabilities = ["update"]
}
`

// TestPoliciesAndTokens: a limited token can do what its policy allows and
// nothing else; token life cycle through the official client.
func TestPoliciesAndTokens(t *testing.T) {
	srv, root := startDev(t)
	ctx := context.Background()
	if err := root.Sys().PutPolicy("app", appPolicy); err != nil {
		t.Fatalf("put policy: %v", err)
	}
	got, err := root.Sys().GetPolicy("app")
	if err != nil || got != appPolicy {
		t.Fatalf("get policy = %q, %v", got, err)
	}
	pols, err := root.Sys().ListPolicies()
	if err != nil || !slices.Contains(pols, "app") || !slices.Contains(pols, "default") || !slices.Contains(pols, "root") {
		t.Fatalf("list policies = %v, %v", pols, err)
	}

	sec, err := root.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"app"}, TTL: "1h", DisplayName: "ci"})
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	tok := sec.Auth.ClientToken
	if sec.Auth.Accessor == "" || !slices.Contains(sec.Auth.Policies, "app") || !slices.Contains(sec.Auth.Policies, "default") {
		t.Fatalf("token auth = %+v", sec.Auth)
	}
	app := srv.client(tok)
	if _, err := app.KVv2("secret").Put(ctx, "app/db", map[string]any{"pw": "x"}); err != nil {
		t.Fatalf("allowed put: %v", err)
	}
	if s, err := app.KVv2("secret").Get(ctx, "app/db"); err != nil || s.Data["pw"] != "x" {
		t.Fatalf("allowed get: %v %v", s, err)
	}
	_, err = app.KVv2("secret").Put(ctx, "app/forbidden", map[string]any{"a": "b"})
	assertStatus(t, err, http.StatusForbidden)
	_, err = app.KVv2("secret").Put(ctx, "other", map[string]any{"a": "b"})
	assertStatus(t, err, http.StatusForbidden)
	_, err = app.Sys().ListMounts()
	assertStatus(t, err, http.StatusForbidden)
	_, err = app.Logical().List("secret/metadata/app")
	if err != nil {
		t.Fatalf("allowed list: %v", err)
	}
	// The default policy lets a token look itself up.
	self, err := app.Auth().Token().LookupSelf()
	if err != nil || self.Data["display_name"] != "token-ci" {
		t.Fatalf("lookup-self = %v, %v", self, err)
	}

	caps, err := root.Sys().CapabilitiesWithContext(ctx, tok, "secret/data/app/db")
	if err != nil || !slices.Equal(caps, []string{"create", "read", "update"}) {
		t.Fatalf("capabilities = %v, %v", caps, err)
	}
	caps, err = app.Sys().CapabilitiesSelf("secret/data/app/forbidden")
	if err != nil || !slices.Equal(caps, []string{"deny"}) {
		t.Fatalf("capabilities-self = %v, %v", caps, err)
	}
	rootCaps, err := root.Sys().CapabilitiesSelf("anything/at/all")
	if err != nil || !slices.Equal(rootCaps, []string{"root"}) {
		t.Fatalf("root capabilities = %v, %v", rootCaps, err)
	}

	// A child token dies with its parent; an orphan survives.
	child, err := app.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"app"}})
	if err != nil {
		t.Fatalf("child create: %v", err)
	}
	_, err = app.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"root"}})
	assertStatus(t, err, http.StatusBadRequest)
	orphan, err := root.Auth().Token().CreateOrphan(&vault.TokenCreateRequest{Policies: []string{"app"}})
	if err != nil {
		t.Fatalf("orphan: %v", err)
	}
	if err := root.Auth().Token().RevokeTree(tok); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	_, err = srv.client(child.Auth.ClientToken).Auth().Token().LookupSelf()
	assertStatus(t, err, http.StatusForbidden)
	if _, err := srv.client(orphan.Auth.ClientToken).Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("orphan died with an unrelated revoke: %v", err)
	}

	// Accessors: list (sudo), lookup and revoke by accessor.
	list, err := root.Logical().List("auth/token/accessors")
	if err != nil || list == nil {
		t.Fatalf("list accessors: %v %v", list, err)
	}
	keys, _ := list.Data["keys"].([]any)
	if !slices.Contains(keys, any(orphan.Auth.Accessor)) {
		t.Fatalf("accessor list %v lacks %s", keys, orphan.Auth.Accessor)
	}
	byAcc, err := root.Auth().Token().LookupAccessor(orphan.Auth.Accessor)
	if err != nil || byAcc.Data["id"] != "" {
		t.Fatalf("lookup-accessor = %v, %v", byAcc, err)
	}
	if err := root.Auth().Token().RevokeAccessor(orphan.Auth.Accessor); err != nil {
		t.Fatal(err)
	}
	_, err = srv.client(orphan.Auth.ClientToken).Auth().Token().LookupSelf()
	assertStatus(t, err, http.StatusForbidden)

	// Renew.
	ren, err := root.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"app"}, TTL: "10m", Renewable: boolp(true)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := srv.client(ren.Auth.ClientToken).Auth().Token().RenewSelf(3600)
	if err != nil || r.Auth.LeaseDuration < 3000 {
		t.Fatalf("renew-self = %+v, %v", r, err)
	}

	// No token at all and a bad token: 403.
	_, err = srv.client("").KVv2("secret").Get(ctx, "app/db")
	assertStatus(t, err, http.StatusForbidden)
	_, err = srv.client("hvs.nonsense").KVv2("secret").Get(ctx, "app/db")
	assertStatus(t, err, http.StatusForbidden)

	// Bearer authorization works like X-Vault-Token.
	code, body := rawCall(t, srv, "GET", "/v1/auth/token/lookup-self", "", nil)
	if code != 403 {
		t.Fatalf("no token lookup-self: %d %v", code, body)
	}
	req, _ := http.NewRequest("GET", "http://"+srv.addr+"/v1/auth/token/lookup-self", nil)
	req.Header.Set("Authorization", "Bearer "+devRoot)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("bearer lookup-self: %v %v", resp, err)
	}
	resp.Body.Close()

	// Deleting the policy takes the access away.
	if err := root.Sys().DeletePolicy("app"); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().DeletePolicy("default"); err == nil {
		t.Fatal("deleting the default policy succeeded")
	}
}

func TestCubbyholeIsPerToken(t *testing.T) {
	srv, root := startDev(t)
	a, err := root.Auth().Token().Create(&vault.TokenCreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := root.Auth().Token().Create(&vault.TokenCreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ca, cb := srv.client(a.Auth.ClientToken), srv.client(b.Auth.ClientToken)
	if _, err := ca.Logical().Write("cubbyhole/note", map[string]any{"v": "mine"}); err != nil {
		t.Fatal(err)
	}
	s, err := ca.Logical().Read("cubbyhole/note")
	if err != nil || s == nil || s.Data["v"] != "mine" {
		t.Fatalf("own cubbyhole: %v %v", s, err)
	}
	s, err = cb.Logical().Read("cubbyhole/note")
	if err != nil || s != nil {
		t.Fatalf("other token sees cubbyhole: %v %v", s, err)
	}
	if err := root.Auth().Token().RevokeTree(a.Auth.ClientToken); err != nil {
		t.Fatal(err)
	}
	// The revoked token's cubbyhole is gone from storage: a new token with
	// the same policies sees nothing, and the list is empty.
	s, err = cb.Logical().List("cubbyhole/")
	if err != nil || s != nil {
		t.Fatalf("list after revoke: %v %v", s, err)
	}
}

func TestMountsTuneRemount(t *testing.T) {
	srv, c := startDev(t)
	ctx := context.Background()
	if err := c.Sys().Mount("kvx", &vault.MountInput{Type: "kv-v2", Description: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVv2("kvx").Put(ctx, "a", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().TuneMount("kvx", vault.MountConfigInput{DefaultLeaseTTL: "1h", MaxLeaseTTL: "2h", Description: strp("tuned")}); err != nil {
		t.Fatalf("tune: %v", err)
	}
	cfg, err := c.Sys().MountConfig("kvx")
	if err != nil || cfg.DefaultLeaseTTL != 3600 || cfg.MaxLeaseTTL != 7200 {
		t.Fatalf("tuned config = %+v, %v", cfg, err)
	}
	if err := c.Sys().TuneMount("kvx", vault.MountConfigInput{DefaultLeaseTTL: "3h"}); err == nil {
		t.Fatal("default above max accepted")
	}
	if err := c.Sys().Remount("kvx", "kvy"); err != nil {
		t.Fatalf("remount: %v", err)
	}
	s, err := c.KVv2("kvy").Get(ctx, "a")
	if err != nil || s.Data["k"] != "v" {
		t.Fatalf("data after remount: %v %v", s, err)
	}
	if code, body := rawCall(t, srv, "GET", "/v1/kvx/data/a", devRoot, nil); code != 404 || !strings.Contains(asJSON(body), "no handler for route") {
		t.Fatalf("old path after remount: %d %v", code, body)
	}
	mounts, _ := c.Sys().ListMounts()
	if mounts["kvy/"] == nil || mounts["kvy/"].Description != "tuned" || mounts["kvx/"] != nil {
		t.Fatalf("mounts after remount: %v", mounts)
	}
	if err := c.Sys().Unmount("kvy"); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().Mount("kvy", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVv2("kvy").Get(ctx, "a"); err == nil {
		t.Fatal("data survived disable + enable")
	}
	ui, err := c.Logical().Read("sys/internal/ui/mounts/secret/foo")
	if err != nil || ui.Data["type"] != "kv" || ui.Data["path"] != "secret/" {
		t.Fatalf("ui mounts = %v %v", ui, err)
	}
	if err := c.Sys().Unmount("sys"); err == nil {
		t.Fatal("unmounting sys/ succeeded")
	}
}

func TestRotateKeyStatus(t *testing.T) {
	_, c := startDev(t)
	ctx := context.Background()
	if _, err := c.KVv2("secret").Put(ctx, "before", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	ks, err := c.Sys().KeyStatus()
	if err != nil || ks.Term != 1 {
		t.Fatalf("key-status = %+v, %v", ks, err)
	}
	if err := c.Sys().Rotate(); err != nil {
		t.Fatal(err)
	}
	ks, err = c.Sys().KeyStatus()
	if err != nil || ks.Term != 2 {
		t.Fatalf("key-status after rotate = %+v, %v", ks, err)
	}
	if s, err := c.KVv2("secret").Get(ctx, "before"); err != nil || s.Data["v"] != "1" {
		t.Fatalf("old-term secret: %v %v", s, err)
	}
}

func boolp(b bool) *bool    { return &b }
func strp(s string) *string { return &s }
