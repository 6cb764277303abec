package command

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/builtin/credential/ldap/ldaptest"
	"github.com/strongbox/strongbox/internal/pgp"
)

// localCommands never talk to a server (or, for `server`, are the server:
// every real-server test starts one with it; `agent` is a long-running
// client proven against the real server in TestAgentBinaryEndToEnd, and
// `proxy` in the same test, with the seed's caching example).
var localCommands = []string{
	"server", "agent", "proxy", "version", "print token", "policy fmt", "operator raft snapshot inspect",
}

// realServerCommands are the commands TestCLIAgainstRealServer runs against
// a real server. TestEveryServerCommandHasRealServerCase keeps this list
// equal to the command tree minus localCommands, and the test itself fails
// when an entry was not run: a command that only fake-server tests cover
// can pass while the server lacks its endpoint.
var realServerCommands = []string{
	"audit disable", "audit enable", "audit list", "audit verify",
	"auth disable", "auth enable", "auth list", "auth tune",
	"delete", "list", "login", "patch", "read", "write", "status",
	"kv delete", "kv destroy", "kv get", "kv list", "kv patch", "kv put", "kv rollback", "kv undelete",
	"kv metadata delete", "kv metadata get", "kv metadata put",
	"operator generate-root", "operator init", "operator key-status", "operator rekey", "operator rotate",
	"operator seal", "operator step-down", "operator unseal",
	"operator raft join", "operator raft list-peers", "operator raft remove-peer",
	"operator raft autopilot get-config", "operator raft autopilot set-config", "operator raft autopilot state",
	"operator raft snapshot restore", "operator raft snapshot save",
	"policy delete", "policy list", "policy read", "policy write",
	"secrets disable", "secrets enable", "secrets list", "secrets move", "secrets tune",
	"token capabilities", "token create", "token lookup", "token renew", "token revoke",
	"lease lookup", "lease renew", "lease revoke", "unwrap",
}

// leafName is the command path (without "strongbox ") that args run.
func leafName(root *cobra.Command, args []string) string {
	cur := root
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		next := (*cobra.Command)(nil)
		for _, s := range cur.Commands() {
			if s.Name() == a || slices.Contains(s.Aliases, a) {
				next = s
				break
			}
		}
		if next == nil {
			break
		}
		cur = next
	}
	return strings.TrimPrefix(strings.TrimPrefix(cur.CommandPath(), root.Name()), " ")
}

func TestEveryServerCommandHasRealServerCase(t *testing.T) {
	root := newRootCommand(&app{})
	inTree := map[string]bool{}
	for _, c := range allCommands(root) {
		if c.Annotations[groupMarker] == "true" || c.Name() == "help" {
			continue
		}
		name := strings.TrimPrefix(strings.TrimPrefix(c.CommandPath(), root.Name()), " ")
		inTree[name] = true
		if !slices.Contains(localCommands, name) && !slices.Contains(realServerCommands, name) {
			t.Errorf("command %q talks to the server but has no real-server case in TestCLIAgainstRealServer (add one, and list it in realServerCommands)", name)
		}
	}
	for _, name := range append(slices.Clone(localCommands), realServerCommands...) {
		if !inTree[name] {
			t.Errorf("%q is listed but is not a command", name)
		}
	}
}

// realCLI runs the built binary and records which commands ran.
type realCLI struct {
	*binRunner
	root *cobra.Command
	ran  map[string]bool
}

func (r *realCLI) do(stdin string, code int, args ...string) result {
	r.t.Helper()
	r.ran[leafName(r.root, args)] = true
	return r.run(stdin, args...).want(r.t, code)
}

// as runs with another address and token (VAULT_ADDR, VAULT_TOKEN).
func (r *realCLI) as(addr, token string) *realCLI {
	env := cleanEnv(map[string]string{"HOME": envValue(r.env, "HOME"), "VAULT_ADDR": addr, "VAULT_TOKEN": token})
	return &realCLI{binRunner: &binRunner{t: r.t, bin: r.bin, env: env}, root: r.root, ran: r.ran}
}

