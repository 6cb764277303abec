package ldap

import (
	"maps"
	"reflect"
	"testing"

	"github.com/strongbox/strongbox/internal/builtin/credential/ldap/ldaptest"
	"github.com/strongbox/strongbox/internal/logical"
)

func TestConfigReadBack(t *testing.T) {
	e := newEnv(t)
	if d := e.OK(logical.ReadOperation, "config", nil).Data; d["url"] != defaultURL || d["userattr"] != "cn" || d["deny_null_bind"] != true || d["groupfilter"] != defaultGroupFilter {
		t.Fatalf("read before any write: %v", d)
	}
	if len(e.Snapshot()) != 0 {
		t.Fatal("reading the defaults stored them")
	}
	e.configure(map[string]any{"certificate": slapd.CACert, "starttls": true, "token_policies": "a,b", "ttl": "10m", "request_timeout": "5s"})
	d := e.OK(logical.ReadOperation, "config", nil).Data
	if _, leaked := d["bindpass"]; leaked {
		t.Fatal("config read shows bindpass")
	}
	if _, leaked := d["client_tls_key"]; leaked {
		t.Fatal("config read shows client_tls_key")
	}
	want := map[string]any{
		"url": slapd.URL, "binddn": ldaptest.ReaderDN, "userdn": ldaptest.UsersDN, "userattr": "uid",
		"groupdn": ldaptest.GroupsDN, "groupfilter": defaultGroupFilter, "groupattr": "cn",
		"userfilter": defaultUserFilter, "deny_null_bind": true, "starttls": true, "insecure_tls": false,
		"certificate": slapd.CACert, "tls_min_version": "tls12", "tls_max_version": "tls12",
		"request_timeout": int64(5), "connection_timeout": int64(30), "dereference_aliases": "never",
		"token_policies": []string{"a", "b"}, "token_ttl": int64(600), "ttl": int64(600),
		"case_sensitive_names": false, "username_as_alias": false, "anonymous_group_search": false,
	}
	for k, v := range want {
		if !reflect.DeepEqual(d[k], v) {
			t.Errorf("%s = %#v, want %#v", k, d[k], v)
		}
	}
	// A partial update keeps the rest, the bind password included.
	e.OK(logical.UpdateOperation, "config", map[string]any{"groupattr": "gidNumber"})
	var stored config
	if ok, err := getJSON(t.Context(), e.Storage, configKey, &stored); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if stored.BindPassword != ldaptest.ReaderPW || stored.GroupAttr != "gidNumber" || stored.URL != slapd.URL {
		t.Fatalf("after a partial update: %+v", stored)
	}
	// Vault's fields this server does not implement: accepted only unset.
	e.OK(logical.UpdateOperation, "config", map[string]any{"use_token_groups": false, "max_page_size": -1, "enable_samaccountname_login": nil, "password_policy": ""})
}

func TestConfigBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.configure(nil)
	before := e.Snapshot()
	cases := []struct {
		data map[string]any
		msg  string
	}{
		{map[string]any{"url": "http://example.org"}, `invalid LDAP scheme in url "http://example.org": use ldap:// or ldaps://`},
		{map[string]any{"url": "ldap://"}, `invalid LDAP url "ldap://"`},
		{map[string]any{"tls_min_version": "tls9"}, "invalid 'tls_min_version'"},
		{map[string]any{"tls_min_version": "tls13"}, "'tls_max_version' must be greater than or equal to 'tls_min_version'"},
		{map[string]any{"certificate": "not a pem"}, "failed to decode PEM block in the certificate"},
		{map[string]any{"client_tls_cert": slapd.CACert}, "both client_tls_cert and client_tls_key must be set"},
		{map[string]any{"groupfilter": "(member={{.UserDN}"}, ""},
		{map[string]any{"groupfilter": "(member={{.Nope}})"}, ""},
		{map[string]any{"userfilter": "uid={{.Username}}"}, ""},
		{map[string]any{"userattr": "uid)(x"}, `invalid 'userattr' "uid)(x"`},
		{map[string]any{"dereference_aliases": "sometimes"}, `invalid 'dereference_aliases' "sometimes": use never, finding, searching or always`},
		{map[string]any{"request_timeout": "-5s"}, ""},
		{map[string]any{"request_timeout": "soon"}, ""},
		{map[string]any{"starttls": "maybe"}, ""},
		{map[string]any{"token_ttl": "2h", "token_max_ttl": "1h"}, "'token_ttl' cannot be greater than 'token_max_ttl'"},
		{map[string]any{"token_bound_cidrs": "300.0.0.1"}, ""},
		{map[string]any{"binddn": "", "userdn": ""}, "cannot derive UserBindDN"},
		{map[string]any{"use_token_groups": true}, "'use_token_groups' is not supported by this server"},
		{map[string]any{"max_page_size": 100}, "'max_page_size' is not supported by this server"},
		{map[string]any{"frobnicate": "x", "bind_dn": "y"}, "unknown config fields: bind_dn, frobnicate"},
	}
	for _, tc := range cases {
		e.Fails(logical.UpdateOperation, "config", tc.data, 400, tc.msg)
		if after := e.Snapshot(); !maps.Equal(after, before) {
			t.Fatalf("%v changed storage", tc.data)
		}
	}
}
