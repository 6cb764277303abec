package command

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// leaseKeys lists sys/leases/lookup/<prefix> with the CLI: the lease IDs
// under prefix, without it ("list" exits 2 and prints {} when there are
// none).
func leaseKeys(t *testing.T, sb *realCLI, prefix string) []string {
	t.Helper()
	res := sb.run("", "list", "-format=json", "sys/leases/lookup/"+prefix)
	if res.code == exitAPI && strings.TrimSpace(res.stdout) == "{}" {
		return nil
	}
	if res.code != exitOK {
		t.Fatalf("list sys/leases/lookup/%s: exit %d\n%s%s", prefix, res.code, res.stdout, res.stderr)
	}
	var keys []string
	if err := json.Unmarshal([]byte(res.stdout), &keys); err != nil {
		t.Fatalf("list sys/leases/lookup/%s: %v\n%s", prefix, err, res.stdout)
	}
	return keys
}

// tokenLeases is where token create's leases are: auth/token/create/<id>.
const tokenLeases = "auth/token/create/"

// createLeasedToken creates a token with a TTL through r and finds its
// lease among those under auth/token/create.
func createLeasedToken(t *testing.T, r *realCLI, args ...string) (tok, leaseID string) {
	t.Helper()
	before := leaseKeys(t, r, tokenLeases)
	out := jsonOut(t, r.do("", 0, append([]string{"token", "create", "-format=json", "-ttl=1h"}, args...)...).stdout)
	tok = out["auth"].(map[string]any)["client_token"].(string)
	var added []string
	for _, k := range leaseKeys(t, r, tokenLeases) {
		if !slices.Contains(before, k) && !strings.HasSuffix(k, "/") {
			added = append(added, k)
		}
	}
	if len(added) != 1 {
		t.Fatalf("token create added leases %v under %s, want one", added, tokenLeases)
	}
	return tok, tokenLeases + added[0]
}

// tokenAlive reports whether tok still authenticates.
func tokenAlive(sb *realCLI, addr, tok string) bool {
	return sb.as(addr, tok).run("", "token", "lookup").code == exitOK
}

