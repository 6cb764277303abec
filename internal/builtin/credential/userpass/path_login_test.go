package userpass

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestLogin(t *testing.T) {
	e := newEnv(t)
	e.OK(logical.UpdateOperation, "users/alice", map[string]any{
		"password": "pw", "token_policies": "dev", "token_ttl": "1h", "token_max_ttl": "2h",
		"token_num_uses": 5, "token_no_default_policy": true, "token_bound_cidrs": "127.0.0.0/8",
	})
	resp := e.OK(logical.UpdateOperation, "login/ALICE", map[string]any{"password": "pw"})
	want := &logical.Auth{
		Metadata: map[string]string{"username": "alice"}, DisplayName: "alice", Policies: []string{"dev"},
		LeaseDuration: time.Hour, MaxTTL: 2 * time.Hour, NumUses: 5, NoDefaultPolicy: true,
		BoundCIDRs: []string{"127.0.0.0/8"}, TokenType: "default", Renewable: true,
		Alias: &logical.Alias{Name: "alice"},
	}
	if !reflect.DeepEqual(resp.Auth, want) {
		t.Fatalf("auth = %+v\nwant %+v", resp.Auth, want)
	}

	e.Fails(logical.UpdateOperation, "login/alice", map[string]any{"password": "wrong"}, 400, "invalid username or password")
	e.Fails(logical.UpdateOperation, "login/nobody", map[string]any{"password": "pw"}, 400, "invalid username or password")
	e.Fails(logical.UpdateOperation, "login/alice", map[string]any{}, 400, "missing password")

	// Outside the user's CIDRs the right password is refused: 403.
	req := &logical.Request{Operation: logical.UpdateOperation, Path: "login/alice", Storage: e.Storage,
		Data: map[string]any{"password": "pw"}, Connection: &logical.Connection{RemoteAddr: "192.0.2.1:5000"}}
	_, err := e.Backend.HandleRequest(context.Background(), req)
	if status, _ := logical.StatusOf(err); status != 403 {
		t.Fatalf("login from outside the CIDRs: %v (status %d), want 403", err, status)
	}
}

func TestAuthRenew(t *testing.T) {
	e := newEnv(t)
	e.OK(logical.UpdateOperation, "users/alice", map[string]any{"password": "pw", "token_policies": "dev", "token_ttl": "10m", "token_period": "0"})
	login := e.OK(logical.UpdateOperation, "login/alice", map[string]any{"password": "pw"}).Auth
	renew := func() (*logical.Response, error) {
		a := *login
		a.TokenPolicies = []string{"default", "dev"} // as the token carries them
		a.Increment = time.Minute
		return e.Backend.HandleRequest(context.Background(), &logical.Request{Operation: logical.RenewOperation, Path: "login/alice", Storage: e.Storage, Auth: &a})
	}
	// The user's current TTLs apply.
	e.OK(logical.UpdateOperation, "users/alice", map[string]any{"token_ttl": "20m", "token_max_ttl": "1h"})
	resp, err := renew()
	if err != nil {
		t.Fatal(err)
	}
	if resp.Auth.LeaseDuration != 20*time.Minute || resp.Auth.MaxTTL != time.Hour {
		t.Fatalf("renewed auth = %+v", resp.Auth)
	}
	// New policies: not renewed (the user must log in again).
	e.OK(logical.UpdateOperation, "users/alice/policies", map[string]any{"token_policies": "dev,admin"})
	if _, err := renew(); err == nil || err.Error() != "policies have changed, not renewing" {
		t.Fatalf("renew after a policy change = %v", err)
	}
	e.OK(logical.UpdateOperation, "users/alice/policies", map[string]any{"token_policies": "dev"})
	if _, err := renew(); err != nil {
		t.Fatalf("renew with the policies back = %v", err)
	}
	e.OK(logical.DeleteOperation, "users/alice", nil)
	_, err = renew()
	if status, msg := logical.StatusOf(err); status != 400 || msg != `user "alice" no longer exists; not renewing` {
		t.Fatalf("renew of a deleted user = %d %q", status, msg)
	}
}
