package ldap

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/strongbox/strongbox/internal/builtin/credential/ldap/ldaptest"
	"github.com/strongbox/strongbox/internal/logical"
)

// renew sends the renewal of a login token as the core does: the token's
// policies with "default", its metadata.
func (e *env) renew(login *logical.Auth) (*logical.Response, error) {
	e.t.Helper()
	a := *login
	a.TokenPolicies = append([]string{"default"}, login.Policies...)
	a.Increment = time.Minute
	return e.Backend.HandleRequest(context.Background(), &logical.Request{Operation: logical.RenewOperation, Path: "login/" + login.Metadata["username"], Storage: e.Storage, Auth: &a})
}

func TestAuthRenew(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config map[string]any
	}{
		{"service account", nil},
		// Without binddn the renewal looks the user up anonymously.
		{"direct bind", map[string]any{"binddn": nil, "bindpass": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.configure(tc.config)
			e.OK(logical.UpdateOperation, "groups/devs", map[string]any{"policies": "dev"})
			login := e.login("carol", "carol-pw")
			if len(login.Policies) != 0 || !reflect.DeepEqual(aliasNames(login.GroupAliases), []string{"admins"}) {
				t.Fatalf("carol: %v %v", login.Policies, aliasNames(login.GroupAliases))
			}
			e.configure(map[string]any{"token_ttl": "20m", "token_max_ttl": "1h"})
			resp, err := e.renew(login)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Auth.LeaseDuration != 20*time.Minute || resp.Auth.MaxTTL != time.Hour {
				t.Fatalf("renewed %+v", resp.Auth)
			}
			// carol joins devs in the directory: her policies changed.
			ctx := t.Context()
			addDevs := ldap.NewModifyRequest("cn=devs,"+ldaptest.GroupsDN, nil)
			addDevs.Add("member", []string{ldaptest.UserDN("carol")})
			if err := slapd.Modify(ctx, func(l *ldap.Conn) error { return l.Modify(addDevs) }); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				del := ldap.NewModifyRequest("cn=devs,"+ldaptest.GroupsDN, nil)
				del.Delete("member", []string{ldaptest.UserDN("carol")})
				if err := slapd.Modify(context.Background(), func(l *ldap.Conn) error { return l.Modify(del) }); err != nil {
					t.Error(err)
				}
			})
			if _, err := e.renew(login); err == nil || err.Error() != "policies have changed, not renewing" {
				t.Fatalf("renew after joining devs: %v", err)
			}
			// Mapping devs to nothing makes the policies equal again.
			e.OK(logical.UpdateOperation, "groups/devs", map[string]any{"policies": ""})
			resp, err = e.renew(login)
			if err != nil {
				t.Fatalf("renew with devs unmapped: %v", err)
			}
			if got := aliasNames(resp.Auth.GroupAliases); !reflect.DeepEqual(got, []string{"admins", "devs"}) {
				t.Fatalf("renewed group aliases %v", got)
			}
		})
	}
}

// A user removed from the directory is not renewed.
func TestAuthRenewUserGone(t *testing.T) {
	e := newEnv(t)
	e.configure(nil)
	ctx := t.Context()
	dn := "uid=dave," + ldaptest.UsersDN
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("uid", []string{"dave"})
	add.Attribute("cn", []string{"Dave"})
	add.Attribute("sn", []string{"Dave"})
	add.Attribute("userPassword", []string{"dave-pw"})
	if err := slapd.Modify(ctx, func(l *ldap.Conn) error { return l.Add(add) }); err != nil {
		t.Fatal(err)
	}
	login := e.login("dave", "dave-pw")
	if _, err := e.renew(login); err != nil {
		t.Fatal(err)
	}
	if err := slapd.Modify(ctx, func(l *ldap.Conn) error { return l.Del(ldap.NewDelRequest(dn, nil)) }); err != nil {
		t.Fatal(err)
	}
	_, err := e.renew(login)
	if status, msg := logical.StatusOf(err); status != 400 || msg != `user "dave" is no longer found in the directory; not renewing` {
		t.Fatalf("renew of a deleted user: %d %q", status, msg)
	}
	e.Fails(logical.UpdateOperation, "login/dave", map[string]any{"password": "dave-pw"}, 400, errUserBindFailed)
}