// leaseAndWrapCases runs the lease and response-wrapping commands against
// the real server of TestCLIAgainstRealServer at addr, as root (from the
// token helper) with KV v2 at secret/. Only built-in engines run there, so
// the leases are token leases (auth/token/create/<id>).
func leaseAndWrapCases(t *testing.T, sb *realCLI, addr string) {
	// lookup
	tokA, idA := createLeasedToken(t, sb, "-policy=default")
	look := jsonOut(t, sb.do("", 0, "lease", "lookup", "-format=json", idA).stdout)
	data, _ := look["data"].(map[string]any)
	if ttl, _ := data["ttl"].(float64); data["id"] != idA || ttl <= 0 || ttl > 3600 || data["expire_time"] == nil || data["issue_time"] == nil {
		t.Errorf("lease lookup %s: %v", idA, look)
	}
	if res := sb.do("", 0, "lease", "lookup", idA); !regexp.MustCompile(`(?m)^id\s+` + regexp.QuoteMeta(idA) + `$`).MatchString(res.stdout) {
		t.Errorf("lease lookup table:\n%s", res.stdout)
	}
	if res := sb.do("", 2, "lease", "lookup", tokenLeases+"nope"); !strings.Contains(res.stderr, "invalid lease") {
		t.Errorf("lease lookup of an unknown lease: %q", res.stderr)
	}

	// renew: a token lease is renewed through auth/token/renew, as in
	// Vault; a negative increment never leaves the CLI.
	if res := sb.do("", 2, "lease", "renew", idA); !strings.Contains(res.stderr, "tokens cannot be renewed through this endpoint") {
		t.Errorf("lease renew of a token lease: %q", res.stderr)
	}
	if res := sb.do("", 2, "lease", "renew", tokenLeases+"nope"); !strings.Contains(res.stderr, "invalid lease") {
		t.Errorf("lease renew of an unknown lease: %q", res.stderr)
	}
	sb.do("", 1, "lease", "renew", "-increment=-1s", idA)

	// revoke -sync: gone when the command returns.
	if res := sb.do("", 0, "lease", "revoke", "-sync", idA); res.stdout != "Success! Revoked lease: "+idA+"\n" {
		t.Errorf("lease revoke -sync: %q", res.stdout)
	}
	if tokenAlive(sb, addr, tokA) {
		t.Error("lease revoke -sync left the token alive")
	}
	if res := sb.do("", 2, "lease", "lookup", idA); !strings.Contains(res.stderr, "invalid lease") {
		t.Errorf("lease lookup after revoke: %q", res.stderr)
	}

	// revoke (queued): gone soon after.
	tokB, idB := createLeasedToken(t, sb)
	if res := sb.do("", 0, "lease", "revoke", idB); res.stdout != "All revocation operations queued successfully!\n" {
		t.Errorf("lease revoke: %q", res.stdout)
	}
	deadline := time.Now().Add(30 * time.Second)
	for tokenAlive(sb, addr, tokB) {
		if time.Now().After(deadline) {
			t.Fatal("a queued lease revocation never revoked the token")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// revoke -prefix needs sudo: a default-policy token is refused and
	// nothing is revoked.
	tokC, _ := createLeasedToken(t, sb, "-policy=default")
	tokD, _ := createLeasedToken(t, sb)
	if res := sb.as(addr, tokC).do("", 2, "lease", "revoke", "-prefix", "-sync", "auth/token/create"); !strings.Contains(res.stderr, "permission denied") {
		t.Errorf("revoke-prefix without sudo: %q", res.stderr)
	}
	if !tokenAlive(sb, addr, tokC) || !tokenAlive(sb, addr, tokD) || len(leaseKeys(t, sb, tokenLeases)) < 2 {
		t.Fatal("a refused revoke-prefix revoked tokens")
	}
	if res := sb.do("", 0, "lease", "revoke", "-prefix", "-sync", "auth/token/create"); res.stdout != "Success! Revoked any leases with prefix: auth/token/create\n" {
		t.Errorf("lease revoke -prefix -sync: %q", res.stdout)
	}
	if tokenAlive(sb, addr, tokC) || tokenAlive(sb, addr, tokD) {
		t.Error("lease revoke -prefix left a token alive")
	}
	if keys := leaseKeys(t, sb, tokenLeases); len(keys) != 0 {
		t.Errorf("leases left after revoke -prefix: %v", keys)
	}

	// revoke -force -prefix (and -force alone is refused before any request).
	tokE, _ := createLeasedToken(t, sb)
	sb.do("", 1, "lease", "revoke", "-force", "auth/token/create")
	res := sb.do("", 0, "lease", "revoke", "-force", "-prefix", "auth/token/create")
	if res.stdout != "Success! Force revoked any leases with prefix: auth/token/create\n" || !strings.Contains(res.stderr, "Warning! Force-removing leases") {
		t.Errorf("lease revoke -force -prefix: %q %q", res.stdout, res.stderr)
	}
	if tokenAlive(sb, addr, tokE) || len(leaseKeys(t, sb, tokenLeases)) != 0 {
		t.Error("lease revoke -force -prefix left the token or its lease")
	}

	// Response wrapping: a KV read wrapped with -wrap-ttl, unwrapped once.
	sb.do("", 0, "kv", "put", "secret/wrapme", "pass=w")
	res = sb.do("", 0, "kv", "get", "-wrap-ttl=5m", "secret/wrapme")
	for _, want := range []string{`(?m)^wrapping_token:\s+\S+$`, `(?m)^wrapping_token_ttl:\s+5m$`, `(?m)^wrapping_token_creation_path:\s+secret/data/wrapme$`} {
		if !regexp.MustCompile(want).MatchString(res.stdout) {
			t.Errorf("kv get -wrap-ttl lacks %s:\n%s", want, res.stdout)
		}
	}
	if strings.Contains(res.stdout, "pass") {
		t.Errorf("a wrapped read shows the data:\n%s", res.stdout)
	}
	wt := sb.do("", 0, "kv", "get", "-wrap-ttl=5m", "-field=wrapping_token", "secret/wrapme").stdout
	unwrapped := jsonOut(t, sb.do("", 0, "unwrap", "-format=json", wt).stdout)
	if d, _ := unwrapped["data"].(map[string]any); d == nil || d["data"].(map[string]any)["pass"] != "w" {
		t.Errorf("unwrap of a KV read: %v", unwrapped)
	}
	if res := sb.do("", 2, "unwrap", wt); !strings.Contains(res.stderr, "wrapping token is not valid or does not exist") {
		t.Errorf("second unwrap: %q", res.stderr)
	}

	// sys/wrapping/wrap wraps what it is given, for 5m unless told.
	res = sb.do("", 0, "write", "-format=json", "sys/wrapping/wrap", "pass=given")
	if wi, _ := jsonOut(t, res.stdout)["wrap_info"].(map[string]any); wi == nil || wi["ttl"] != 300.0 {
		t.Errorf("write sys/wrapping/wrap: %s", res.stdout)
	} else if res := sb.do("", 0, "unwrap", "-field=pass", wi["token"].(string)); res.stdout != "given" {
		t.Errorf("unwrap of sys/wrapping/wrap: %q", res.stdout)
	}

	// A wrapped token creation: the client token is the wrapping token.
	out := jsonOut(t, sb.do("", 0, "token", "create", "-wrap-ttl=2m", "-policy=default", "-format=json").stdout)
	wi, _ := out["wrap_info"].(map[string]any)
	if wi == nil || wi["token"] == "" || wi["wrapped_accessor"] == "" || wi["creation_path"] != "auth/token/create" || wi["ttl"] != 120.0 || out["auth"] != nil {
		t.Fatalf("token create -wrap-ttl: %v", out)
	}
	child := jsonOut(t, sb.as(addr, wi["token"].(string)).do("", 0, "unwrap", "-format=json").stdout)
	auth, _ := child["auth"].(map[string]any)
	if auth == nil || auth["accessor"] != wi["wrapped_accessor"] || !tokenAlive(sb, addr, auth["client_token"].(string)) {
		t.Errorf("unwrapped token: %v (wrap_info %v)", child, wi)
	}
	sb.as(addr, wi["token"].(string)).do("", 2, "unwrap")

	// VAULT_WRAP_TTL wraps every request of a command, here a LIST; status
	// (sys/seal-status, sys/leader: not routed to a backend, as in Vault)
	// keeps working with it exported.
	withEnv := &realCLI{binRunner: &binRunner{t: t, bin: sb.bin, env: cleanEnv(map[string]string{
		"HOME": envValue(sb.env, "HOME"), "VAULT_ADDR": addr, "VAULT_WRAP_TTL": "1m",
	})}, root: sb.root, ran: sb.ran}
	if res := withEnv.do("", 0, "status"); !regexp.MustCompile(`(?m)^Sealed\s+false$`).MatchString(res.stdout) {
		t.Errorf("status with VAULT_WRAP_TTL:\n%s", res.stdout)
	}
	listed := jsonOut(t, withEnv.do("", 0, "list", "-format=json", "secret/metadata").stdout)
	lw, _ := listed["wrap_info"].(map[string]any)
	// A LIST's path ends in "/" on the server, as in Vault.
	if lw == nil || lw["ttl"] != 60.0 || lw["creation_path"] != "secret/metadata/" {
		t.Fatalf("list with VAULT_WRAP_TTL: %v", listed)
	}
	if res := sb.do("", 0, "unwrap", lw["token"].(string)); !regexp.MustCompile(`(?m)^wrapme$`).MatchString(res.stdout) {
		t.Errorf("unwrap of a LIST:\n%s", res.stdout)
	}
	sb.do("", 0, "kv", "metadata", "delete", "secret/wrapme")
}

// leaseAndWrapOnStandby sends lease and wrapping requests to a standby
// (which forwards them to the active node) and checks their effect through
// the active node.
func leaseAndWrapOnStandby(t *testing.T, active, standby *realCLI, activeAddr string) {
	deadline := time.Now().Add(60 * time.Second)
	for res := standby.run("", "token", "lookup"); res.code != exitOK; res = standby.run("", "token", "lookup") {
		if time.Now().After(deadline) {
			t.Fatalf("the standby never served a request:\n%s%s", res.stdout, res.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	tok, id := createLeasedToken(t, standby)
	look := jsonOut(t, standby.do("", 0, "lease", "lookup", "-format=json", id).stdout)
	if d, _ := look["data"].(map[string]any); d == nil || d["id"] != id {
		t.Errorf("lease lookup through the standby: %v", look)
	}
	standby.do("", 0, "lease", "revoke", "-sync", id)
	if tokenAlive(active, activeAddr, tok) {
		t.Error("lease revoke through the standby left the token alive")
	}

	standby.do("", 0, "kv", "put", "secret/standby", "v=1")
	wt := standby.do("", 0, "kv", "get", "-wrap-ttl=1m", "-field=wrapping_token", "secret/standby").stdout
	if res := active.do("", 0, "unwrap", "-format=json", wt); !strings.Contains(res.stdout, `"v": "1"`) {
		t.Errorf("unwrap on the active node of a response wrapped through the standby:\n%s", res.stdout)
	}
	out := jsonOut(t, active.do("", 0, "token", "create", "-wrap-ttl=1m", "-format=json").stdout)
	wi, _ := out["wrap_info"].(map[string]any)
	if wi == nil {
		t.Fatalf("token create -wrap-ttl: %v", out)
	}
	if res := standby.do("", 0, "unwrap", "-field=token_accessor", wi["token"].(string)); res.stdout != wi["wrapped_accessor"] {
		t.Errorf("unwrap through the standby: accessor %q, want %v", res.stdout, wi["wrapped_accessor"])
	}
	active.do("", 0, "kv", "metadata", "delete", "secret/standby")
}
