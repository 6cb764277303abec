package server

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/builtin/credential/ldap/ldaptest"
)

// startSlapd runs a private OpenLDAP (Debian's slapd) with the ldaptest
// directory until the test ends; the test fails when slapd is missing.
func startSlapd(t *testing.T) *ldaptest.Server {
	t.Helper()
	s, err := ldaptest.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

const ldapBindFailed = "ldap operation failed: failed to bind as user"

// TestLDAPEndToEnd drives the LDAP method with the official client against
// a real core and HTTP handler and a real OpenLDAP: config (the bind
// password never read back, bad input refused with nothing changed),
// group and user mappings, logins with group policies, a user in no
// group, failed logins (audited, passwords HMAC'd), token lookup and
// renewal, StartTLS against the test CA.
func TestLDAPEndToEnd(t *testing.T) {
	slapd := startSlapd(t)
	root, addr := startEngineServer(t)
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	if err := root.Sys().EnableAuditWithOptions("file", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": auditLog}}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().EnableAuthWithOptions("ldap", &vault.EnableAuthOptions{Type: "ldap"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"dev", "ops"} {
		if err := root.Sys().PutPolicy(p, `path "secret/*" { capabilities = ["read"] }`); err != nil {
			t.Fatal(err)
		}
	}
	lg := root.Logical()
	anon := userpassClient(t, addr, "")

	// Not configured yet.
	_, err := anon.Logical().Write("auth/ldap/login/alice", map[string]any{"password": "alice-pw"})
	wantStatus(t, err, 400, "ldap backend not configured")

	if _, err := lg.Write("auth/ldap/config", map[string]any{
		"url": slapd.URL, "userdn": ldaptest.UsersDN, "userattr": "uid", "groupdn": ldaptest.GroupsDN,
		"binddn": ldaptest.ReaderDN, "bindpass": ldaptest.ReaderPW, "token_ttl": "1h",
		"starttls": true, "certificate": slapd.CACert,
	}); err != nil {
		t.Fatal(err)
	}
	cfg, err := lg.Read("auth/ldap/config")
	if err != nil || cfg == nil {
		t.Fatalf("read config: %v %v", cfg, err)
	}
	if _, leaked := cfg.Data["bindpass"]; leaked {
		t.Fatal("config read shows bindpass")
	}
	if cfg.Data["binddn"] != ldaptest.ReaderDN || cfg.Data["starttls"] != true || cfg.Data["token_ttl"] != json.Number("3600") {
		t.Fatalf("config read: %v", cfg.Data)
	}
	// Bad input: 400, and the config reads back the same.
	for _, body := range []map[string]any{
		{"url": "http://ldap.example.org"},
		{"certificate": "garbage"},
		{"tls_min_version": "ssl3"},
		{"groupfilter": "(member={{.UserDN}"},
		{"use_token_groups": true},
		{"not_a_field": "x"},
		{"token_type": "nope"},
	} {
		_, err := lg.Write("auth/ldap/config", body)
		wantStatus(t, err, 400, "")
		again, err := lg.Read("auth/ldap/config")
		if err != nil || !reflect.DeepEqual(again.Data, cfg.Data) {
			t.Fatalf("%v changed the config: %v (%v)", body, again, err)
		}
	}

	if _, err := lg.Write("auth/ldap/groups/devs", map[string]any{"policies": "dev"}); err != nil {
		t.Fatal(err)
	}
	if _, err := lg.Write("auth/ldap/groups/ops", map[string]any{"policies": []string{"ops"}}); err != nil {
		t.Fatal(err)
	}
	if list, err := lg.List("auth/ldap/groups"); err != nil || list == nil || !equalJSON(list.Data["keys"], []any{"devs", "ops"}) {
		t.Fatalf("list groups: %v %v", list, err)
	}
	if _, err := lg.Write("auth/ldap/users/bob", map[string]any{"policies": "bob-own"}); err != nil {
		t.Fatal(err)
	}
	if u, err := lg.Read("auth/ldap/users/bob"); err != nil || u == nil || !equalJSON(u.Data["policies"], []any{"bob-own"}) || u.Data["groups"] != "" {
		t.Fatalf("read user: %v %v", u, err)
	}

	// alice: in devs (member) and ops (memberUid).
	secret, err := anon.Logical().Write("auth/ldap/login/alice", map[string]any{"password": "alice-pw"})
	if err != nil {
		t.Fatal(err)
	}
	a := secret.Auth
	if a == nil || a.ClientToken == "" || !a.Renewable || a.LeaseDuration != 3600 ||
		!slices.Equal(a.Policies, []string{"default", "dev", "ops"}) || a.Metadata["username"] != "alice" {
		t.Fatalf("alice's login: %+v", a)
	}
	alice := userpassClient(t, addr, "")
	alice.SetToken(a.ClientToken)
	look, err := alice.Auth().Token().LookupSelf()
	if err != nil {
		t.Fatal(err)
	}
	if look.Data["display_name"] != "ldap-alice" || look.Data["path"] != "auth/ldap/login/alice" ||
		!equalJSON(look.Data["meta"], map[string]any{"username": "alice"}) {
		t.Fatalf("lookup-self: %v", look.Data)
	}
	if ren, err := alice.Auth().Token().RenewSelf(0); err != nil || ren.Auth == nil || ren.Auth.LeaseDuration < 3500 || ren.Auth.LeaseDuration > 3600 {
		t.Fatalf("renew-self: %+v %v", ren.Auth, err)
	}
	// A new mapping changes alice's policies: no more renewals.
	if _, err := lg.Write("auth/ldap/users/alice", map[string]any{"policies": "extra"}); err != nil {
		t.Fatal(err)
	}
	_, err = alice.Auth().Token().RenewSelf(0)
	wantStatus(t, err, 400, "policies have changed, not renewing")

	// bob: in no group, only his own mapping and default.
	bob, err := anon.Logical().Write("auth/ldap/login/bob", map[string]any{"password": "bob-pw"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(bob.Auth.Policies, []string{"bob-own", "default"}) {
		t.Fatalf("bob's policies: %v", bob.Auth.Policies)
	}
	// carol: in admins, which maps to nothing: default only.
	carol, err := anon.Logical().Write("auth/ldap/login/carol", map[string]any{"password": "carol-pw"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(carol.Auth.Policies, []string{"default"}) {
		t.Fatalf("carol's policies: %v", carol.Auth.Policies)
	}

	// Failed logins: 400 with Vault's message, the same for an unknown user.
	_, err = anon.Logical().Write("auth/ldap/login/alice", map[string]any{"password": "wrong-pw"})
	wantStatus(t, err, 400, ldapBindFailed)
	_, err = anon.Logical().Write("auth/ldap/login/mallory", map[string]any{"password": "mallory-pw"})
	wantStatus(t, err, 400, ldapBindFailed)
	_, err = anon.Logical().Write("auth/ldap/login/alice", map[string]any{"password": ""})
	wantStatus(t, err, 400, "password cannot be of zero length when passwordless binds are being denied")

	// Without the CA, StartTLS fails verification: no login, and a
	// TLS error rather than a bind failure.
	if _, err := lg.Write("auth/ldap/config", map[string]any{"certificate": ""}); err != nil {
		t.Fatal(err)
	}
	_, err = anon.Logical().Write("auth/ldap/login/alice", map[string]any{"password": "alice-pw"})
	wantStatus(t, err, 400, "")
	if !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Fatalf("login with an untrusted server certificate: %v", err)
	}
	if _, err := lg.Write("auth/ldap/config", map[string]any{"insecure_tls": true}); err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Logical().Write("auth/ldap/login/alice", map[string]any{"password": "alice-pw"}); err != nil {
		t.Fatalf("login with insecure_tls: %v", err)
	}

	// User lockout: after five failed binds bob is refused (403) even
	// with his password, until unlocked.
	for range 5 {
		_, err = anon.Logical().Write("auth/ldap/login/bob", map[string]any{"password": "wrong-pw"})
		wantStatus(t, err, 400, ldapBindFailed)
	}
	_, err = anon.Logical().Write("auth/ldap/login/bob", map[string]any{"password": "bob-pw"})
	wantStatus(t, err, 403, "permission denied")
	auths, err := root.Sys().ListAuth()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lg.Write("sys/locked-users/"+auths["ldap/"].Accessor+"/unlock/bob", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Logical().Write("auth/ldap/login/bob", map[string]any{"password": "bob-pw"}); err != nil {
		t.Fatalf("bob after unlock: %v", err)
	}

	checkLDAPAudit(t, auditLog, a.ClientToken)
}

// checkLDAPAudit: the failed logins are audited with their error, and no
// password (the users' nor the bind password) nor a login's token appears
// in clear.
func checkLDAPAudit(t *testing.T, path, clientToken string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{clientToken, ldaptest.ReaderPW, "alice-pw", "wrong-pw", "mallory-pw", "bob-pw"} {
		if strings.Contains(string(raw), secret) {
			t.Fatalf("%q is in clear in the audit log", secret)
		}
	}
	failed := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct {
			Type    string `json:"type"`
			Error   string `json:"error"`
			Request struct {
				Path string `json:"path"`
			} `json:"request"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.Type == "response" && e.Error == ldapBindFailed {
			failed[e.Request.Path] = true
		}
	}
	if !failed["auth/ldap/login/alice"] || !failed["auth/ldap/login/mallory"] {
		t.Fatalf("failed logins audited: %v", failed)
	}
}
