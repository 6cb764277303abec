package server

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// TestAppRoleEndToEnd drives the AppRole method with the official client
// against a real core and HTTP handler: roles with token_* fields and with
// the old names, role IDs, secret IDs (plain and response-wrapped),
// login and what token lookup shows, renewal, num_uses, TTL expiry,
// lookup and destroy by secret ID and by accessor, tidy, refused input,
// and failed logins in the audit log with the secret ID hashed.
func TestAppRoleEndToEnd(t *testing.T) {
	root, addr := startEngineServer(t)
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	if err := root.Sys().EnableAuditWithOptions("file", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": auditLog}}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().EnableAuthWithOptions("approle", &vault.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().PutPolicy("dev", `path "secret/*" { capabilities = ["read", "list"] }`); err != nil {
		t.Fatal(err)
	}
	lg := root.Logical()
	mustWrite := func(path string, data map[string]any) *vault.Secret {
		t.Helper()
		s, err := lg.Write(path, data)
		if err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		return s
	}
	mustWrite("auth/approle/role/web", map[string]any{
		"token_policies": []string{"dev"}, "token_ttl": "1h", "token_max_ttl": "2h", "secret_id_num_uses": 0,
	})
	// An older client sends the pre-1.2 names; they read back beside the new.
	mustWrite("auth/approle/role/legacy", map[string]any{"policies": "dev", "period": 300, "bound_cidr_list": "127.0.0.0/8"})
	old, err := lg.Read("auth/approle/role/legacy")
	if err != nil || old == nil {
		t.Fatalf("read legacy: %v %v", old, err)
	}
	if !equalJSON(old.Data["policies"], []any{"dev"}) || !equalJSON(old.Data["token_policies"], []any{"dev"}) ||
		old.Data["period"] != json.Number("300") || old.Data["token_period"] != json.Number("300") ||
		!equalJSON(old.Data["bound_cidr_list"], []any{"127.0.0.0/8"}) || !equalJSON(old.Data["secret_id_bound_cidrs"], []any{"127.0.0.0/8"}) {
		t.Fatalf("legacy role reads %v", old.Data)
	}
	list, err := lg.List("auth/approle/role")
	if err != nil || list == nil || !equalJSON(list.Data["keys"], []any{"legacy", "web"}) {
		t.Fatalf("LIST role: %v %v", list, err)
	}

	// Refused input: a 4xx in Vault's shape, and the role is unchanged.
	before, _ := lg.Read("auth/approle/role/web")
	for _, bad := range []map[string]any{
		{"secret_id_num_uses": -1}, {"token_type": "nonsense"}, {"secret_id_bound_cidrs": "nope"}, {"token_ttl": "soon"},
	} {
		_, err := lg.Write("auth/approle/role/web", bad)
		wantStatus(t, err, 400, "")
	}
	if after, _ := lg.Read("auth/approle/role/web"); !equalJSON(before.Data, after.Data) {
		t.Fatalf("refused writes changed the role: %v -> %v", before.Data, after.Data)
	}

	roleID := mustWrite("auth/approle/role/web/role-id", map[string]any{"role_id": "web-role-id"})
	if roleID != nil {
		t.Fatalf("role-id update answered %v", roleID.Data)
	}
	rid, err := lg.Read("auth/approle/role/web/role-id")
	if err != nil || rid.Data["role_id"] != "web-role-id" {
		t.Fatalf("role-id: %v %v", rid, err)
	}
	_, err = lg.Write("auth/approle/role/legacy/role-id", map[string]any{"role_id": "web-role-id"})
	wantStatus(t, err, 400, "role_id already in use")

	gen := mustWrite("auth/approle/role/web/secret-id", map[string]any{"metadata": `{"host":"web-1"}`})
	secretID, accessor := gen.Data["secret_id"].(string), gen.Data["secret_id_accessor"].(string)
	if secretID == "" || accessor == "" || gen.Data["secret_id_ttl"] != json.Number("0") || gen.Data["secret_id_num_uses"] != json.Number("0") {
		t.Fatalf("secret-id: %v", gen.Data)
	}

	anon := userpassClient(t, addr, "")
	login, err := anon.Logical().Write("auth/approle/login", map[string]any{"role_id": "web-role-id", "secret_id": secretID})
	if err != nil {
		t.Fatal(err)
	}
	a := login.Auth
	if a == nil || a.ClientToken == "" || a.Accessor == "" || !a.Renewable || a.LeaseDuration != 3600 ||
		!slices.Equal(a.Policies, []string{"default", "dev"}) || !slices.Equal(a.TokenPolicies, []string{"default", "dev"}) ||
		a.Metadata["role_name"] != "web" || a.Metadata["host"] != "web-1" {
		t.Fatalf("login auth %+v", a)
	}
	user := userpassClient(t, addr, "")
	user.SetToken(a.ClientToken)
	look, err := user.Auth().Token().LookupSelf()
	if err != nil {
		t.Fatal(err)
	}
	if look.Data["display_name"] != "approle" || look.Data["path"] != "auth/approle/login" ||
		!equalJSON(look.Data["meta"], map[string]any{"host": "web-1", "role_name": "web"}) {
		t.Fatalf("lookup-self %v", look.Data)
	}
	mustWrite("auth/approle/role/web/token-ttl", map[string]any{"token_ttl": 600})
	ren, err := user.Auth().Token().RenewSelf(0)
	if err != nil || ren.Auth.LeaseDuration > 600 || ren.Auth.LeaseDuration < 590 {
		t.Fatalf("renew follows the role token_ttl: %+v %v", ren.Auth, err)
	}

	// A response-wrapped secret ID: the answer holds only wrap_info, the
	// unwrapped data logs in.
	wrapped := userpassClient(t, addr, "")
	wrapped.SetToken(root.Token())
	wrapped.SetWrappingLookupFunc(func(string, string) string { return "60s" })
	w, err := wrapped.Logical().Write("auth/approle/role/web/secret-id", nil)
	if err != nil || w.WrapInfo == nil || w.Data != nil {
		t.Fatalf("wrapped secret-id: %+v %v", w, err)
	}
	unwrapped, err := anon.Logical().Unwrap(w.WrapInfo.Token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Logical().Write("auth/approle/login", map[string]any{"role_id": "web-role-id", "secret_id": unwrapped.Data["secret_id"]}); err != nil {
		t.Fatalf("login with the unwrapped secret id: %v", err)
	}

	// Lookup, LIST, destroy by accessor and by value.
	byAcc := mustWrite("auth/approle/role/web/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": accessor})
	if !equalJSON(byAcc.Data["metadata"], map[string]any{"host": "web-1"}) || byAcc.Data["secret_id_accessor"] != accessor {
		t.Fatalf("accessor lookup %v", byAcc.Data)
	}
	accs, err := lg.List("auth/approle/role/web/secret-id")
	if err != nil || accs == nil || len(accs.Data["keys"].([]any)) != 2 || !slices.Contains(accs.Data["keys"].([]any), any(accessor)) {
		t.Fatalf("LIST secret-id: %v %v", accs, err)
	}
	mustWrite("auth/approle/role/web/secret-id-accessor/destroy", map[string]any{"secret_id_accessor": accessor})
	_, err = anon.Logical().Write("auth/approle/login", map[string]any{"role_id": "web-role-id", "secret_id": secretID})
	wantStatus(t, err, 400, "invalid role or secret ID")
	_, err = lg.Write("auth/approle/role/web/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": accessor})
	wantStatus(t, err, 404, "")
	custom := mustWrite("auth/approle/role/web/custom-secret-id", map[string]any{"secret_id": "hand-made"})
	if custom.Data["secret_id"] != "hand-made" {
		t.Fatalf("custom-secret-id %v", custom.Data)
	}
	if _, err := lg.DeleteWithData("auth/approle/role/web/secret-id/destroy", map[string][]string{"secret_id": {"hand-made"}}); err != nil {
		t.Fatal(err)
	}
	_, err = anon.Logical().Write("auth/approle/login", map[string]any{"role_id": "web-role-id", "secret_id": "hand-made"})
	wantStatus(t, err, 400, "invalid role or secret ID")

	// num_uses: a one-use secret ID logs in once.
	once := mustWrite("auth/approle/role/web/secret-id", map[string]any{"num_uses": 1})
	if _, err := anon.Logical().Write("auth/approle/login", map[string]any{"role_id": "web-role-id", "secret_id": once.Data["secret_id"]}); err != nil {
		t.Fatal(err)
	}
	_, err = anon.Logical().Write("auth/approle/login", map[string]any{"role_id": "web-role-id", "secret_id": once.Data["secret_id"]})
	wantStatus(t, err, 400, "invalid role or secret ID")

	// TTL: a one-second secret ID stops working (polled, no fixed sleep).
	short := mustWrite("auth/approle/role/web/secret-id", map[string]any{"ttl": 1})
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err = anon.Logical().Write("auth/approle/login", map[string]any{"role_id": "web-role-id", "secret_id": short.Data["secret_id"]})
		if err != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	wantStatus(t, err, 400, "invalid role or secret ID")

	tidy := mustWrite("auth/approle/tidy/secret-id", nil)
	if len(tidy.Warnings) == 0 {
		t.Fatalf("tidy answered %+v", tidy)
	}
	_, err = anon.Logical().Write("auth/approle/login", map[string]any{"role_id": "no-such-role", "secret_id": "x"})
	wantStatus(t, err, 400, "invalid role or secret ID")
	_, err = anon.Logical().Write("auth/approle/login", map[string]any{"secret_id": "x"})
	wantStatus(t, err, 400, "missing role_id")

	// Deleting the role ends its tokens' renewals.
	if _, err := lg.Delete("auth/approle/role/web"); err != nil {
		t.Fatal(err)
	}
	_, err = user.Auth().Token().RenewSelf(0)
	wantStatus(t, err, 400, `role "web" does not exist during renewal`)

	checkAppRoleAudit(t, auditLog, a.ClientToken, secretID)
}

// checkAppRoleAudit: failed logins are in the audit log with Vault's
// error, and neither the secret ID nor the token a login gave appears in
// clear.
func checkAppRoleAudit(t *testing.T, path, clientToken, secretID string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), clientToken) || strings.Contains(string(raw), secretID) {
		t.Fatal("a client token or a secret id is in clear in the audit log")
	}
	failed := 0
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
		if e.Request.Path == "auth/approle/login" && e.Type == "response" && e.Error == "invalid role or secret ID" {
			failed++
		}
	}
	if failed < 4 {
		t.Fatalf("%d failed approle logins audited, want at least 4", failed)
	}
}

// TestAppRoleCIDRs: a secret ID bound to 127.0.0.1 logs in from there and
// is refused (400) from 127.0.0.2; a token bound to 127.0.0.1 is refused
// (403) when used from 127.0.0.2.
func TestAppRoleCIDRs(t *testing.T) {
	root, addr := startEngineServer(t)
	if err := root.Sys().EnableAuthWithOptions("machines", &vault.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/machines/role/db", map[string]any{
		"role_id": "db", "secret_id_bound_cidrs": "127.0.0.0/8", "token_bound_cidrs": "127.0.0.1",
	}); err != nil {
		t.Fatal(err)
	}
	gen, err := root.Logical().Write("auth/machines/role/db/secret-id", map[string]any{"cidr_list": "127.0.0.1/32"})
	if err != nil {
		t.Fatal(err)
	}
	creds := map[string]any{"role_id": "db", "secret_id": gen.Data["secret_id"]}
	here, there := userpassClient(t, addr, "127.0.0.1"), userpassClient(t, addr, "127.0.0.2")
	_, err = there.Logical().Write("auth/machines/login", creds)
	wantStatus(t, err, 400, `source address "127.0.0.2" unauthorized through CIDR restrictions on the secret ID`)
	login, err := here.Logical().Write("auth/machines/login", creds)
	if err != nil {
		t.Fatal(err)
	}
	here.SetToken(login.Auth.ClientToken)
	there.SetToken(login.Auth.ClientToken)
	look, err := here.Auth().Token().LookupSelf()
	if err != nil || look.Data["display_name"] != "machines" || !equalJSON(look.Data["bound_cidrs"], []any{"127.0.0.1"}) {
		t.Fatalf("lookup-self %v %v", look, err)
	}
	_, err = there.Auth().Token().LookupSelf()
	wantStatus(t, err, 403, "permission denied")
}

// TestAppRoleOneUseSecretIDRace: sixteen clients log in at once with a
// one-use secret ID; exactly one gets a token, the others a 400.
func TestAppRoleOneUseSecretIDRace(t *testing.T) {
	root, addr := startEngineServer(t)
	if err := root.Sys().EnableAuthWithOptions("approle", &vault.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	// The losers' logins are failed logins of role ID "once": without
	// this, user lockout would lock the role out after five (as Vault's).
	off := true
	if err := root.Sys().TuneMount("auth/approle", vault.MountConfigInput{UserLockoutConfig: &vault.UserLockoutConfigInput{DisableLockout: &off}}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/approle/role/once", map[string]any{"role_id": "once", "secret_id_num_uses": 1}); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 5; round++ {
		gen, err := root.Logical().Write("auth/approle/role/once/secret-id", nil)
		if err != nil {
			t.Fatal(err)
		}
		creds := map[string]any{"role_id": "once", "secret_id": gen.Data["secret_id"]}
		errs := make(chan error, 16)
		start := make(chan struct{})
		for i := 0; i < 16; i++ {
			c := userpassClient(t, addr, "")
			go func() {
				<-start
				_, err := c.Logical().Write("auth/approle/login", creds)
				errs <- err
			}()
		}
		close(start)
		wins := 0
		for i := 0; i < 16; i++ {
			if err := <-errs; err == nil {
				wins++
			} else {
				wantStatus(t, err, 400, "invalid role or secret ID")
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d logins won with a one-use secret id", round, wins)
		}
	}
}
