package server

import (
	"fmt"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

// TestAuthMountTokenTypeAndLockout: an auth mount's token_type is stored,
// shown by sys/auth and tune, and decides the login token's type with the
// user's as Vault does (service and batch force it, default-service and
// default-batch only fill in a user's "default"); bad values are refused
// and change nothing; user_lockout_config given at enable is kept.
func TestAuthMountTokenTypeAndLockout(t *testing.T) {
	client, _ := startEngineServer(t)
	sys := client.Sys()
	err := sys.EnableAuthWithOptions("up-bad", &vault.EnableAuthOptions{Type: "userpass", Config: vault.AuthConfigInput{TokenType: "bogus"}})
	wantStatus(t, err, 400, `invalid token_type "bogus"`)
	err = sys.EnableAuthWithOptions("up-lock", &vault.EnableAuthOptions{Type: "userpass", Config: vault.AuthConfigInput{
		UserLockoutConfig: &vault.UserLockoutConfigInput{LockoutThreshold: "3"}}})
	if err != nil {
		t.Fatalf("enable with user_lockout_config: %v", err)
	}
	lockTune, err := client.Logical().Read("sys/auth/up-lock/tune")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(lockTune.Data["user_lockout_threshold"]); got != "3" {
		t.Fatalf("up-lock user_lockout_threshold = %s, want 3", got)
	}
	auths, err := sys.ListAuth()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := auths["up-bad/"]; ok {
		t.Fatal("a refused enable mounted up-bad/")
	}

	if err := sys.EnableAuthWithOptions("up", &vault.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if err := sys.EnableAuthWithOptions("upb", &vault.EnableAuthOptions{Type: "userpass", Config: vault.AuthConfigInput{TokenType: "batch"}}); err != nil {
		t.Fatal(err)
	}
	auths, err = sys.ListAuth()
	if err != nil {
		t.Fatal(err)
	}
	if auths["up/"].Config.TokenType != "default-service" || auths["upb/"].Config.TokenType != "batch" || auths["token/"].Config.TokenType != "default-service" {
		t.Fatalf("sys/auth token_type: up %q, upb %q", auths["up/"].Config.TokenType, auths["upb/"].Config.TokenType)
	}
	for _, m := range []string{"up", "upb"} {
		for _, u := range []string{"plain", "wantsbatch", "wantsservice"} {
			body := map[string]any{"password": "pw"}
			switch u {
			case "wantsbatch":
				body["token_type"] = "batch"
			case "wantsservice":
				body["token_type"] = "service"
			}
			if _, err := client.Logical().Write("auth/"+m+"/users/"+u, body); err != nil {
				t.Fatal(err)
			}
		}
	}
	login := func(mount, user string) string {
		t.Helper()
		s, err := client.Logical().Write("auth/"+mount+"/login/"+user, map[string]any{"password": "pw"})
		if err != nil {
			t.Fatalf("login %s/%s: %v", mount, user, err)
		}
		typ := typeOf(t, client, s.Auth.ClientToken)
		if want := map[bool]string{true: "hvb.", false: "hvs."}[typ == "batch"]; !strings.HasPrefix(s.Auth.ClientToken, want) {
			t.Fatalf("login %s/%s: %s token %q", mount, user, typ, s.Auth.ClientToken[:8])
		}
		if s.Auth.Renewable != (typ == "service") {
			t.Fatalf("login %s/%s: %s token renewable=%v", mount, user, typ, s.Auth.Renewable)
		}
		return typ.(string)
	}
	tune := func(mount, tt string) error {
		_, err := client.Logical().Write("sys/auth/"+mount+"/tune", map[string]any{"token_type": tt})
		return err
	}
	cases := []struct{ mountType, user, want string }{
		{"default-service", "plain", "service"},
		{"default-service", "wantsbatch", "batch"},
		{"default-service", "wantsservice", "service"},
		{"default-batch", "plain", "batch"},
		{"default-batch", "wantsbatch", "batch"},
		{"default-batch", "wantsservice", "service"},
		{"service", "wantsbatch", "service"},
		{"batch", "wantsservice", "batch"},
		{"batch", "plain", "batch"},
	}
	for _, c := range cases {
		if err := tune("up", c.mountType); err != nil {
			t.Fatalf("tune token_type=%s: %v", c.mountType, err)
		}
		cfg, err := sys.MountConfig("auth/up")
		if err != nil || cfg.TokenType != c.mountType {
			t.Fatalf("tune read after token_type=%s: %+v %v", c.mountType, cfg, err)
		}
		if got := login("up", c.user); got != c.want {
			t.Errorf("mount %s, user %s: %s token, want %s", c.mountType, c.user, got, c.want)
		}
	}
	if got := login("upb", "wantsservice"); got != "batch" {
		t.Errorf("mount enabled with token_type=batch gave a %s token", got)
	}

	wantStatus(t, tune("up", "bogus"), 400, `invalid token_type "bogus"`)
	wantStatus(t, tune("token", "batch"), 400, "'token_type' cannot be set for 'token' or 'ns_token' auth mounts")
	err = sys.Mount("kvb", &vault.MountInput{Type: "kv", Config: vault.MountConfigInput{TokenType: "batch"}})
	wantStatus(t, err, 400, "'token_type' can only be set on auth mounts")
	if err := sys.Mount("kvt", &vault.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	_, err = client.Logical().Write("sys/mounts/kvt/tune", map[string]any{"token_type": "batch"})
	wantStatus(t, err, 400, "'token_type' can only be modified on auth mounts")
	if cfg, err := sys.MountConfig("auth/up"); err != nil || cfg.TokenType != "batch" {
		t.Fatalf("a refused tune changed token_type: %+v %v", cfg, err)
	}

	// The official client's TuneMount("auth/up") goes through
	// sys/mounts/auth/up/tune, which tunes the auth mount as in Vault.
	if err := sys.TuneMount("auth/up", vault.MountConfigInput{DefaultLeaseTTL: "2h", TokenType: "default-batch"}); err != nil {
		t.Fatalf("TuneMount(auth/up): %v", err)
	}
	got, err := sys.MountConfig("auth/up")
	if err != nil {
		t.Fatal(err)
	}
	if got.DefaultLeaseTTL != 7200 || got.TokenType != "default-batch" {
		t.Fatalf("auth/up after TuneMount: %+v", got)
	}
}
