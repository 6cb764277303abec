package ldap

import (
	"reflect"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

func aliasNames(as []*logical.Alias) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Name)
	}
	return out
}

func TestLoginWithGroupPolicies(t *testing.T) {
	e := newEnv(t)
	e.configure(map[string]any{"token_policies": "base", "token_ttl": "1h"})
	e.OK(logical.UpdateOperation, "groups/devs", map[string]any{"policies": "dev"})
	e.OK(logical.UpdateOperation, "groups/OPS", map[string]any{"policies": []any{"ops", "dev"}})
	e.OK(logical.UpdateOperation, "users/alice", map[string]any{"policies": "alice-own", "groups": "extra"})
	e.OK(logical.UpdateOperation, "groups/extra", map[string]any{"policies": "extra-p"})

	a := e.login("alice", "alice-pw")
	if want := []string{"alice-own", "base", "dev", "extra-p", "ops"}; !reflect.DeepEqual(a.Policies, want) {
		t.Fatalf("policies %v, want %v", a.Policies, want)
	}
	if a.DisplayName != "alice" || a.Metadata["username"] != "alice" || a.Alias == nil || a.Alias.Name != "alice" {
		t.Fatalf("auth %+v alias %+v", a, a.Alias)
	}
	if got := aliasNames(a.GroupAliases); !reflect.DeepEqual(got, []string{"extra", "devs", "ops"}) {
		t.Fatalf("group aliases %v", got)
	}
	if a.LeaseDuration.Hours() != 1 || !a.Renewable {
		t.Fatalf("ttl %v renewable %v", a.LeaseDuration, a.Renewable)
	}
}
