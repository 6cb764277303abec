package userpass

import (
	"maps"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestUserCRUD(t *testing.T) {
	e := newEnv(t)
	e.OK(logical.UpdateOperation, "users/Alice", map[string]any{
		"password": "s3cret", "token_policies": "dev,ops", "token_ttl": "1h", "token_bound_cidrs": "127.0.0.1/32,10.0.0.0/8",
	})
	resp := e.OK(logical.ReadOperation, "users/alice", nil)
	want := map[string]any{
		"token_policies": []string{"dev", "ops"}, "token_ttl": int64(3600), "token_max_ttl": int64(0),
		"token_bound_cidrs": []string{"127.0.0.1", "10.0.0.0/8"}, "token_explicit_max_ttl": int64(0),
		"token_no_default_policy": false, "token_num_uses": 0, "token_period": int64(0), "token_type": "default",
	}
	if !reflect.DeepEqual(resp.Data, want) {
		t.Fatalf("read = %#v\nwant %#v", resp.Data, want)
	}
	// The password is stored only as a bcrypt hash.
	stored := e.Snapshot()[userPrefix+"alice"]
	if strings.Contains(stored, "s3cret") || !strings.Contains(stored, "password_hash") {
		t.Fatalf("stored user: %s", stored)
	}
	if _, ok := e.Snapshot()[userPrefix+"Alice"]; ok {
		t.Fatal("name not lowercased in storage")
	}

	// An update changes only what it names; the password stays.
	e.OK(logical.UpdateOperation, "users/alice", map[string]any{"token_ttl": "2h"})
	resp = e.OK(logical.ReadOperation, "users/alice", nil)
	if resp.Data["token_ttl"] != int64(7200) || !reflect.DeepEqual(resp.Data["token_policies"], []string{"dev", "ops"}) {
		t.Fatalf("after update: %v", resp.Data)
	}
	if resp := e.OK(logical.UpdateOperation, "login/alice", map[string]any{"password": "s3cret"}); resp.Auth == nil {
		t.Fatal("password lost by an update")
	}

	e.OK(logical.UpdateOperation, "users/bob", map[string]any{"password": "x"})
	resp = e.OK(logical.ListOperation, "users/", nil)
	if !reflect.DeepEqual(resp.Data["keys"], []string{"alice", "bob"}) {
		t.Fatalf("list = %v", resp.Data)
	}
	e.OK(logical.DeleteOperation, "users/ALICE", nil)
	if resp := e.OK(logical.ReadOperation, "users/alice", nil); resp != nil {
		t.Fatalf("deleted user reads %v", resp.Data)
	}
	e.OK(logical.DeleteOperation, "users/bob", nil)
	if resp := e.OK(logical.ListOperation, "users/", nil); resp != nil {
		t.Fatalf("empty list = %v, want nil (404)", resp.Data)
	}
}

func TestUserOldFieldNames(t *testing.T) {
	e := newEnv(t)
	e.OK(logical.UpdateOperation, "users/old", map[string]any{
		"password": "pw", "policies": "B,a", "ttl": 60, "max_ttl": "5m", "bound_cidrs": []any{"10.0.0.0/8"},
	})
	resp := e.OK(logical.ReadOperation, "users/old", nil)
	for k, v := range map[string]any{
		"policies": []string{"a", "b"}, "token_policies": []string{"a", "b"}, "ttl": int64(60), "token_ttl": int64(60),
		"max_ttl": int64(300), "token_max_ttl": int64(300), "bound_cidrs": []string{"10.0.0.0/8"},
	} {
		if !reflect.DeepEqual(resp.Data[k], v) {
			t.Errorf("%s = %#v, want %#v", k, resp.Data[k], v)
		}
	}
	// users/<name>/policies with the old name keeps it; with the new one
	// drops it.
	e.OK(logical.UpdateOperation, "users/old/policies", map[string]any{"policies": "c"})
	resp = e.OK(logical.ReadOperation, "users/old", nil)
	if !reflect.DeepEqual(resp.Data["policies"], []string{"c"}) || resp.Data["ttl"] != int64(60) {
		t.Fatalf("after policies update: %v", resp.Data)
	}
	e.OK(logical.UpdateOperation, "users/old/policies", map[string]any{"token_policies": []any{"d"}})
	resp = e.OK(logical.ReadOperation, "users/old", nil)
	if _, ok := resp.Data["policies"]; ok || !reflect.DeepEqual(resp.Data["token_policies"], []string{"d"}) {
		t.Fatalf("after token_policies update: %v", resp.Data)
	}
}

func TestUserBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.OK(logical.UpdateOperation, "users/alice", map[string]any{"password": "pw", "token_policies": "dev"})
	before := e.Snapshot()
	cases := []struct {
		path string
		data map[string]any
		msg  string
	}{
		{"users/carol", map[string]any{"token_policies": "x"}, "missing password"},
		{"users/carol", map[string]any{"password": ""}, "missing password"},
		{"users/alice", map[string]any{"password": ""}, "missing password"},
		{"users/alice", map[string]any{"password": "a", "password_hash": "b"}, "only one of password or password_hash can be given"},
		{"users/alice", map[string]any{"password_hash": "not-bcrypt"}, "password_hash is not a bcrypt hash"},
		{"users/alice", map[string]any{"password": strings.Repeat("p", 73)}, "password is too long: bcrypt takes at most 72 bytes"},
		{"users/alice", map[string]any{"token_ttl": "2h", "token_max_ttl": "1h"}, "'token_ttl' cannot be greater than 'token_max_ttl'"},
		{"users/alice", map[string]any{"token_type": "batch", "token_num_uses": 2}, "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count"},
		{"users/alice", map[string]any{"token_bound_cidrs": "300.1.1.1"}, `invalid 'token_bound_cidrs' entry "300.1.1.1": not a CIDR block or an IP address`},
		{"users/alice", map[string]any{"token_ttl": "soon"}, ""},
		{"users/alice", map[string]any{"token_num_uses": -2}, "'token_num_uses' cannot be negative"},
		{"users/alice", map[string]any{"token_policies": map[string]any{"a": 1}}, ""},
		{"users/nobody/password", map[string]any{"password": "x"}, "username does not exist"},
		{"users/alice/password", map[string]any{}, "missing password"},
		{"users/nobody/policies", map[string]any{"token_policies": "x"}, "username does not exist"},
	}
	for _, tc := range cases {
		e.Fails(logical.UpdateOperation, tc.path, tc.data, 400, tc.msg)
		if after := e.Snapshot(); !maps.Equal(after, before) {
			t.Fatalf("%s %v changed storage:\n%v\n%v", tc.path, tc.data, before, after)
		}
	}
	// Names Vault refuses match no path: 404.
	for _, p := range []string{"users/-bad", "users/bad.", "users/.bad", "users/a/b", "login/-x"} {
		e.Fails(logical.UpdateOperation, p, map[string]any{"password": "pw"}, 404, "")
	}
}

func TestPasswordHashAndPasswordChange(t *testing.T) {
	e := newEnv(t)
	h, err := bcrypt.GenerateFromPassword([]byte("pre-hashed"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	e.OK(logical.UpdateOperation, "users/dave", map[string]any{"password_hash": string(h)})
	if resp := e.OK(logical.UpdateOperation, "login/dave", map[string]any{"password": "pre-hashed"}); resp.Auth == nil {
		t.Fatal("login with a pre-hashed password failed")
	}
	e.OK(logical.UpdateOperation, "users/dave/password", map[string]any{"password": "new-one"})
	e.Fails(logical.UpdateOperation, "login/dave", map[string]any{"password": "pre-hashed"}, 400, "invalid username or password")
	if resp := e.OK(logical.UpdateOperation, "login/dave", map[string]any{"password": "new-one"}); resp.Auth == nil {
		t.Fatal("login with the new password failed")
	}
}
