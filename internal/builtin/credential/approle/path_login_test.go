package approle

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestLoginAuth(t *testing.T) {
	e := newEnv(t)
	rid := e.role("r", map[string]any{"token_policies": "dev", "token_ttl": 600, "token_max_ttl": 1200, "token_num_uses": 7})
	sec, _ := e.secretID("r", map[string]any{"metadata": map[string]any{"app": "web"}})
	resp, err := e.login(rid, sec)
	if err != nil {
		t.Fatal(err)
	}
	a := resp.Auth
	if !reflect.DeepEqual(a.Metadata, map[string]string{"app": "web", "role_name": "r"}) || a.DisplayName != "" ||
		!reflect.DeepEqual(a.Policies, []string{"dev"}) || a.LeaseDuration != 10*time.Minute || a.MaxTTL != 20*time.Minute ||
		a.NumUses != 7 || !a.Renewable {
		t.Fatalf("auth %+v", a)
	}
	// Renewal follows the role's current TTLs, and stops with the role.
	e.OK(logical.UpdateOperation, "role/r", map[string]any{"token_ttl": 300})
	ren, err := e.Backend.HandleRequest(context.Background(), &logical.Request{Operation: logical.RenewOperation, Storage: e.Storage, Auth: a})
	if err != nil || ren.Auth.LeaseDuration != 5*time.Minute {
		t.Fatalf("renew: %v %v", ren, err)
	}
	e.OK(logical.DeleteOperation, "role/r", nil)
	_, err = e.Backend.HandleRequest(context.Background(), &logical.Request{Operation: logical.RenewOperation, Storage: e.Storage, Auth: a})
	if st, msg := logical.StatusOf(err); st != 400 || msg != `role "r" does not exist during renewal` {
		t.Fatalf("renew without the role: %d %q", st, msg)
	}
}

func TestLoginFailures(t *testing.T) {
	e := newEnv(t)
	rid := e.role("r", map[string]any{"secret_id_bound_cidrs": "127.0.0.0/8"})
	sec, _ := e.secretID("r", map[string]any{"cidr_list": "127.0.0.1"})
	before := e.Snapshot()
	e.Fails(logical.UpdateOperation, "login", map[string]any{}, 400, "missing role_id")
	e.Fails(logical.UpdateOperation, "login", map[string]any{"role_id": rid}, 400, "missing secret_id")
	e.Fails(logical.UpdateOperation, "login", map[string]any{"role_id": "nope", "secret_id": sec}, 400, "invalid role or secret ID")
	e.Fails(logical.UpdateOperation, "login", map[string]any{"role_id": rid, "secret_id": "wrong"}, 400, "invalid role or secret ID")
	e.RemoteAddr = "127.0.0.2:5000"
	e.Fails(logical.UpdateOperation, "login", map[string]any{"role_id": rid, "secret_id": sec}, 400,
		`source address "127.0.0.2" unauthorized through CIDR restrictions on the secret ID`)
	e.RemoteAddr = "10.0.0.1:5000"
	e.Fails(logical.UpdateOperation, "login", map[string]any{"role_id": rid, "secret_id": sec}, 400,
		`source address "10.0.0.1" unauthorized through CIDR restrictions on the role`)
	if !reflect.DeepEqual(before, e.Snapshot()) {
		t.Fatal("failed logins changed storage")
	}
	e.RemoteAddr = "127.0.0.1:5000"
	if _, err := e.login(rid, sec); err != nil {
		t.Fatal(err)
	}

	// token_bound_cidrs outside the caller: 403, and no use spent.
	e.role("tb", map[string]any{"token_bound_cidrs": "10.0.0.0/8", "secret_id_num_uses": 1})
	tbID := e.OK(logical.ReadOperation, "role/tb/role-id", nil).Data["role_id"].(string)
	tbSec, _ := e.secretID("tb", nil)
	e.Fails(logical.UpdateOperation, "login", map[string]any{"role_id": tbID, "secret_id": tbSec}, 403, "permission denied")
	if r := e.OK(logical.UpdateOperation, "role/tb/secret-id/lookup", map[string]any{"secret_id": tbSec}); r == nil || r.Data["secret_id_num_uses"] != 1 {
		t.Fatalf("refused login spent a use: %v", r)
	}
}

func TestLoginNumUsesAndTTL(t *testing.T) {
	e := newEnv(t)
	rid := e.role("r", map[string]any{"secret_id_num_uses": 2, "secret_id_ttl": 60})
	sec, acc := e.secretID("r", nil)
	for i := 0; i < 2; i++ {
		if _, err := e.login(rid, sec); err != nil {
			t.Fatalf("login %d: %v", i+1, err)
		}
	}
	e.Fails(logical.UpdateOperation, "login", map[string]any{"role_id": rid, "secret_id": sec}, 400, "invalid role or secret ID")
	e.Fails(logical.UpdateOperation, "role/r/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": acc}, 404, "")

	sec2, _ := e.secretID("r", nil)
	e.advance(59 * time.Second)
	if _, err := e.login(rid, sec2); err != nil {
		t.Fatalf("login before expiry: %v", err)
	}
	e.advance(time.Second)
	e.Fails(logical.UpdateOperation, "login", map[string]any{"role_id": rid, "secret_id": sec2}, 400, "invalid role or secret ID")
	for k := range e.Snapshot() {
		if k != saltKey && k[:5] != "role/" && k[:8] != "role_id/" {
			t.Errorf("an expired or used-up secret id left %q", k)
		}
	}
}

func TestLoginWithoutSecretID(t *testing.T) {
	e := newEnv(t)
	rid := e.role("r", map[string]any{"bind_secret_id": false, "secret_id_bound_cidrs": "127.0.0.1"})
	if _, err := e.login(rid, ""); err != nil {
		t.Fatal(err)
	}
	e.RemoteAddr = "127.0.0.9:1"
	e.Fails(logical.UpdateOperation, "login", map[string]any{"role_id": rid}, 400, `source address "127.0.0.9" unauthorized through CIDR restrictions on the role`)
}