func envValue(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

func raftServerConfig(t *testing.T, dir, id string) (cfg, addr string) {
	t.Helper()
	api, cluster := freePort(t), freePort(t)
	cfg = filepath.Join(dir, id+".hcl")
	writeFile(t, cfg, fmt.Sprintf(`storage "raft" {
  path    = %q
  node_id = %q
  performance_multiplier = 1
}
listener "tcp" {
  address         = "127.0.0.1:%d"
  cluster_address = "127.0.0.1:%d"
  tls_disable     = true
}
api_addr      = "http://127.0.0.1:%d"
cluster_addr  = "https://127.0.0.1:%d"
disable_mlock = true
`, filepath.Join(dir, id), id, api, cluster, api, cluster))
	return cfg, fmt.Sprintf("http://127.0.0.1:%d", api)
}

// waitActive polls `status` until the node is unsealed and active.
func waitActive(t *testing.T, r *realCLI) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res := r.run("", "status")
		if res.code == 0 && regexp.MustCompile(`(?m)^HA Mode\s+active$`).MatchString(res.stdout) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node not active:\n%s%s", res.stdout, res.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func strs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// TestCLIAgainstRealServer runs every command that talks to the server,
// with the built binary, against real server processes (two raft nodes).
func TestCLIAgainstRealServer(t *testing.T) {
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg1, addr1 := raftServerConfig(t, dir, "n1")
	cfg2, addr2 := raftServerConfig(t, dir, "n2")
	sb := &realCLI{
		binRunner: &binRunner{t: t, bin: bin, env: cleanEnv(map[string]string{"HOME": home, "VAULT_ADDR": addr1})},
		root:      newRootCommand(&app{}), ran: map[string]bool{},
	}
	startServer(t, sb.binRunner, cfg1)
	sb.waitReady()

	// Unknown command: 127, as Vault.
	sb.run("", "frobnicate").want(t, 127)

	// Init with PGP keys: the shares and root token come back encrypted.
	sb.do("", 2, "status")
	sb.do("", 2, "operator", "init", "-status")
	var pubFiles []string
	var privs []*pgp.PrivateKey
	for i := range 4 {
		pub, priv, err := pgp.NewKeyPair(fmt.Sprintf("op%d", i))
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, fmt.Sprintf("op%d.pub", i))
		writeFile(t, f, pub)
		pubFiles, privs = append(pubFiles, f), append(privs, priv)
	}
	init := jsonOut(t, sb.do("", 0, "operator", "init", "-key-shares=3", "-key-threshold=2",
		"-pgp-keys="+strings.Join(pubFiles[:3], ","), "-root-token-pgp-key="+pubFiles[3], "-format=json").stdout)
	var keys []string
	for i, enc := range strs(init["unseal_keys_b64"]) {
		plain, err := privs[i].DecryptBase64(enc)
		if err != nil {
			t.Fatalf("decrypt share %d: %v", i+1, err)
		}
		keys = append(keys, string(plain))
	}
	rootB, err := privs[3].DecryptBase64(init["root_token"].(string))
	if err != nil || len(keys) != 3 {
		t.Fatalf("decrypt root token: %v (keys %d)", err, len(keys))
	}
	root := string(rootB)
	sb.do("", 0, "operator", "unseal", keys[0])
	sb.do(keys[1]+"\n", 0, "operator", "unseal")
	waitActive(t, sb)
	sb.do(root+"\n", 0, "login", "-")

	// Secrets engines and KV.
	sb.do("", 0, "secrets", "enable", "-path=secret", "kv-v2")
	sb.do("", 0, "secrets", "enable", "-path=tmp", "-version=1", "kv")
	sb.do("", 0, "secrets", "tune", "-default-lease-ttl=1h", "-max-lease-ttl=2h", "secret")
	sb.do("", 0, "secrets", "move", "tmp", "tmp2")
	if res := sb.do("", 0, "secrets", "list"); !strings.Contains(res.stdout, "tmp2/") || strings.Contains(res.stdout, "tmp/ ") {
		t.Errorf("secrets list after move:\n%s", res.stdout)
	}
	sb.do("", 0, "secrets", "disable", "tmp2")
	sb.do("", 0, "kv", "put", "secret/app", "user=a", "pass=1")
	sb.do("", 0, "kv", "patch", "secret/app", "pass=2")
	if res := sb.do("", 0, "kv", "get", "-field=pass", "secret/app"); res.stdout != "2" {
		t.Errorf("kv get after patch: %q", res.stdout)
	}
	if res := sb.do("", 0, "kv", "list", "secret/"); !strings.Contains(res.stdout, "app") {
		t.Errorf("kv list:\n%s", res.stdout)
	}
	sb.do("", 0, "kv", "delete", "secret/app")
	if res := sb.do("", 0, "kv", "get", "secret/app"); strings.Contains(res.stdout, "pass") {
		t.Errorf("kv get of a deleted version shows data:\n%s", res.stdout)
	}
	sb.do("", 0, "kv", "undelete", "-versions=2", "secret/app")
	sb.do("", 0, "kv", "rollback", "-version=1", "secret/app")
	if res := sb.do("", 0, "kv", "get", "-field=pass", "secret/app"); res.stdout != "1" {
		t.Errorf("kv get after rollback: %q", res.stdout)
	}
	sb.do("", 0, "kv", "destroy", "-versions=1", "secret/app")
	sb.do("", 0, "kv", "metadata", "put", "-max-versions=5", "secret/app")
	if res := sb.do("", 0, "kv", "metadata", "get", "secret/app"); !regexp.MustCompile(`(?m)^max_versions\s+5$`).MatchString(res.stdout) {
		t.Errorf("kv metadata get:\n%s", res.stdout)
	}
	sb.do("", 0, "kv", "metadata", "delete", "secret/app")
	sb.do("", 2, "kv", "get", "secret/app")

	// Generic commands.
	sb.do(`{"data": {"k": "v"}}`, 0, "write", "secret/data/gen", "-")
	sb.do(`{"data": {"k2": "v2"}}`, 0, "patch", "secret/data/gen", "-")
	if res := sb.do("", 0, "read", "-format=json", "secret/data/gen"); !strings.Contains(res.stdout, `"k2": "v2"`) || !strings.Contains(res.stdout, `"k": "v"`) {
		t.Errorf("read after patch:\n%s", res.stdout)
	}
	if res := sb.do("", 0, "list", "secret/metadata"); !strings.Contains(res.stdout, "gen") {
		t.Errorf("list:\n%s", res.stdout)
	}
	sb.do("", 0, "delete", "secret/data/gen")

	// Policies.
	polFile := filepath.Join(dir, "reader.hcl")
	writeFile(t, polFile, `path "secret/*" { capabilities = ["read", "list"] }`+"\n")
	sb.do("", 0, "policy", "write", "reader", polFile)
	if res := sb.do("", 0, "policy", "list"); !strings.Contains(res.stdout, "reader") {
		t.Errorf("policy list:\n%s", res.stdout)
	}
	if res := sb.do("", 0, "policy", "read", "reader"); !strings.Contains(res.stdout, `path "secret/*"`) {
		t.Errorf("policy read:\n%s", res.stdout)
	}

	// Tokens: every revoke mode.
	newToken := func(args ...string) (tok, acc string) {
		t.Helper()
		out := jsonOut(t, sb.do("", 0, append([]string{"token", "create", "-format=json"}, args...)...).stdout)
		auth := out["auth"].(map[string]any)
		return auth["client_token"].(string), auth["accessor"].(string)
	}
	alive := func(tok string) bool {
		return sb.as(addr1, tok).run("", "token", "lookup").code == 0
	}
	tok, acc := newToken("-policy=reader", "-ttl=1h")
	sb.do("", 0, "token", "lookup", tok)
	sb.do("", 0, "token", "lookup", "-accessor", acc)
	if res := sb.do("", 0, "token", "capabilities", tok, "secret/data/x"); strings.TrimSpace(res.stdout) != "list, read" {
		t.Errorf("token capabilities: %q", res.stdout)
	}
	sb.do("", 0, "token", "renew", tok)
	sb.do("", 0, "token", "revoke", tok)
	_, acc2 := newToken("-policy=reader")
	sb.do("", 0, "token", "revoke", "-accessor", acc2)
	parent, _ := newToken("-policy=reader")
	sb.do("", 0, "token", "revoke", "-mode=orphan", parent)
	byPath, _ := newToken("-policy=reader")
	sb.do("", 0, "token", "revoke", "-mode=path", "auth/token/create")
	if alive(byPath) || alive(tok) || alive(parent) {
		t.Error("a revoked token still works")
	}
	self, _ := newToken("-policy=default")
	sb.as(addr1, self).do("", 0, "token", "revoke", "-self")
	if alive(self) {
		t.Error("token revoke -self left the token alive")
	}
	// A token role: token create -role gets the role's policies and
	// creation path; revoke -mode=path on that path revokes it.
	sb.do("", 0, "write", "auth/token/roles/ci", "allowed_policies=reader", "orphan=true", "path_suffix=v1")
	out := jsonOut(t, sb.do("", 0, "token", "create", "-role=ci", "-format=json").stdout)
	roleAuth := out["auth"].(map[string]any)
	roleTok := roleAuth["client_token"].(string)
	if !slices.Equal(strs(roleAuth["policies"]), []string{"default", "reader"}) || roleAuth["orphan"] != true {
		t.Errorf("token create -role=ci: %v", roleAuth)
	}
	if res := sb.do("", 0, "token", "lookup", "-format=json", roleTok); !strings.Contains(res.stdout, `"auth/token/create/ci/v1"`) {
		t.Errorf("token lookup of a role token:\n%s", res.stdout)
	}
	if res := sb.do("", 2, "token", "create", "-role=ci", "-policy=root"); !strings.Contains(res.stderr, "Code: 400") {
		t.Errorf("token create -role=ci -policy=root: %q", res.stderr)
	}
	sb.do("", 0, "token", "revoke", "-mode=path", "auth/token/create/ci")
	if alive(roleTok) {
		t.Error("revoke -mode=path auth/token/create/ci left the role's token alive")
	}
	sb.do("", 0, "policy", "delete", "reader")

	// Leases and response wrapping.
	leaseAndWrapCases(t, sb, addr1)
	batchCLI(t, sb, addr1)

	// Audit devices and auth methods (a type the server does not build is
	// refused with its reason).
	sb.do("", 0, "audit", "enable", "file", "file_path="+filepath.Join(dir, "audit.log"))
	sb.do("", 0, "audit", "list")
	sb.do("", 0, "audit", "verify", "-device=file/", filepath.Join(dir, "audit.log"))
	sb.do("", 0, "audit", "disable", "file")
	sb.do("", 0, "auth", "list")
	sb.do("", 0, "auth", "tune", "-default-lease-ttl=1h", "token/")
	if res := sb.do("", 2, "auth", "enable", "github"); !strings.Contains(res.stderr, "plugin not found in the catalog: github") {
		t.Errorf("auth enable github: %q", res.stderr)
	}
	userpassCLI(t, sb, addr1)
	approleCLI(t, sb, addr1)
	ldapCLI(t, sb, addr1)
	if res := sb.do("", 2, "auth", "disable", "token"); !strings.Contains(res.stderr, "Error disabling auth method at token/") {
		t.Errorf("auth disable token: %q", res.stderr)
	}

	// Key operations.
	sb.do("", 0, "operator", "key-status")
	sb.do("", 0, "operator", "rotate")
	otp := strings.TrimSpace(sb.do("", 0, "operator", "generate-root", "-generate-otp").stdout)
	gen := jsonOut(t, sb.do("", 0, "operator", "generate-root", "-init", "-otp="+otp, "-format=json").stdout)
	nonce, _ := gen["nonce"].(string)
	sb.do("", 0, "operator", "generate-root", "-status")
	sb.do("", 0, "operator", "generate-root", "-nonce="+nonce, keys[0])
	done := jsonOut(t, sb.do("", 0, "operator", "generate-root", "-nonce="+nonce, "-format=json", keys[1]).stdout)
	encoded, _ := done["encoded_token"].(string)
	if encoded == "" {
		encoded, _ = done["encoded_root_token"].(string)
	}
	newRoot := strings.TrimSpace(sb.do("", 0, "operator", "generate-root", "-decode="+encoded, "-otp="+otp).stdout)
	if !alive(newRoot) {
		t.Fatalf("generated root token does not work: %q", newRoot)
	}
	sb.do("", 0, "operator", "generate-root", "-init", "-generate-otp")
	sb.do("", 0, "operator", "generate-root", "-cancel")
	rk := jsonOut(t, sb.do("", 0, "operator", "rekey", "-init", "-key-shares=3", "-key-threshold=2", "-format=json").stdout)
	rnonce, _ := rk["nonce"].(string)
	sb.do("", 0, "operator", "rekey", "-status")
	sb.do("", 0, "operator", "rekey", "-nonce="+rnonce, keys[0])
	rekeyed := jsonOut(t, sb.do("", 0, "operator", "rekey", "-nonce="+rnonce, "-format=json", keys[2]).stdout)
	keys = strs(rekeyed["keys_base64"])
	if len(keys) != 3 {
		t.Fatalf("rekey output: %v", rekeyed)
	}
	rk = jsonOut(t, sb.do("", 0, "operator", "rekey", "-init", "-format=json").stdout)
	sb.do("", 2, "operator", "rekey", "-cancel")
	sb.do("", 0, "operator", "rekey", "-cancel", "-nonce="+rk["nonce"].(string))

	// Raft: a second node joins, is listed, and is removed.
	startServer(t, sb.binRunner, cfg2)
	n2 := sb.as(addr2, "")
	n2.waitReady()
	n2.do("", 0, "operator", "raft", "join", "-leader-allow-http", addr1)
	n2.do("", 0, "operator", "unseal", keys[0])
	n2.do("", 0, "operator", "unseal", keys[1])
	deadline := time.Now().Add(60 * time.Second)
	for {
		res := sb.do("", 0, "operator", "raft", "list-peers")
		if strings.Contains(res.stdout, "n2") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("n2 never listed:\n%s", res.stdout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	leaseAndWrapOnStandby(t, sb, n2, addr1)
	sb.do("", 0, "operator", "raft", "autopilot", "state")
	sb.do("", 0, "operator", "raft", "autopilot", "get-config")
	sb.do("", 0, "operator", "raft", "autopilot", "set-config", "-cleanup-dead-servers=false")
	sb.do("", 0, "operator", "raft", "remove-peer", "n2")
	if res := sb.do("", 0, "operator", "raft", "list-peers"); strings.Contains(res.stdout, "n2") {
		t.Errorf("n2 still listed after remove-peer:\n%s", res.stdout)
	}

	// Snapshots.
	sb.do("", 0, "kv", "put", "secret/snap", "v=saved")
	snap := filepath.Join(dir, "raft.snap")
	sb.do("", 0, "operator", "raft", "snapshot", "save", snap)
	sb.do("", 0, "kv", "put", "secret/snap", "v=changed")
	sb.do("", 0, "operator", "raft", "snapshot", "restore", snap)
	waitActive(t, sb)
	deadline = time.Now().Add(30 * time.Second)
	for sb.run("", "kv", "get", "-field=v", "secret/snap").stdout != "saved" {
		if time.Now().After(deadline) {
			t.Fatal("snapshot restore did not bring back the saved value")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Step down (a one-voter cluster leads again), seal, unseal with the
	// rekeyed shares.
	sb.do("", 0, "operator", "step-down")
	waitActive(t, sb)
	sb.do("", 0, "operator", "seal")
	sb.do("", 2, "status")
	sb.do("", 0, "operator", "unseal", keys[1])
	sb.do("", 0, "operator", "unseal", keys[2])
	waitActive(t, sb)
	if res := sb.do("", 0, "kv", "get", "-field=v", "secret/snap"); res.stdout != "saved" {
		t.Errorf("after unseal: %q", res.stdout)
	}

	var missing []string
	for _, name := range realServerCommands {
		if !sb.ran[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("listed in realServerCommands but never run against the real server: %v", missing)
	}
}

// approleCLI: enable approle, write a role, read its role ID, generate a
// secret ID, log in with `write auth/approle/login role_id=… secret_id=…`
// (Vault's documented way) and with `login -method=approle`; a wrong
// secret ID is refused with Vault's message.
func approleCLI(t *testing.T, sb *realCLI, addr string) {
	t.Helper()
	sb.do("", 0, "auth", "enable", "approle")
	sb.do("", 0, "write", "auth/approle/role/ci", "token_policies=default", "token_ttl=15m", "secret_id_num_uses=5")
	roleID := strings.TrimSpace(sb.do("", 0, "read", "-field=role_id", "auth/approle/role/ci/role-id").stdout)
	secretID := strings.TrimSpace(sb.do("", 0, "write", "-f", "-field=secret_id", "auth/approle/role/ci/secret-id").stdout)
	if roleID == "" || secretID == "" {
		t.Fatalf("role id %q secret id %q", roleID, secretID)
	}
	login := jsonOut(t, sb.do("", 0, "write", "-format=json", "auth/approle/login", "role_id="+roleID, "secret_id="+secretID).stdout)
	auth, _ := login["auth"].(map[string]any)
	tok, _ := auth["client_token"].(string)
	if tok == "" || auth["lease_duration"] != float64(900) {
		t.Fatalf("write auth/approle/login: %v", login)
	}
	look := jsonOut(t, sb.as(addr, tok).do("", 0, "token", "lookup", "-format=json").stdout)
	data, _ := look["data"].(map[string]any)
	if data["display_name"] != "approle" || data["path"] != "auth/approle/login" {
		t.Errorf("token lookup of an approle login: %v", data)
	}
	res := sb.do("", 0, "login", "-method=approle", "-token-only", "role_id="+roleID, "secret_id="+secretID)
	if !strings.HasPrefix(res.stdout, "hvs.") {
		t.Errorf("login -method=approle: %q %q", res.stdout, res.stderr)
	}
	res = sb.do("", 2, "write", "auth/approle/login", "role_id="+roleID, "secret_id=wrong")
	if !strings.Contains(res.stderr, "invalid role or secret ID") || !strings.Contains(res.stderr, "Code: 400") {
		t.Errorf("wrong secret id: %q", res.stderr)
	}
	sb.do("", 0, "auth", "disable", "approle/")
}

// userpassCLI: enable userpass, create a user, log in with -method=userpass
// (password as an argument, then read from stdin), through `write
// auth/userpass/login/...`, and a wrong password; `auth help` by type and
// by path.
func userpassCLI(t *testing.T, sb *realCLI, addr string) {
	t.Helper()
	sb.do("", 0, "auth", "enable", "-path=people", "userpass")
	sb.do("", 0, "auth", "tune", "-default-lease-ttl=30m", "-user-lockout-threshold=7", "-user-lockout-duration=20m",
		"-user-lockout-counter-reset-duration=5m", "people/")
	tuned := jsonOut(t, sb.do("", 0, "read", "-format=json", "sys/auth/people/tune").stdout)
	if td, _ := tuned["data"].(map[string]any); td["user_lockout_threshold"] != float64(7) || td["user_lockout_duration"] != float64(1200) ||
		td["user_lockout_counter_reset_duration"] != float64(300) || td["user_lockout_disable"] != false {
		t.Errorf("auth tune -user-lockout-*: %v", td)
	}
	sb.do("", 0, "write", "auth/people/users/alice", "password=alice-pw", "token_policies=default", "token_ttl=20m")
	login := jsonOut(t, sb.do("", 0, "login", "-method=userpass", "-path=people", "-no-store", "-format=json", "username=alice", "password=alice-pw").stdout)
	auth, _ := login["auth"].(map[string]any)
	tok, _ := auth["client_token"].(string)
	if tok == "" || auth["lease_duration"] != float64(1200) {
		t.Fatalf("login -method=userpass: %v", login)
	}
	look := jsonOut(t, sb.as(addr, tok).do("", 0, "token", "lookup", "-format=json").stdout)
	data, _ := look["data"].(map[string]any)
	if data["display_name"] != "people-alice" || data["path"] != "auth/people/login/alice" {
		t.Errorf("token lookup of a userpass login: %v", data)
	}
	// Not a terminal: the password is read from stdin.
	res := sb.do("alice-pw\n", 0, "login", "-method=userpass", "-path=people", "-token-only", "username=alice")
	if !strings.HasPrefix(res.stdout, "hvs.") {
		t.Errorf("login with the password on stdin: %q %q", res.stdout, res.stderr)
	}
	res = sb.do("", 0, "write", "-format=json", "auth/people/login/alice", "password=alice-pw")
	if w := jsonOut(t, res.stdout); w["auth"] == nil {
		t.Errorf("write auth/people/login/alice: %v", w)
	}
	res = sb.do("", 2, "login", "-method=userpass", "-path=people", "username=alice", "password=nope")
	if !strings.Contains(res.stderr, "invalid username or password") || !strings.Contains(res.stderr, "Code: 400") {
		t.Errorf("wrong password: %q", res.stderr)
	}
	if res := sb.do("", 0, "auth", "help", "people/"); !strings.Contains(res.stdout, "login -method=userpass") {
		t.Errorf("auth help people/: %q", res.stdout)
	}
	if res := sb.do("", 1, "auth", "help", "nowhere/"); !strings.Contains(res.stderr, `No auth method available on the server at "nowhere/"`) {
		t.Errorf("auth help nowhere/: %q", res.stderr)
	}
	sb.do("", 0, "auth", "disable", "people/")
}

// ldapCLI: enable ldap against a private slapd, configure it and map a
// group with `write`, log in with -method=ldap (password as an argument,
// then read from stdin), and a wrong password.
func ldapCLI(t *testing.T, sb *realCLI, addr string) {
	t.Helper()
	slapd, err := ldaptest.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer slapd.Stop()
	sb.do("", 0, "auth", "enable", "-path=corp", "ldap")
	sb.do("", 0, "write", "auth/corp/config", "url="+slapd.URL, "userdn="+ldaptest.UsersDN, "userattr=uid",
		"groupdn="+ldaptest.GroupsDN, "binddn="+ldaptest.ReaderDN, "bindpass="+ldaptest.ReaderPW,
		"starttls=true", "certificate="+slapd.CACert)
	if res := sb.do("", 0, "read", "-format=json", "auth/corp/config"); strings.Contains(res.stdout, ldaptest.ReaderPW) || !strings.Contains(res.stdout, ldaptest.ReaderDN) {
		t.Errorf("read auth/corp/config:\n%s", res.stdout)
	}
	sb.do("", 0, "write", "auth/corp/groups/devs", "policies=dev")
	login := jsonOut(t, sb.do("", 0, "login", "-method=ldap", "-path=corp", "-no-store", "-format=json", "username=alice", "password=alice-pw").stdout)
	auth, _ := login["auth"].(map[string]any)
	tok, _ := auth["client_token"].(string)
	if tok == "" || !slices.Equal(strs(auth["policies"]), []string{"default", "dev"}) {
		t.Fatalf("login -method=ldap: %v", login)
	}
	look := jsonOut(t, sb.as(addr, tok).do("", 0, "token", "lookup", "-format=json").stdout)
	data, _ := look["data"].(map[string]any)
	if data["display_name"] != "corp-alice" || data["path"] != "auth/corp/login/alice" {
		t.Errorf("token lookup of an ldap login: %v", data)
	}
	// Not a terminal: the password is read from stdin.
	res := sb.do("alice-pw\n", 0, "login", "-method=ldap", "-path=corp", "-token-only", "username=alice")
	if !strings.HasPrefix(res.stdout, "hvs.") {
		t.Errorf("ldap login with the password on stdin: %q %q", res.stdout, res.stderr)
	}
	res = sb.do("", 2, "login", "-method=ldap", "-path=corp", "username=alice", "password=nope")
	if !strings.Contains(res.stderr, "ldap operation failed: failed to bind as user") || !strings.Contains(res.stderr, "Code: 400") {
		t.Errorf("ldap wrong password: %q", res.stderr)
	}
	sb.do("", 0, "auth", "disable", "corp/")
}
