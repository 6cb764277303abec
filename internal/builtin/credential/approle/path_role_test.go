package approle

import (
	"reflect"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestRoleCRUDWithTokenFieldsAndOldNames(t *testing.T) {
	e := newEnv(t)
	e.OK(logical.UpdateOperation, "role/Web", map[string]any{
		"token_policies": []any{"dev", "ops"}, "token_ttl": "1h", "token_max_ttl": "2h",
		"secret_id_num_uses": 3, "secret_id_ttl": "10m", "secret_id_bound_cidrs": "10.0.0.0/8,127.0.0.1/32",
	})
	got := e.OK(logical.ReadOperation, "role/web", nil).Data
	want := map[string]any{
		"bind_secret_id": true, "local_secret_ids": false, "secret_id_num_uses": 3, "secret_id_ttl": int64(600),
		"secret_id_bound_cidrs": []string{"10.0.0.0/8", "127.0.0.1"},
		"token_policies":        []string{"dev", "ops"}, "token_ttl": int64(3600), "token_max_ttl": int64(7200),
	}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	for _, old := range []string{"policies", "period", "bound_cidr_list", "role_id"} {
		if _, ok := got[old]; ok {
			t.Errorf("read shows %q for a role written with the new names", old)
		}
	}

	// An older client sends the pre-1.2 names; they read back beside the new.
	e.OK(logical.UpdateOperation, "role/old", map[string]any{"policies": "B,a", "period": 300, "bound_cidr_list": "10.1.0.0/16"})
	got = e.OK(logical.ReadOperation, "role/old", nil).Data
	if !reflect.DeepEqual(got["policies"], []string{"a", "b"}) || !reflect.DeepEqual(got["token_policies"], []string{"a", "b"}) {
		t.Errorf("policies %v token_policies %v", got["policies"], got["token_policies"])
	}
	if got["period"] != int64(300) || got["token_period"] != int64(300) {
		t.Errorf("period %v token_period %v", got["period"], got["token_period"])
	}
	if !reflect.DeepEqual(got["bound_cidr_list"], []string{"10.1.0.0/16"}) || !reflect.DeepEqual(got["secret_id_bound_cidrs"], []string{"10.1.0.0/16"}) {
		t.Errorf("bound_cidr_list %v secret_id_bound_cidrs %v", got["bound_cidr_list"], got["secret_id_bound_cidrs"])
	}
	// bound_cidr_list never meant the tokens' CIDRs in AppRole.
	if !reflect.DeepEqual(got["token_bound_cidrs"], []string{}) {
		t.Errorf("token_bound_cidrs %v", got["token_bound_cidrs"])
	}

	if keys := e.OK(logical.ListOperation, "role/", nil).Data["keys"]; !reflect.DeepEqual(keys, []string{"old", "web"}) {
		t.Errorf("LIST role = %v", keys)
	}
	// Vault's names take spaces, dots, dashes and "@".
	for _, name := range []string{"my app", "svc.v2-prod", "ci@example"} {
		e.role(name, nil)
		if r := e.OK(logical.ReadOperation, "role/"+name, nil); r == nil {
			t.Errorf("role %q not found", name)
		}
		e.OK(logical.DeleteOperation, "role/"+name, nil)
	}
	e.OK(logical.DeleteOperation, "role/web", nil)
	if r := e.OK(logical.ReadOperation, "role/web", nil); r != nil {
		t.Errorf("deleted role reads %v", r.Data)
	}
}

func TestRoleBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.role("r", map[string]any{"token_ttl": 60})
	before := e.Snapshot()
	for _, c := range []struct {
		path string
		data map[string]any
		msg  string
	}{
		{"role/r", map[string]any{"secret_id_num_uses": -1}, "secret_id_num_uses cannot be negative"},
		{"role/r", map[string]any{"secret_id_bound_cidrs": "not-a-cidr"}, `invalid "secret_id_bound_cidrs" entry "not-a-cidr": not a CIDR block or an IP address`},
		{"role/r", map[string]any{"bind_secret_id": false}, "at least one constraint should be enabled on the role"},
		{"role/r", map[string]any{"token_ttl": 7200, "token_max_ttl": 3600}, "'token_ttl' cannot be greater than 'token_max_ttl'"},
		{"role/r", map[string]any{"local_secret_ids": true}, "local_secret_ids can only be modified during role creation"},
		{"role/r", map[string]any{"token_type": "nonsense"}, `invalid 'token_type' value "nonsense"`},
		{"role/r", map[string]any{"secret_id_ttl": "forever"}, ""},
		{"role/new", map[string]any{"bind_secret_id": false}, "at least one constraint should be enabled on the role"},
		{"role/r/role-id", map[string]any{"role_id": ""}, "missing role_id"},
		{"role/r/secret-id-num-uses", map[string]any{}, "missing secret_id_num_uses"},
		{"role/r/secret-id-num-uses", map[string]any{"secret_id_num_uses": -5}, "secret_id_num_uses cannot be negative"},
		{"role/nope/policies", map[string]any{"token_policies": "x"}, `role "nope" does not exist`},
		{"role/nope/role-id", map[string]any{"role_id": "x"}, `role "nope" does not exist`},
	} {
		e.Fails(logical.UpdateOperation, c.path, c.data, 400, c.msg)
	}
	if after := e.Snapshot(); !reflect.DeepEqual(before, after) {
		t.Fatalf("refused writes changed storage:\nbefore %v\nafter  %v", before, after)
	}
}

