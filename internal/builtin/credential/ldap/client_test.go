package ldap

import (
	"context"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/strongbox/strongbox/internal/builtin/credential/ldap/ldaptest"
	"github.com/strongbox/strongbox/internal/logical"
)

// Group names from DNs: the first CN, matched case-insensitively unless
// use_pre111_group_cn_behavior (then only an upper-case "CN").
func TestGroupCN(t *testing.T) {
	for _, tc := range []struct {
		in     string
		pre111 bool
		want   string
	}{
		{"cn=devs,ou=groups,dc=example,dc=org", false, "devs"},
		{"CN=Devs,OU=Groups", false, "Devs"},
		{"ou=x,cn=inner,dc=example", false, "inner"},
		{"cn=devs,ou=groups", true, "cn=devs,ou=groups"},
		{"CN=devs,ou=groups", true, "devs"},
		{"devs", false, "devs"},
		{"uid=alice,ou=users", false, "uid=alice,ou=users"},
	} {
		c := &config{UsePre111GroupCN: tc.pre111}
		if got := c.cn(tc.in); got != tc.want {
			t.Errorf("cn(%q, pre111=%v) = %q, want %q", tc.in, tc.pre111, got, tc.want)
		}
	}
}

// dereference_aliases reaches the server: a userdn that is an LDAP alias
// of ou=users finds the users only when aliases are dereferenced.
func TestDereferenceAliases(t *testing.T) {
	dn := "ou=people," + ldaptest.BaseDN
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"alias", "extensibleObject"})
	add.Attribute("ou", []string{"people"})
	add.Attribute("aliasedObjectName", []string{ldaptest.UsersDN})
	if err := slapd.Modify(t.Context(), func(l *ldap.Conn) error { return l.Add(add) }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = slapd.Modify(context.Background(), func(l *ldap.Conn) error { return l.Del(ldap.NewDelRequest(dn, nil)) })
	})
	e := newEnv(t)
	e.configure(map[string]any{"userdn": dn})
	e.Fails(logical.UpdateOperation, "login/alice", map[string]any{"password": "alice-pw"}, 400, errUserBindFailed)
	for _, deref := range []string{"finding", "always"} {
		e.configure(map[string]any{"userdn": dn, "dereference_aliases": deref})
		if a := e.login("alice", "alice-pw"); a.Alias.Name != "alice" {
			t.Fatalf("%s: alias %q", deref, a.Alias.Name)
		}
	}
}
