package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// userpassClient is a client of the same server with no token, dialing
// from local address from ("" for any).
func userpassClient(t *testing.T, addr, from string) *vault.Client {
	t.Helper()
	cfg := vault.DefaultConfig()
	cfg.Address = addr
	cfg.MaxRetries = 0
	if from != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		cfg.HttpClient = &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	c, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.ClearToken()
	return c
}

// TestUserpassEndToEnd drives the userpass method with the official client
// against a real core and HTTP handler: users with token_* fields and with
// the old names, login, what token lookup shows, renewal, bound CIDRs,
// failed logins (audited, password hashed), password change, deletion.
func TestUserpassEndToEnd(t *testing.T) {
	root, addr := startEngineServer(t)
	ctx := context.Background()
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	if err := root.Sys().EnableAuditWithOptions("file", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": auditLog}}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().EnableAuthWithOptions("userpass", &vault.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().PutPolicy("dev", `path "secret/*" { capabilities = ["read", "list"] }`); err != nil {
		t.Fatal(err)
	}
	lg := root.Logical()
	if _, err := lg.Write("auth/userpass/users/alice", map[string]any{
		"password": "alice-pw", "token_policies": []string{"dev"}, "token_ttl": "1h", "token_max_ttl": "2h",
	}); err != nil {
		t.Fatal(err)
	}
	// An older client sends the pre-1.2 names; they read back beside the new.
	if _, err := lg.Write("auth/userpass/users/Bob", map[string]any{"password": "bob-pw", "policies": "dev", "ttl": 600}); err != nil {
		t.Fatal(err)
	}
	bob, err := lg.Read("auth/userpass/users/bob")
	if err != nil || bob == nil {
		t.Fatalf("read bob: %v %v", bob, err)
	}
	if p, tp := bob.Data["policies"], bob.Data["token_policies"]; !equalJSON(p, []any{"dev"}) || !equalJSON(tp, []any{"dev"}) {
		t.Fatalf("bob policies %v token_policies %v", p, tp)
	}
	if bob.Data["ttl"] != json.Number("600") || bob.Data["token_ttl"] != json.Number("600") {
		t.Fatalf("bob ttl %v token_ttl %v", bob.Data["ttl"], bob.Data["token_ttl"])
	}
	if _, leaked := bob.Data["password"]; leaked {
		t.Fatal("read shows the password")
	}
	list, err := lg.List("auth/userpass/users")
	if err != nil || list == nil || !equalJSON(list.Data["keys"], []any{"alice", "bob"}) {
		t.Fatalf("list users: %v %v", list, err)
	}

	// Login, unauthenticated, as Vault's auth block.
	anon := userpassClient(t, addr, "")
	secret, err := anon.Logical().Write("auth/userpass/login/alice", map[string]any{"password": "alice-pw"})
	if err != nil {
		t.Fatal(err)
	}
	a := secret.Auth
	if a == nil || a.ClientToken == "" || a.Accessor == "" || !a.Renewable || !a.Orphan || a.LeaseDuration != 3600 ||
		!slices.Equal(a.Policies, []string{"default", "dev"}) || !slices.Equal(a.TokenPolicies, []string{"default", "dev"}) ||
		a.Metadata["username"] != "alice" || a.EntityID == "" {
		t.Fatalf("login auth = %+v", a)
	}
	raw := rawLogin(t, addr, "alice", "alice-pw")
	for _, k := range []string{"client_token", "accessor", "policies", "token_policies", "metadata", "lease_duration",
		"renewable", "entity_id", "token_type", "orphan", "mfa_requirement", "num_uses"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("auth block lacks %q: %v", k, raw)
		}
	}
	if raw["token_type"] != "service" {
		t.Errorf("token_type = %v", raw["token_type"])
	}

	alice := userpassClient(t, addr, "")
	alice.SetToken(a.ClientToken)
	look, err := alice.Auth().Token().LookupSelf()
	if err != nil {
		t.Fatal(err)
	}
	if look.Data["display_name"] != "userpass-alice" || look.Data["path"] != "auth/userpass/login/alice" ||
		!equalJSON(look.Data["policies"], []any{"default", "dev"}) || !equalJSON(look.Data["meta"], map[string]any{"username": "alice"}) {
		t.Fatalf("lookup-self = %v", look.Data)
	}
	if ttl, _ := look.Data["ttl"].(json.Number).Int64(); ttl < 3590 || ttl > 3600 {
		t.Fatalf("ttl = %d", ttl)
	}

	// Renewal goes through the method: the user's token_max_ttl (2h) caps it.
	ren, err := alice.Auth().Token().RenewSelfWithContext(ctx, 4*3600)
	if err != nil {
		t.Fatal(err)
	}
	if ren.Auth == nil || ren.Auth.LeaseDuration > 7200 || ren.Auth.LeaseDuration < 7100 {
		t.Fatalf("renewal = %+v (warnings %v)", ren.Auth, ren.Warnings)
	}
	// A policy change stops renewals until the user logs in again.
	if _, err := lg.Write("auth/userpass/users/alice/policies", map[string]any{"token_policies": "dev,ops"}); err != nil {
		t.Fatal(err)
	}
	_, err = alice.Auth().Token().RenewSelf(0)
	wantStatus(t, err, 400, "policies have changed, not renewing")
	if _, err := lg.Write("auth/userpass/users/alice/policies", map[string]any{"policies": "dev"}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Auth().Token().RenewSelf(0); err != nil {
		t.Fatalf("renew with the policies back: %v", err)
	}

	// A wrapped login (as Vault's agent asks for) answers only wrap_info;
	// unwrapping gives the login's auth.
	wrapped := userpassClient(t, addr, "")
	wrapped.SetWrappingLookupFunc(func(string, string) string { return "60s" })
	w, err := wrapped.Logical().Write("auth/userpass/login/bob", map[string]any{"password": "bob-pw"})
	if err != nil {
		t.Fatal(err)
	}
	if w.Auth != nil || w.WrapInfo == nil || w.WrapInfo.WrappedAccessor == "" {
		t.Fatalf("wrapped login: auth %+v wrap_info %+v", w.Auth, w.WrapInfo)
	}
	unwrapped, err := anon.Logical().Unwrap(w.WrapInfo.Token)
	if err != nil {
		t.Fatal(err)
	}
	if unwrapped.Auth == nil || unwrapped.Auth.Accessor != w.WrapInfo.WrappedAccessor || unwrapped.Auth.Metadata["username"] != "bob" {
		t.Fatalf("unwrapped login: %+v", unwrapped.Auth)
	}

	// The other token_* fields reach the token.
	if _, err := lg.Write("auth/userpass/users/nodef", map[string]any{
		"password": "nodef-pw", "token_policies": "dev", "token_no_default_policy": true, "token_num_uses": 3,
		"token_explicit_max_ttl": "90m", "token_period": "15m",
	}); err != nil {
		t.Fatal(err)
	}
	nd, err := anon.Logical().Write("auth/userpass/login/nodef", map[string]any{"password": "nodef-pw"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(nd.Auth.Policies, []string{"dev"}) || nd.Auth.LeaseDuration != 900 {
		t.Fatalf("no-default-policy login: %+v", nd.Auth)
	}
	// Without "default" the token may not even look itself up (a refused
	// request spends none of its uses).
	ndc := userpassClient(t, addr, "")
	ndc.SetToken(nd.Auth.ClientToken)
	_, err = ndc.Auth().Token().LookupSelf()
	wantStatus(t, err, 403, "permission denied")
	ndLook, err := root.Auth().Token().LookupAccessor(nd.Auth.Accessor)
	if err != nil {
		t.Fatal(err)
	}
	if ndLook.Data["num_uses"] != json.Number("3") || ndLook.Data["explicit_max_ttl"] != json.Number("5400") ||
		ndLook.Data["period"] != json.Number("900") {
		t.Fatalf("lookup of the no-default-policy token: %v", ndLook.Data)
	}

	// Failed logins: 400 with Vault's message, the same for an unknown user.
	_, err = anon.Logical().Write("auth/userpass/login/alice", map[string]any{"password": "wrong-pw"})
	wantStatus(t, err, 400, "invalid username or password")
	_, err = anon.Logical().Write("auth/userpass/login/mallory", map[string]any{"password": "mallory-pw"})
	wantStatus(t, err, 400, "invalid username or password")

	// Password change: the old password stops working.
	if _, err := lg.Write("auth/userpass/users/alice/password", map[string]any{"password": "alice-pw2"}); err != nil {
		t.Fatal(err)
	}
	_, err = anon.Logical().Write("auth/userpass/login/alice", map[string]any{"password": "alice-pw"})
	wantStatus(t, err, 400, "invalid username or password")
	if _, err := anon.Logical().Write("auth/userpass/login/alice", map[string]any{"password": "alice-pw2"}); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}

	// Bad input: 400, nothing stored.
	for _, body := range []map[string]any{
		{"password": "x", "token_type": "batch", "token_num_uses": 2},
		{"password": "x", "token_ttl": "3h", "token_max_ttl": "1h"},
		{"password": "x", "token_bound_cidrs": "10.0.0.0/40"},
		{"token_policies": "dev"},
	} {
		_, err := lg.Write("auth/userpass/users/carol", body)
		wantStatus(t, err, 400, "")
		if s, err := lg.Read("auth/userpass/users/carol"); err != nil || s != nil {
			t.Fatalf("%v: carol stored: %v %v", body, s, err)
		}
	}
	_, err = lg.Write("auth/userpass/users/bob", map[string]any{"token_num_uses": -1})
	wantStatus(t, err, 400, "'token_num_uses' cannot be negative")

	// Deleting the user refuses the next renewal.
	if _, err := lg.Delete("auth/userpass/users/alice"); err != nil {
		t.Fatal(err)
	}
	_, err = alice.Auth().Token().RenewSelf(0)
	wantStatus(t, err, 400, `user "alice" no longer exists; not renewing`)
	_, err = anon.Logical().Write("auth/userpass/login/alice", map[string]any{"password": "alice-pw2"})
	wantStatus(t, err, 400, "invalid username or password")

	checkLoginAudit(t, auditLog, a.ClientToken)
}

// rawLogin logs in over plain HTTP and returns the body's auth block.
func rawLogin(t *testing.T, addr, user, password string) map[string]any {
	t.Helper()
	resp, err := http.Post(addr+"/v1/auth/userpass/login/"+user, "application/json", strings.NewReader(`{"password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Auth map[string]any `json:"auth"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("login: %d %v", resp.StatusCode, err)
	}
	return body.Auth
}

// checkLoginAudit: failed logins are in the audit log with their error,
// and no password, nor the token a login gave, appears in clear in it.
func checkLoginAudit(t *testing.T, path, clientToken string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), clientToken) {
		t.Fatal("a login's client token is in clear in the audit log")
	}
	for _, pw := range []string{"alice-pw", "wrong-pw", "mallory-pw", "bob-pw"} {
		if strings.Contains(string(raw), `"`+pw+`"`) {
			t.Fatalf("password %q in clear in the audit log", pw)
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
				Path string         `json:"path"`
				Data map[string]any `json:"data"`
			} `json:"request"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(e.Request.Path, "auth/userpass/login/") {
			continue
		}
		if pw, _ := e.Request.Data["password"].(string); !strings.HasPrefix(pw, "hmac-sha256:") {
			t.Fatalf("login password audited as %q", pw)
		}
		if e.Type == "response" && e.Error == "invalid username or password" {
			failed[e.Request.Path] = true
		}
	}
	if !failed["auth/userpass/login/alice"] || !failed["auth/userpass/login/mallory"] {
		t.Fatalf("failed logins audited: %v", failed)
	}
}

// TestUserpassBoundCIDRs: a token bound to 127.0.0.1 works from there and
// is refused (403) from 127.0.0.2; a login from outside the user's CIDRs is
// refused (403) even with the right password.
func TestUserpassBoundCIDRs(t *testing.T) {
	root, addr := startEngineServer(t)
	if err := root.Sys().EnableAuthWithOptions("corp/users", &vault.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/corp/users/users/eve", map[string]any{
		"password": "eve-pw", "token_bound_cidrs": []string{"127.0.0.1/32"},
	}); err != nil {
		t.Fatal(err)
	}
	here, there := userpassClient(t, addr, "127.0.0.1"), userpassClient(t, addr, "127.0.0.2")
	_, err := there.Logical().Write("auth/corp/users/login/eve", map[string]any{"password": "eve-pw"})
	wantStatus(t, err, 403, "permission denied")
	secret, err := here.Logical().Write("auth/corp/users/login/eve", map[string]any{"password": "eve-pw"})
	if err != nil {
		t.Fatal(err)
	}
	here.SetToken(secret.Auth.ClientToken)
	there.SetToken(secret.Auth.ClientToken)
	look, err := here.Auth().Token().LookupSelf()
	if err != nil {
		t.Fatal(err)
	}
	if look.Data["display_name"] != "corp-users-eve" || !equalJSON(look.Data["bound_cidrs"], []any{"127.0.0.1"}) {
		t.Fatalf("lookup-self = %v", look.Data)
	}
	_, err = there.Auth().Token().LookupSelf()
	wantStatus(t, err, 403, "permission denied")
	// The login path itself ignores a token used from outside its CIDRs.
	if _, err := there.Logical().Write("auth/corp/users/login/eve", map[string]any{"password": "eve-pw"}); err == nil {
		t.Fatal("login from outside the user's CIDRs succeeded")
	}
	// Once the method is disabled, its tokens are not renewed (refused, or
	// gone when disabling revokes them).
	if err := root.Sys().DisableAuth("corp/users"); err != nil {
		t.Fatal(err)
	}
	_, err = here.Auth().Token().RenewSelf(0)
	var re *vault.ResponseError
	if !errors.As(err, &re) || (re.StatusCode != 400 && re.StatusCode != 403) {
		t.Fatalf("renewal of a token of a disabled method: %v", err)
	}
}

func equalJSON(got, want any) bool {
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	return string(a) == string(b)
}
