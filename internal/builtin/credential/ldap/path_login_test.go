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

func TestLoginFailures(t *testing.T) {
	e := newEnv(t)
	e.Fails(logical.UpdateOperation, "login/alice", map[string]any{"password": "alice-pw"}, 400, "ldap backend not configured")
	e.configure(nil)
	for _, tc := range []struct{ user, password, msg string }{
		{"alice", "wrong", errUserBindFailed},
		{"nobody", "alice-pw", errUserBindFailed},
		{"alice", "", "password cannot be of zero length when passwordless binds are being denied"},
		// Filter metacharacters are escaped: no wildcard matches.
		{"*", "alice-pw", errUserBindFailed},
		{"alice)(uid=*", "alice-pw", errUserBindFailed},
	} {
		e.Fails(logical.UpdateOperation, "login/"+tc.user, map[string]any{"password": tc.password}, 400, tc.msg)
	}
	// Without deny_null_bind an empty password is an unauthenticated bind,
	// which the server refuses: still no login.
	e.configure(map[string]any{"deny_null_bind": false})
	e.Fails(logical.UpdateOperation, "login/alice", map[string]any{"password": ""}, 400, errUserBindFailed)

	// Outside the token_bound_cidrs: 403 even with the right password.
	e.configure(map[string]any{"token_bound_cidrs": "10.0.0.0/8"})
	e.Fails(logical.UpdateOperation, "login/alice", map[string]any{"password": "alice-pw"}, 403, "")

	// The service account's password is wrong: the user cannot be found.
	e.configure(map[string]any{"bindpass": "wrong", "token_bound_cidrs": ""})
	e.Fails(logical.UpdateOperation, "login/alice", map[string]any{"password": "alice-pw"}, 400, errUserBindFailed)
}

// A user in no LDAP group logs in with the config's policies only (the
// core adds "default").
func TestLoginUserInNoGroup(t *testing.T) {
	e := newEnv(t)
	e.configure(nil)
	e.OK(logical.UpdateOperation, "groups/devs", map[string]any{"policies": "dev"})
	a := e.login("bob", "bob-pw")
	if len(a.Policies) != 0 || len(a.GroupAliases) != 0 || a.Alias.Name != "bob" {
		t.Fatalf("bob: policies %v groups %v alias %v", a.Policies, aliasNames(a.GroupAliases), a.Alias)
	}
}

// Each way of finding the user's DN, with the alias named as Vault does:
// the user's userattr value, or the username typed with username_as_alias.
func TestLoginModes(t *testing.T) {
	e := newEnv(t)
	e.OK(logical.UpdateOperation, "groups/devs", map[string]any{"policies": "dev"})
	cases := []struct {
		name      string
		config    map[string]any
		user      string
		alias     string
		groups    []string
		wantFails bool
	}{
		{"direct bind", map[string]any{"binddn": nil, "bindpass": nil}, "alice", "alice", []string{"devs", "ops"}, false},
		{"discoverdn anonymous", map[string]any{"binddn": nil, "bindpass": nil, "discoverdn": true}, "alice", "alice", []string{"devs", "ops"}, false},
		// memberUid matches case-exactly: "ALICE" is not in ops.
		{"alias from the directory", nil, "ALICE", "alice", []string{"devs"}, false},
		{"username_as_alias", map[string]any{"username_as_alias": true}, "ALICE", "ALICE", []string{"devs"}, false},
		{"alias from cn", map[string]any{"userattr": "cn"}, "Alice Liddell", "Alice Liddell", []string{"devs"}, false},
		{"upndomain with a service account", map[string]any{"upndomain": "example.org"}, "alice", "alice", []string{"devs", "ops"}, false},
		{"userfilter", map[string]any{"userfilter": "(&(objectClass=inetOrgPerson)(sn=Liddell)({{.UserAttr}}={{.Username}}))"}, "alice", "alice", []string{"devs", "ops"}, false},
		{"userfilter excluding the user", map[string]any{"userfilter": "(&(sn=Nobody)({{.UserAttr}}={{.Username}}))"}, "alice", "", nil, true},
		{"groupfilter member only", map[string]any{"groupfilter": "(member={{.UserDN}})"}, "alice", "alice", []string{"devs"}, false},
		{"groupattr gidNumber", map[string]any{"groupattr": "gidNumber"}, "alice", "alice", []string{"5001", "devs"}, false},
		{"anonymous_group_search", map[string]any{"anonymous_group_search": true}, "alice", "alice", []string{"devs", "ops"}, false},
		{"no groupdn", map[string]any{"groupdn": ""}, "alice", "alice", nil, false},
		{"first url down", map[string]any{"url": "ldap://127.0.0.1:1," + slapd.URL}, "alice", "alice", []string{"devs", "ops"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.Storage.Delete(t.Context(), configKey)
			e.configure(tc.config)
			resp, err := e.Do(logical.UpdateOperation, "login/"+tc.user, map[string]any{"password": "alice-pw"})
			if tc.wantFails {
				if status, msg := logical.StatusOf(err); status != 400 || msg != errUserBindFailed {
					t.Fatalf("login: %v, want 400 %q", err, errUserBindFailed)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a := resp.Auth
			if a.Alias.Name != tc.alias || a.Metadata["username"] != tc.user || a.DisplayName != tc.user {
				t.Fatalf("alias %q metadata %v display %q", a.Alias.Name, a.Metadata, a.DisplayName)
			}
			if got := aliasNames(a.GroupAliases); !reflect.DeepEqual(got, tc.groups) {
				t.Fatalf("groups %v, want %v", got, tc.groups)
			}
		})
	}
}

func TestCaseSensitiveNames(t *testing.T) {
	e := newEnv(t)
	e.configure(map[string]any{"case_sensitive_names": true})
	e.OK(logical.UpdateOperation, "groups/DEVS", map[string]any{"policies": "upper"})
	e.OK(logical.UpdateOperation, "groups/devs", map[string]any{"policies": "lower"})
	if a := e.login("alice", "alice-pw"); !reflect.DeepEqual(a.Policies, []string{"lower"}) {
		t.Fatalf("case-sensitive policies %v", a.Policies)
	}
	list := e.OK(logical.ListOperation, "groups", nil)
	if !reflect.DeepEqual(list.Data["keys"], []string{"DEVS", "devs"}) {
		t.Fatalf("keys %v", list.Data["keys"])
	}
}

func TestAliasLookahead(t *testing.T) {
	e := newEnv(t)
	// No config, no directory: the lookahead only names the alias.
	resp := e.OK(logical.AliasLookaheadOperation, "login/Alice", map[string]any{"password": "whatever"})
	if resp.Auth == nil || resp.Auth.Alias == nil || resp.Auth.Alias.Name != "Alice" || resp.Auth.ClientToken != "" {
		t.Fatalf("lookahead %+v", resp)
	}
}
