package server

import (
	"fmt"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

// TestAuthMountTokenTypeAndLockout: an auth mount's token_type is honoured
// (service tokens, the only kind there is) or refused (batch), never
// accepted and ignored; user_lockout_config given at enable is kept. A
// refusal changes nothing.
func TestAuthMountTokenTypeAndLockout(t *testing.T) {
	client, _ := startEngineServer(t)
	sys := client.Sys()
	err := sys.EnableAuthWithOptions("up-batch", &vault.EnableAuthOptions{Type: "userpass", Config: vault.AuthConfigInput{TokenType: "batch"}})
	wantStatus(t, err, 400, "batch tokens are not supported yet")
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
	if _, ok := auths["up-batch/"]; ok {
		t.Fatal("a refused enable mounted up-batch/")
	}

	if err := sys.EnableAuthWithOptions("up", &vault.EnableAuthOptions{Type: "userpass", Config: vault.AuthConfigInput{TokenType: "default-service"}}); err != nil {
		t.Fatal(err)
	}
	tune := func(tt string) error {
		_, err := client.Logical().Write("sys/auth/up/tune", map[string]any{"token_type": tt})
		return err
	}
	if err := tune("service"); err != nil {
		t.Fatalf("tune token_type=service: %v", err)
	}
	wantStatus(t, tune("default-batch"), 400, "batch tokens are not supported yet")
	wantStatus(t, tune("bogus"), 400, `invalid token_type "bogus"`)
	// The official client's TuneMount("auth/up") goes through
	// sys/mounts/auth/up/tune, which tunes the auth mount as in Vault.
	if err := sys.TuneMount("auth/up", vault.MountConfigInput{DefaultLeaseTTL: "2h"}); err != nil {
		t.Fatalf("TuneMount(auth/up): %v", err)
	}
	got, err := sys.MountConfig("auth/up")
	if err != nil {
		t.Fatal(err)
	}
	if got.DefaultLeaseTTL != 7200 {
		t.Fatalf("auth/up default_lease_ttl %d after TuneMount, want 7200", got.DefaultLeaseTTL)
	}
	wantStatus(t, sys.TuneMount("auth/up", vault.MountConfigInput{TokenType: "batch"}), 400, "batch tokens are not supported yet")

	// Logins on the mount still get service tokens.
	if _, err := client.Logical().Write("auth/up/users/alice", map[string]any{"password": "pw"}); err != nil {
		t.Fatal(err)
	}
	s, err := client.Logical().Write("auth/up/login/alice", map[string]any{"password": "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Auth == nil {
		t.Fatal("login without auth")
	}
	look, err := client.Auth().Token().Lookup(s.Auth.ClientToken)
	if err != nil {
		t.Fatal(err)
	}
	if look.Data["type"] != "service" {
		t.Fatalf("login token type %v, want service", look.Data["type"])
	}
}