func TestRoleIDIsUniqueAndMoves(t *testing.T) {
	e := newEnv(t)
	idA := e.role("a", nil)
	idB := e.role("b", map[string]any{"role_id": "custom-b"})
	if idB != "custom-b" || idA == "" || idA == idB {
		t.Fatalf("role ids %q %q", idA, idB)
	}
	before := e.Snapshot()
	e.Fails(logical.UpdateOperation, "role/a/role-id", map[string]any{"role_id": "custom-b"}, 400, "role_id already in use")
	e.Fails(logical.UpdateOperation, "role/c", map[string]any{"role_id": idA}, 400, "role_id already in use")
	if after := e.Snapshot(); !reflect.DeepEqual(before, after) {
		t.Fatal("a refused role_id changed storage")
	}

	sec, _ := e.secretID("a", nil)
	e.OK(logical.UpdateOperation, "role/a/role-id", map[string]any{"role_id": "moved-a"})
	e.Fails(logical.UpdateOperation, "login", map[string]any{"role_id": idA, "secret_id": sec}, 400, "invalid role or secret ID")
	if _, err := e.login("moved-a", sec); err != nil {
		t.Fatalf("login with the new role id: %v", err)
	}
	// The old role ID is free again.
	e.OK(logical.UpdateOperation, "role/b/role-id", map[string]any{"role_id": idA})
	// A deleted role's role ID is free too.
	e.OK(logical.DeleteOperation, "role/b", nil)
	e.role("d", map[string]any{"role_id": idA})
}

func TestRoleFieldEndpoints(t *testing.T) {
	e := newEnv(t)
	e.role("r", map[string]any{"token_policies": "p1"})
	for _, c := range []struct {
		suffix string
		write  map[string]any
		read   map[string]any
		reset  map[string]any
	}{
		{"policies", map[string]any{"policies": "x,y"}, map[string]any{"policies": []string{"x", "y"}, "token_policies": []string{"x", "y"}},
			map[string]any{"policies": []string{}, "token_policies": []string{}}},
		{"secret-id-num-uses", map[string]any{"secret_id_num_uses": 5}, map[string]any{"secret_id_num_uses": 5}, map[string]any{"secret_id_num_uses": 0}},
		{"secret-id-ttl", map[string]any{"secret_id_ttl": "1m"}, map[string]any{"secret_id_ttl": int64(60)}, map[string]any{"secret_id_ttl": int64(0)}},
		{"token-num-uses", map[string]any{"token_num_uses": 2}, map[string]any{"token_num_uses": 2}, map[string]any{"token_num_uses": 0}},
		{"token-ttl", map[string]any{"token_ttl": 90}, map[string]any{"token_ttl": int64(90)}, map[string]any{"token_ttl": int64(0)}},
		{"token-max-ttl", map[string]any{"token_max_ttl": 900}, map[string]any{"token_max_ttl": int64(900)}, map[string]any{"token_max_ttl": int64(0)}},
		{"period", map[string]any{"period": 30}, map[string]any{"period": int64(30), "token_period": int64(30)}, map[string]any{"period": int64(0), "token_period": int64(0)}},
		{"secret-id-bound-cidrs", map[string]any{"secret_id_bound_cidrs": "10.0.0.0/8"}, map[string]any{"secret_id_bound_cidrs": []string{"10.0.0.0/8"}},
			map[string]any{"secret_id_bound_cidrs": []string{}}},
		{"token-bound-cidrs", map[string]any{"token_bound_cidrs": "127.0.0.1"}, map[string]any{"token_bound_cidrs": []string{"127.0.0.1"}},
			map[string]any{"token_bound_cidrs": []string{}}},
		{"bind-secret-id", map[string]any{"bind_secret_id": true}, map[string]any{"bind_secret_id": true}, map[string]any{"bind_secret_id": true}},
	} {
		e.OK(logical.UpdateOperation, "role/r/"+c.suffix, c.write)
		if got := e.OK(logical.ReadOperation, "role/r/"+c.suffix, nil).Data; !reflect.DeepEqual(got, c.read) {
			t.Errorf("%s after write: %#v, want %#v", c.suffix, got, c.read)
		}
		e.OK(logical.DeleteOperation, "role/r/"+c.suffix, nil)
		if got := e.OK(logical.ReadOperation, "role/r/"+c.suffix, nil).Data; !reflect.DeepEqual(got, c.reset) {
			t.Errorf("%s after delete: %#v, want %#v", c.suffix, got, c.reset)
		}
	}
	if got := e.OK(logical.ReadOperation, "role/r/local-secret-ids", nil).Data; !reflect.DeepEqual(got, map[string]any{"local_secret_ids": false}) {
		t.Errorf("local-secret-ids: %v", got)
	}
	// The per-field endpoints refuse what role/<name> refuses: without a
	// secret ID the role needs some CIDR.
	e.Fails(logical.UpdateOperation, "role/r/bind-secret-id", map[string]any{"bind_secret_id": false}, 400, "at least one constraint should be enabled on the role")
}
