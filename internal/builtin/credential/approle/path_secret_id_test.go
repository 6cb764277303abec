package approle

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestSecretIDLifecycle(t *testing.T) {
	e := newEnv(t)
	e.role("r", map[string]any{"secret_id_num_uses": 5, "secret_id_ttl": "1h", "secret_id_bound_cidrs": "127.0.0.0/8"})
	resp := e.OK(logical.UpdateOperation, "role/r/secret-id", map[string]any{
		"metadata": `{"team":"web"}`, "cidr_list": "127.0.0.1", "num_uses": 2, "ttl": "30m",
	})
	sec, acc := resp.Data["secret_id"].(string), resp.Data["secret_id_accessor"].(string)
	if sec == "" || acc == "" || resp.Data["secret_id_ttl"] != int64(1800) || resp.Data["secret_id_num_uses"] != 2 {
		t.Fatalf("generate: %v", resp.Data)
	}
	// The secret ID is nowhere in storage, in keys or values.
	for k, v := range e.Snapshot() {
		if strings.Contains(k, sec) || strings.Contains(v, sec) {
			t.Fatalf("storage holds the secret id in clear at %q", k)
		}
	}

	look := e.OK(logical.UpdateOperation, "role/r/secret-id/lookup", map[string]any{"secret_id": sec}).Data
	if look["secret_id_accessor"] != acc || look["secret_id_num_uses"] != 2 || look["secret_id_ttl"] != int64(1800) ||
		!reflect.DeepEqual(look["metadata"], map[string]string{"team": "web"}) || !reflect.DeepEqual(look["cidr_list"], []string{"127.0.0.1"}) {
		t.Fatalf("lookup: %v", look)
	}
	if exp, created := look["expiration_time"].(time.Time), look["creation_time"].(time.Time); exp.Sub(created) != 30*time.Minute {
		t.Fatalf("expiration %v creation %v", exp, created)
	}
	byAcc := e.OK(logical.UpdateOperation, "role/r/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": acc}).Data
	if !reflect.DeepEqual(byAcc, look) {
		t.Fatalf("lookup by accessor %v, by secret id %v", byAcc, look)
	}
	_, acc2 := e.secretID("r", nil)
	keys := e.OK(logical.ListOperation, "role/r/secret-id/", nil).Data["keys"].([]string)
	if len(keys) != 2 || !strings.Contains(strings.Join(keys, ","), acc) || !strings.Contains(strings.Join(keys, ","), acc2) {
		t.Fatalf("LIST secret-id = %v, want %s and %s", keys, acc, acc2)
	}

	// Another role does not see this role's accessors.
	e.role("other", nil)
	e.Fails(logical.UpdateOperation, "role/other/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": acc}, 404, "")
	e.OK(logical.UpdateOperation, "role/r/secret-id-accessor/destroy", map[string]any{"secret_id_accessor": acc2})
	e.Fails(logical.UpdateOperation, "role/r/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": acc2}, 404, "")
	e.OK(logical.DeleteOperation, "role/r/secret-id/destroy", map[string]any{"secret_id": sec})
	if r := e.OK(logical.UpdateOperation, "role/r/secret-id/lookup", map[string]any{"secret_id": sec}); r != nil {
		t.Fatalf("destroyed secret id looks up as %v", r.Data)
	}
	if r := e.OK(logical.ListOperation, "role/r/secret-id/", nil); r != nil {
		t.Fatalf("LIST after destroying both: %v", r.Data)
	}
	for k := range e.Snapshot() {
		if strings.HasPrefix(k, secretIDPrefix) || strings.HasPrefix(k, accessorPrefix) {
			t.Fatalf("destroy left %q behind", k)
		}
	}
}

func TestCustomSecretID(t *testing.T) {
	e := newEnv(t)
	rid := e.role("r", nil)
	resp := e.OK(logical.UpdateOperation, "role/r/custom-secret-id", map[string]any{"secret_id": "my-own-secret"})
	if resp.Data["secret_id"] != "my-own-secret" {
		t.Fatalf("custom: %v", resp.Data)
	}
	before := e.Snapshot()
	e.Fails(logical.UpdateOperation, "role/r/custom-secret-id", map[string]any{"secret_id": "my-own-secret"}, 400, "SecretID is already registered")
	e.Fails(logical.UpdateOperation, "role/r/custom-secret-id", map[string]any{}, 400, "missing secret_id")
	if !reflect.DeepEqual(before, e.Snapshot()) {
		t.Fatal("a refused custom secret id changed storage")
	}
	if _, err := e.login(rid, "my-own-secret"); err != nil {
		t.Fatal(err)
	}
}

func TestSecretIDBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.role("r", map[string]any{"secret_id_num_uses": 3, "secret_id_ttl": 600, "secret_id_bound_cidrs": "10.0.0.0/8", "token_bound_cidrs": "10.0.0.0/16"})
	e.role("open", map[string]any{"bind_secret_id": false, "secret_id_bound_cidrs": "127.0.0.1"})
	before := e.Snapshot()
	for _, c := range []struct {
		path string
		data map[string]any
		msg  string
	}{
		{"role/r/secret-id", map[string]any{"num_uses": 4}, "num_uses cannot be higher than the role's secret_id_num_uses"},
		{"role/r/secret-id", map[string]any{"num_uses": 0}, "num_uses cannot be higher than the role's secret_id_num_uses"},
		{"role/r/secret-id", map[string]any{"num_uses": -1}, "num_uses cannot be negative"},
		{"role/r/secret-id", map[string]any{"ttl": 601}, "ttl cannot be longer than the role's secret_id_ttl"},
		{"role/r/secret-id", map[string]any{"cidr_list": "192.168.0.0/16"}, `failed to verify the CIDR restrictions set on the secret ID: "192.168.0.0/16" is not within the role's secret_id_bound_cidrs`},
		{"role/r/secret-id", map[string]any{"cidr_list": "10.0.0.0/7"}, ""},
		{"role/r/secret-id", map[string]any{"token_bound_cidrs": "10.1.0.0/16"}, ""},
		{"role/r/secret-id", map[string]any{"cidr_list": "bogus"}, `invalid "cidr_list" entry "bogus": not a CIDR block or an IP address`},
		{"role/r/secret-id", map[string]any{"metadata": "not json"}, ""},
		{"role/r/secret-id", map[string]any{"metadata": map[string]any{"n": 1}}, `failed to parse metadata: the value of "n" is not a string`},
		{"role/nope/secret-id", nil, `role "nope" does not exist`},
		{"role/open/secret-id", nil, "bind_secret_id is not set on the role"},
		{"role/r/secret-id/lookup", map[string]any{}, "missing secret_id"},
		{"role/r/secret-id-accessor/lookup", map[string]any{}, "missing secret_id_accessor"},
	} {
		e.Fails(logical.UpdateOperation, c.path, c.data, 400, c.msg)
	}
	e.Fails(logical.UpdateOperation, "role/r/secret-id-accessor/destroy", map[string]any{"secret_id_accessor": "no-such"}, 404, `failed to find accessor entry for secret_id_accessor: "no-such"`)
	if !reflect.DeepEqual(before, e.Snapshot()) {
		t.Fatal("refused requests changed storage")
	}
}

func TestDeleteRoleRemovesItsSecretIDs(t *testing.T) {
	e := newEnv(t)
	rid := e.role("r", nil)
	sec, _ := e.secretID("r", nil)
	e.secretID("r", nil)
	e.OK(logical.DeleteOperation, "role/r", nil)
	for k := range e.Snapshot() {
		if k != saltKey {
			t.Errorf("deleting the role left %q", k)
		}
	}
	// A new role of the same name with the old role ID: the old secret ID
	// is gone with the old role.
	e.role("r", map[string]any{"role_id": rid})
	e.Fails(logical.UpdateOperation, "login", map[string]any{"role_id": rid, "secret_id": sec}, 400, "invalid role or secret ID")
}

// A role with local_secret_ids keeps its secret IDs and accessors under
// the local prefixes the method declares as LocalStorage.
func TestLocalSecretIDs(t *testing.T) {
	e := newEnv(t)
	rid := e.role("loc", map[string]any{"local_secret_ids": true})
	sec, acc := e.secretID("loc", nil)
	local := 0
	for k := range e.Snapshot() {
		if strings.HasPrefix(k, secretIDPrefix) || strings.HasPrefix(k, accessorPrefix) {
			t.Fatalf("a local secret id stored at %q", k)
		}
		if strings.HasPrefix(k, secretIDLocalPrefix) || strings.HasPrefix(k, accessorLocalPrefix) {
			local++
		}
	}
	if local != 2 {
		t.Fatalf("%d entries under the local prefixes, want 2", local)
	}
	if sp := e.Backend.SpecialPaths().LocalStorage; !reflect.DeepEqual(sp, []string{secretIDLocalPrefix, accessorLocalPrefix}) {
		t.Fatalf("LocalStorage = %v", sp)
	}
	if _, err := e.login(rid, sec); err != nil {
		t.Fatal(err)
	}
	e.OK(logical.UpdateOperation, "role/loc/secret-id-accessor/destroy", map[string]any{"secret_id_accessor": acc})
	e.Fails(logical.UpdateOperation, "login", map[string]any{"role_id": rid, "secret_id": sec}, 400, "invalid role or secret ID")
	if got := e.OK(logical.ReadOperation, "role/loc", nil).Data["local_secret_ids"]; got != true {
		t.Fatalf("local_secret_ids reads %v", got)
	}
}

// A role deleted half-way (its entry gone, its secret IDs left, as after a
// crash) and made again under the same name and role ID does not accept
// the old role's secret IDs: each role has its own secret ID folder.
func TestRemadeRoleDoesNotInheritLeftoverSecretIDs(t *testing.T) {
	e := newEnv(t)
	rid := e.role("r", nil)
	sec, _ := e.secretID("r", nil)
	if err := e.Storage.Delete(t.Context(), rolePrefix+"r"); err != nil {
		t.Fatal(err)
	}
	e.role("r", map[string]any{"role_id": rid})
	e.Fails(logical.UpdateOperation, "login", map[string]any{"role_id": rid, "secret_id": sec}, 400, "invalid role or secret ID")
}
