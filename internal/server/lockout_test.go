package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/config"
	"github.com/strongbox/strongbox/internal/core"
)

// lockedUsers reads sys/locked-users as (accessor -> aliases) and the
// total.
func lockedUsers(t *testing.T, c *vault.Client, accessor string) (map[string][]string, int) {
	t.Helper()
	path := "sys/locked-users"
	var data map[string][]string
	if accessor != "" {
		data = map[string][]string{"mount_accessor": {accessor}}
	}
	s, err := c.Logical().ReadWithData(path, data)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, ns := range s.Data["by_namespace"].([]any) {
		for _, m := range ns.(map[string]any)["mount_accessors"].([]any) {
			mm := m.(map[string]any)
			for _, a := range mm["alias_identifiers"].([]any) {
				out[mm["mount_accessor"].(string)] = append(out[mm["mount_accessor"].(string)], a.(string))
			}
		}
	}
	total, _ := s.Data["total"].(json.Number).Int64()
	return out, int(total)
}

// TestUserLockout drives user lockout through the official client against
// a real core: tuned settings read back, a locked user refused (403) even
// with the right password and audited, sys/locked-users and unlock, the
// lock's end after lockout_duration, the counter's reset after
// lockout_counter_reset, a lock that holds across seal and unseal, AppRole
// locked by role ID, lockout_disable, and bad tunes refused.
func TestUserLockout(t *testing.T) {
	clock := &testClock{}
	url := serveCore(t, core.Config{SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods(), Now: clock.now})
	root := userpassClient(t, url, "")
	keys, rootToken := initUnseal(t, root)
	root.SetToken(rootToken)
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	if err := root.Sys().EnableAuditWithOptions("file", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": auditLog}}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().EnableAuthWithOptions("userpass", &vault.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().TuneMount("auth/userpass", vault.MountConfigInput{UserLockoutConfig: &vault.UserLockoutConfigInput{
		LockoutThreshold: "3", LockoutDuration: "10m", LockoutCounterResetDuration: "5m",
	}}); err != nil {
		t.Fatal(err)
	}
	tune, err := root.Logical().Read("sys/auth/userpass/tune")
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"user_lockout_threshold": "3", "user_lockout_duration": "600", "user_lockout_counter_reset_duration": "300"} {
		if got := string(tune.Data[k].(json.Number)); got != want {
			t.Errorf("tune %s = %s, want %s", k, got, want)
		}
	}
	auths, err := root.Sys().ListAuth()
	if err != nil {
		t.Fatal(err)
	}
	acc := auths["userpass/"].Accessor
	for _, u := range []string{"alice", "bob"} {
		if _, err := root.Logical().Write("auth/userpass/users/"+u, map[string]any{"password": u + "-pw"}); err != nil {
			t.Fatal(err)
		}
	}
	anon := userpassClient(t, url, "")
	login := func(user, pw string) error {
		_, err := anon.Logical().Write("auth/userpass/login/"+user, map[string]any{"password": pw})
		return err
	}
	wantLocked := func(user string) {
		t.Helper()
		wantStatus(t, login(user, user+"-pw"), 403, "permission denied")
	}

	for range 3 {
		wantStatus(t, login("alice", "wrong"), 400, "invalid username or password")
	}
	wantLocked("alice")
	wantLocked("ALICE") // the same user, as userpass lowercases names
	if err := login("bob", "bob-pw"); err != nil {
		t.Fatalf("bob is not locked: %v", err)
	}
	if got, total := lockedUsers(t, root, ""); total != 1 || !slices.Equal(got[acc], []string{"alice"}) {
		t.Fatalf("locked users = %v (total %d), want alice under %s", got, total, acc)
	}
	if got, total := lockedUsers(t, root, acc); total != 1 || len(got[acc]) != 1 {
		t.Fatalf("locked users of %s = %v (total %d)", acc, got, total)
	}
	_, err = root.Logical().ReadWithData("sys/locked-users", map[string][]string{"mount_accessor": {"auth_nope_123"}})
	wantStatus(t, err, 400, "not found")

	// The lock holds across a seal and an unseal (it is stored).
	if err := root.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	unseal(t, root, keys[:3])
	wantLocked("alice")

	// Unlock: alice logs in again; unlocking again is not an error.
	if _, err := root.Logical().Write("sys/locked-users/"+acc+"/unlock/alice", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("sys/locked-users/"+acc+"/unlock/alice", nil); err != nil {
		t.Fatalf("second unlock: %v", err)
	}
	if err := login("alice", "alice-pw"); err != nil {
		t.Fatalf("alice after unlock: %v", err)
	}
	_, err = root.Logical().Write("sys/locked-users/auth_nope_123/unlock/alice", nil)
	wantStatus(t, err, 400, "not found")

	// The lock ends by itself after lockout_duration.
	for range 3 {
		wantStatus(t, login("alice", "wrong"), 400, "invalid username or password")
	}
	wantLocked("alice")
	clock.advance(9 * time.Minute)
	wantLocked("alice")
	clock.advance(2 * time.Minute)
	if _, total := lockedUsers(t, root, ""); total != 0 {
		t.Fatalf("an expired lock is still listed (total %d)", total)
	}
	if err := login("alice", "alice-pw"); err != nil {
		t.Fatalf("alice after the lockout duration: %v", err)
	}

	// Failures further apart than lockout_counter_reset do not add up; a
	// success resets the count.
	for range 2 {
		wantStatus(t, login("bob", "wrong"), 400, "invalid username or password")
	}
	clock.advance(6 * time.Minute)
	for range 2 {
		wantStatus(t, login("bob", "wrong"), 400, "invalid username or password")
	}
	if err := login("bob", "bob-pw"); err != nil {
		t.Fatalf("bob locked although his failures were apart: %v", err)
	}
	for range 2 {
		wantStatus(t, login("bob", "wrong"), 400, "invalid username or password")
	}
	if err := login("bob", "bob-pw"); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, login("bob", "wrong"), 400, "invalid username or password")
	if err := login("bob", "bob-pw"); err != nil {
		t.Fatalf("bob locked although a success came between his failures: %v", err)
	}

	// The refused login of a locked user is audited, its password hashed.
	for range 3 {
		wantStatus(t, login("alice", "wrong"), 400, "invalid username or password")
	}
	wantLocked("alice")
	raw, err := os.ReadFile(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "alice-pw") {
		t.Fatal("the audit log holds a password in clear")
	}
	var denied int
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var e struct {
			Type    string `json:"type"`
			Error   string `json:"error"`
			Request struct {
				Path string `json:"path"`
			} `json:"request"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		if e.Type == "response" && e.Request.Path == "auth/userpass/login/alice" && e.Error == "user is locked out: permission denied" {
			denied++
		}
	}
	if denied == 0 {
		t.Fatal("no audited response of a locked-out login")
	}

	// AppRole: the alias is the role ID; Vault's default threshold (5).
	if err := root.Sys().EnableAuthWithOptions("approle", &vault.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/approle/role/app", map[string]any{"token_policies": "default"}); err != nil {
		t.Fatal(err)
	}
	rid, err := root.Logical().Read("auth/approle/role/app/role-id")
	if err != nil {
		t.Fatal(err)
	}
	roleID := rid.Data["role_id"].(string)
	sid, err := root.Logical().Write("auth/approle/role/app/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	secretID := sid.Data["secret_id"].(string)
	for range 5 {
		_, err := anon.Logical().Write("auth/approle/login", map[string]any{"role_id": roleID, "secret_id": "wrong"})
		wantStatus(t, err, 400, "invalid role or secret ID")
	}
	_, err = anon.Logical().Write("auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID})
	wantStatus(t, err, 403, "permission denied")
	auths, _ = root.Sys().ListAuth()
	if got, _ := lockedUsers(t, root, auths["approle/"].Accessor); !slices.Equal(got[auths["approle/"].Accessor], []string{roleID}) {
		t.Fatalf("approle locked users = %v, want the role ID", got)
	}

	// lockout_disable turns it off for the mount.
	off := true
	if err := root.Sys().TuneMount("auth/userpass", vault.MountConfigInput{UserLockoutConfig: &vault.UserLockoutConfigInput{DisableLockout: &off}}); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		wantStatus(t, login("bob", "wrong"), 400, "invalid username or password")
	}
	if err := login("bob", "bob-pw"); err != nil {
		t.Fatalf("bob locked with lockout disabled: %v", err)
	}

	// Bad tunes: refused, nothing changed.
	for _, tc := range []struct {
		path string
		body map[string]any
		msg  string
	}{
		{"sys/auth/userpass/tune", map[string]any{"user_lockout_config": map[string]any{"lockout_threshold": "many"}}, "expected an integer"},
		{"sys/auth/userpass/tune", map[string]any{"user_lockout_config": map[string]any{"lockout_duration": "-1m"}}, "lockout_duration"},
		{"sys/auth/userpass/tune", map[string]any{"user_lockout_config": map[string]any{"lockout_treshold": 3}}, "unknown key"},
		{"sys/auth/userpass/tune", map[string]any{"user_lockout_config": "3"}, "must be an object"},
		{"sys/mounts/secret/tune", map[string]any{"user_lockout_config": map[string]any{"lockout_threshold": 3}}, "only supported"},
		{"sys/auth/token/tune", map[string]any{"user_lockout_config": map[string]any{"lockout_threshold": 3}}, "only supported"},
	} {
		if tc.path == "sys/mounts/secret/tune" {
			_ = root.Sys().Mount("secret", &vault.MountInput{Type: "kv"})
		}
		_, err := root.Logical().Write(tc.path, tc.body)
		wantStatus(t, err, 400, tc.msg)
	}
	tune, err = root.Logical().Read("sys/auth/userpass/tune")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(tune.Data["user_lockout_threshold"].(json.Number)); got != "3" || tune.Data["user_lockout_disable"] != true {
		t.Fatalf("tune after refused changes: %v", tune.Data)
	}
	err = root.Sys().EnableAuthWithOptions("kvauth", &vault.EnableAuthOptions{Type: "approle", Config: vault.AuthConfigInput{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = root.Logical().Write("sys/mounts/other", map[string]any{"type": "kv", "config": map[string]any{"user_lockout_config": map[string]any{"lockout_threshold": 2}}})
	wantStatus(t, err, 400, "only supported")
}

// TestUserLockoutServerConfig: the user_lockout stanzas of the server's
// configuration ("all", then the method's) and VAULT_DISABLE_USER_LOCKOUT
// set what a mount does when it is not tuned.
func TestUserLockoutServerConfig(t *testing.T) {
	cfg, err := config.Parse("lockout.hcl", []byte(`
storage "inmem" {}
user_lockout "all" {
  lockout_threshold = "4"
  lockout_duration  = "10m"
}
user_lockout "userpass" {
  lockout_threshold = 2
}
user_lockout "approle" {
  disable_lockout = "true"
}
`))
	if err != nil {
		t.Fatal(err)
	}
	lc, err := userLockoutConfig(cfg, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	url := serveCore(t, core.Config{SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods(), UserLockout: lc})
	root := rootClient(t, url)
	if err := root.Sys().EnableAuthWithOptions("userpass", &vault.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/userpass/users/carol", map[string]any{"password": "carol-pw"}); err != nil {
		t.Fatal(err)
	}
	anon := userpassClient(t, url, "")
	for range 2 {
		_, err := anon.Logical().Write("auth/userpass/login/carol", map[string]any{"password": "wrong"})
		wantStatus(t, err, 400, "invalid username or password")
	}
	_, err = anon.Logical().Write("auth/userpass/login/carol", map[string]any{"password": "carol-pw"})
	wantStatus(t, err, 403, "permission denied")

	if err := root.Sys().EnableAuthWithOptions("approle", &vault.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/approle/role/app", map[string]any{"bind_secret_id": true}); err != nil {
		t.Fatal(err)
	}
	rid, _ := root.Logical().Read("auth/approle/role/app/role-id")
	sid, _ := root.Logical().Write("auth/approle/role/app/secret-id", nil)
	for range 8 {
		_, err := anon.Logical().Write("auth/approle/login", map[string]any{"role_id": rid.Data["role_id"], "secret_id": "wrong"})
		wantStatus(t, err, 400, "invalid role or secret ID")
	}
	if _, err := anon.Logical().Write("auth/approle/login", map[string]any{"role_id": rid.Data["role_id"], "secret_id": sid.Data["secret_id"]}); err != nil {
		t.Fatalf("approle locked although its stanza disables lockout: %v", err)
	}

	if _, err := userLockoutConfig(cfg, func(string) string { return "maybe" }); err == nil {
		t.Fatal("VAULT_DISABLE_USER_LOCKOUT=maybe accepted")
	}
	lc, err = userLockoutConfig(cfg, func(k string) string {
		if k == "VAULT_DISABLE_USER_LOCKOUT" {
			return "true"
		}
		return ""
	})
	if err != nil || !lc.DisableAll {
		t.Fatalf("VAULT_DISABLE_USER_LOCKOUT=true: %+v, %v", lc, err)
	}
	if _, err := config.Parse("bad.hcl", []byte(`user_lockout "github" { lockout_threshold = 3 }`)); err == nil || !strings.Contains(err.Error(), "bad.hcl:1") {
		t.Fatalf("user_lockout \"github\": err = %v, want refused with file:line", err)
	}
	if _, err := config.Parse("bad.hcl", []byte("user_lockout \"all\" {\n  lockout_treshold = 3\n}")); err == nil || !strings.Contains(err.Error(), "bad.hcl:2") {
		t.Fatalf("misspelt key: err = %v, want refused with file:line", err)
	}
}
