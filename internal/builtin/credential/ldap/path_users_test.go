package ldap

import (
	"reflect"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestUsersAndGroups(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"users", "groups"} {
		if resp, err := e.Do(logical.ListOperation, p, nil); err != nil || resp != nil {
			t.Fatalf("empty list %s: %v %v", p, resp, err)
		}
	}
	e.OK(logical.UpdateOperation, "users/Alice", map[string]any{"groups": "Devs, ops,devs", "policies": []any{"B", "a", "a"}})
	d := e.OK(logical.ReadOperation, "users/ALICE", nil).Data
	if d["groups"] != "devs,ops" || !reflect.DeepEqual(d["policies"], []string{"a", "b"}) {
		t.Fatalf("user read %v", d)
	}
	e.OK(logical.UpdateOperation, "groups/Devs", map[string]any{"policies": "dev"})
	if d := e.OK(logical.ReadOperation, "groups/devs", nil).Data; !reflect.DeepEqual(d["policies"], []string{"dev"}) {
		t.Fatalf("group read %v", d)
	}
	// A write replaces the whole mapping, as Vault.
	e.OK(logical.UpdateOperation, "users/alice", map[string]any{"policies": "c"})
	if d := e.OK(logical.ReadOperation, "users/alice", nil).Data; d["groups"] != "" || !reflect.DeepEqual(d["policies"], []string{"c"}) {
		t.Fatalf("user after rewrite %v", d)
	}
	if l := e.OK(logical.ListOperation, "users", nil); !reflect.DeepEqual(l.Data["keys"], []string{"alice"}) {
		t.Fatalf("users %v", l.Data)
	}
	if l := e.OK(logical.ListOperation, "groups/", nil); !reflect.DeepEqual(l.Data["keys"], []string{"devs"}) {
		t.Fatalf("groups %v", l.Data)
	}
	e.OK(logical.DeleteOperation, "users/ALICE", nil)
	e.OK(logical.DeleteOperation, "groups/devs", nil)
	for _, p := range []string{"users/alice", "groups/devs"} {
		if resp, err := e.Do(logical.ReadOperation, p, nil); err != nil || resp != nil {
			t.Fatalf("read %s after delete: %v %v", p, resp, err)
		}
	}
	e.Fails(logical.UpdateOperation, "groups/x", map[string]any{"policies": map[string]any{"a": 1}}, 400, "")
}
