package server

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/pgp"
	"github.com/strongbox/strongbox/internal/seal/sealtest"
)

// autoNode is one server of an auto-unseal test: its config directory
// (storage survives restarts) and the log of every run.
type autoNode struct {
	t    *testing.T
	dir  string
	seal string // the seal stanza
	logs *lockedBuffer
	srv  *testServer
	// now, when set, is the server's clock (see Options.Now).
	now func() time.Time
}

func newAutoNode(t *testing.T, sealHCL string) *autoNode {
	return &autoNode{t: t, dir: t.TempDir(), seal: sealHCL, logs: &lockedBuffer{}}
}

// start runs the server (again) over the same storage.
func (n *autoNode) start() *vault.Client {
	n.t.Helper()
	logger := slog.New(slog.NewTextHandler(n.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n.srv = startServer(n.t, Options{ConfigPaths: []string{fileConfig(n.t, n.dir, n.seal)}, Logger: logger, Now: n.now})
	return n.srv.client("")
}

func (n *autoNode) stop() { n.srv.stop() }

// waitSealStatus polls seal-status until sealed is as wanted.
func waitSealStatus(t *testing.T, c *vault.Client, sealed bool, within time.Duration) *vault.SealStatusResponse {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, err := c.Sys().SealStatus()
		if err == nil && st.Sealed == sealed {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("seal-status did not reach sealed=%v within %v: %+v %v", sealed, within, st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLog polls the log for a line containing every part.
func waitLog(t *testing.T, logs *lockedBuffer, within time.Duration, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !containsAll(logs.String(), parts...) {
		if time.Now().After(deadline) {
			t.Fatalf("the log never said %q:\n%s", parts, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// noSecretsInLog fails when the log shows any of the secrets.
func noSecretsInLog(t *testing.T, logs *lockedBuffer, secrets ...string) {
	t.Helper()
	out := logs.String()
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("the log shows a secret (%.6s…)", s)
		}
	}
}

// generateRoot runs sys/generate-root with shares and returns the token.
func generateRoot(t *testing.T, c *vault.Client, shares []string) (string, error) {
	t.Helper()
	st, err := c.Sys().GenerateRootInit("", "")
	if err != nil {
		t.Fatalf("generate-root init: %v", err)
	}
	var res *vault.GenerateRootStatusResponse
	for _, s := range shares {
		if res, err = c.Sys().GenerateRootUpdate(s, st.Nonce); err != nil {
			_ = c.Sys().GenerateRootCancel()
			return "", err
		}
	}
	if !res.Complete {
		t.Fatalf("generate-root incomplete after %d shares: %+v", len(shares), res)
	}
	return pgp.DecodeToken(res.EncodedToken, st.OTP)
}

func lookupSelfWorks(t *testing.T, srv *testServer, token string) bool {
	t.Helper()
	_, err := srv.client(token).Auth().Token().LookupSelf()
	return err == nil
}

func TestAutoUnsealPKCS11(t *testing.T) {
	hsm := sealtest.StartSoftHSM(t, "strongbox-seal")
	sealHCL := func(pin string) string {
		return fmt.Sprintf(`seal "pkcs11" {
  lib          = %q
  slot         = %q
  pin          = %q
  key_label    = "strongbox-root"
  generate_key = "true"
}`, hsm.Lib, hsm.SlotString(), pin)
	}
	n := newAutoNode(t, sealHCL(hsm.PIN))
	c := n.start()
	st, err := c.Sys().SealStatus()
	if err != nil || st.Type != "pkcs11" || !st.RecoverySeal || st.Initialized || !st.Sealed {
		t.Fatalf("seal-status before init %+v %v", st, err)
	}
	_, err = c.Sys().Init(&vault.InitRequest{SecretShares: 5, SecretThreshold: 3})
	if err == nil || !strings.Contains(err.Error(), "parameters secret_shares,secret_threshold not applicable to seal type pkcs11") {
		t.Fatalf("init with unseal key shares: %v", err)
	}
	init, err := c.Sys().Init(&vault.InitRequest{RecoveryShares: 5, RecoveryThreshold: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(init.Keys) != 0 || len(init.RecoveryKeys) != 5 || len(init.RecoveryKeysB64) != 5 || init.RootToken == "" {
		t.Fatalf("init response %+v", init)
	}
	recovery := init.RecoveryKeysB64
	st = waitSealStatus(t, c, false, 5*time.Second)
	if st.T != 3 || st.N != 5 || st.RecoverySealType != "shamir" || st.Type != "pkcs11" {
		t.Fatalf("seal-status after init %+v", st)
	}
	root := n.srv.client(init.RootToken)
	if err := root.Sys().Mount("kv", &vault.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("kv/app", map[string]any{"password": "hunter2"}); err != nil {
		t.Fatal(err)
	}

	// A restart needs no key: the HSM unwraps the root key.
	n.stop()
	c = n.start()
	waitSealStatus(t, c, false, 15*time.Second)
	root = n.srv.client(init.RootToken)
	if s, err := root.Logical().Read("kv/app"); err != nil || s == nil || s.Data["password"] != "hunter2" {
		t.Fatalf("secret after restart: %+v %v", s, err)
	}

	// Recovery keys authorize generate-root.
	tok, err := generateRoot(t, c, recovery[:3])
	if err != nil || !lookupSelfWorks(t, n.srv, tok) {
		t.Fatalf("generate-root with recovery keys: %v", err)
	}

	// Rekey the recovery key 5/3 → 7/4.
	rst, err := c.Sys().RekeyRecoveryKeyInit(&vault.RekeyInitRequest{SecretShares: 7, SecretThreshold: 4})
	if err != nil || rst.Required != 3 || rst.T != 4 || rst.N != 7 {
		t.Fatalf("rekey-recovery-key init %+v %v", rst, err)
	}
	var upd *vault.RekeyUpdateResponse
	for _, k := range recovery[2:5] {
		if upd, err = c.Sys().RekeyRecoveryKeyUpdate(k, rst.Nonce); err != nil {
			t.Fatal(err)
		}
	}
	if upd == nil || !upd.Complete || len(upd.KeysB64) != 7 {
		t.Fatalf("rekey-recovery-key result %+v", upd)
	}
	newRecovery := upd.KeysB64
	if st, _ := c.Sys().SealStatus(); st.T != 4 || st.N != 7 {
		t.Fatalf("seal-status after recovery rekey %d/%d", st.T, st.N)
	}
	if _, err := generateRoot(t, c, recovery[:4]); err == nil || !strings.Contains(err.Error(), "not a quorum of the current recovery keys") {
		t.Fatalf("generate-root with the old recovery keys: %v", err)
	}
	tok, err = generateRoot(t, c, newRecovery[3:])
	if err != nil || !lookupSelfWorks(t, n.srv, tok) {
		t.Fatalf("generate-root with the new recovery keys: %v", err)
	}

	// sys/rekey under an auto seal: recovery keys authorize, the seal
	// re-wraps the root key, no shares come back.
	bst, err := c.Sys().RekeyInit(&vault.RekeyInitRequest{})
	if err != nil || bst.T != 1 || bst.N != 1 || bst.Required != 4 {
		t.Fatalf("barrier rekey init %+v %v", bst, err)
	}
	for _, k := range newRecovery[:4] {
		if upd, err = c.Sys().RekeyUpdate(k, bst.Nonce); err != nil {
			t.Fatal(err)
		}
	}
	if !upd.Complete || len(upd.Keys) != 0 {
		t.Fatalf("barrier rekey result %+v", upd)
	}

	// Sealed by hand, the node unseals with a quorum of the current
	// recovery keys (the HSM decrypting the root key); the old keys are
	// refused and leave it sealed. A restart still unseals through the HSM.
	if err := root.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	waitSealStatus(t, c, true, 5*time.Second)
	for i, k := range recovery[:4] {
		_, uerr := c.Sys().Unseal(k)
		if i < 3 && uerr != nil {
			t.Fatalf("old recovery share %d: %v", i+1, uerr)
		}
		if i == 3 && (uerr == nil || !strings.Contains(uerr.Error(), "Code: 400") || !strings.Contains(uerr.Error(), "not a quorum of the current recovery keys")) {
			t.Fatalf("unseal with the old recovery keys: %v", uerr)
		}
	}
	if st, _ := c.Sys().SealStatus(); !st.Sealed || st.Progress != 0 {
		t.Fatalf("after refused recovery keys %+v", st)
	}
	unseal(t, c, newRecovery[:4])
	if s, err := root.Logical().Read("kv/app"); err != nil || s.Data["password"] != "hunter2" {
		t.Fatalf("secret after the recovery-key unseal: %+v %v", s, err)
	}
	if err := root.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	n.stop()
	c = n.start()
	root = n.srv.client(init.RootToken)
	waitSealStatus(t, c, false, 15*time.Second)
	if s, err := root.Logical().Read("kv/app"); err != nil || s.Data["password"] != "hunter2" {
		t.Fatalf("secret after the restart: %+v %v", s, err)
	}

	// A wrong PIN: the server starts, stays sealed, and says why.
	n.stop()
	n.seal = sealHCL("0000-wrong")
	c = n.start()
	waitLog(t, n.logs, 15*time.Second, "refused this server's credentials", "the PIN is wrong")
	if st, err := c.Sys().SealStatus(); err != nil || !st.Sealed || !st.Initialized || st.Type != "pkcs11" {
		t.Fatalf("seal-status with a wrong PIN %+v %v", st, err)
	}
	n.stop()

	secrets := append(append([]string{hsm.PIN, init.RootToken}, recovery...), newRecovery...)
	for _, k := range append(append([]string{}, recovery...), newRecovery...) {
		raw, _ := base64.StdEncoding.DecodeString(k)
		secrets = append(secrets, fmt.Sprintf("%x", raw))
	}
	noSecretsInLog(t, n.logs, secrets...)
}

// kmsEmulator is a local-kms process the test can kill and start again on
// the same port and data directory.
type kmsEmulator struct {
	t    *testing.T
	bin  string
	data string
	port string
	cmd  *exec.Cmd
	done chan struct{}
}

func newKMSEmulator(t *testing.T) *kmsEmulator {
	k := &kmsEmulator{t: t, bin: sealtest.LocalKMSBinary(t), data: filepath.Join(t.TempDir(), "kms"), port: "0"}
	k.start()
	t.Cleanup(k.stop)
	return k
}

func (k *kmsEmulator) endpoint() string { return "http://127.0.0.1:" + k.port }

func (k *kmsEmulator) start() {
	k.t.Helper()
	cmd := exec.Command(k.bin)
	cmd.Env = append(os.Environ(), "KMS_DATA_PATH="+k.data, "KMS_REGION="+sealtest.LocalKMSRegion,
		"KMS_ACCOUNT_ID="+sealtest.LocalKMSAccountID, "PORT="+k.port)
	out, err := cmd.StdoutPipe()
	if err != nil {
		k.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		k.t.Fatalf("start local-kms: %v", err)
	}
	k.cmd, k.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(k.done)
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addr <- a
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case a := <-addr:
		k.port = a[strings.LastIndex(a, ":")+1:]
	case <-k.done:
		k.t.Fatal("local-kms exited before listening")
	case <-time.After(30 * time.Second):
		k.t.Fatal("local-kms did not listen within 30s")
	}
}

func (k *kmsEmulator) stop() {
	if k.cmd == nil {
		return
	}
	_ = k.cmd.Process.Kill()
	<-k.done
	k.cmd = nil
}

func TestAutoUnsealAWSKMS(t *testing.T) {
	kms := newKMSEmulator(t)
	keyID, _ := (&sealtest.LocalKMS{Endpoint: kms.endpoint()}).CreateKey(t)
	n := newAutoNode(t, fmt.Sprintf(`seal "awskms" {
  region     = %q
  access_key = %q
  secret_key = %q
  kms_key_id = %q
  endpoint   = %q
}`, sealtest.LocalKMSRegion, sealtest.LocalKMSAccessKey, sealtest.LocalKMSSecretKey, keyID, kms.endpoint()))
	c := n.start()

	// Without recovery parameters the server uses Vault's defaults, 5/3.
	status, body := rawCall(t, n.srv, "PUT", "/v1/sys/init", "", []byte(`{}`))
	if status != 200 {
		t.Fatalf("init: %d %v", status, body)
	}
	keys, _ := body["keys"].([]any)
	recovery, _ := body["recovery_keys_base64"].([]any)
	rootToken, _ := body["root_token"].(string)
	if len(keys) != 0 || len(recovery) != 5 || rootToken == "" {
		t.Fatalf("init body %v", body)
	}
	st := waitSealStatus(t, c, false, 5*time.Second)
	if st.Type != "awskms" || st.T != 3 || st.N != 5 || !st.RecoverySeal {
		t.Fatalf("seal-status %+v", st)
	}
	if err := n.srv.client(rootToken).Sys().Mount("kv", &vault.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.srv.client(rootToken).Logical().Write("kv/db", map[string]any{"user": "app"}); err != nil {
		t.Fatal(err)
	}

	n.stop()
	c = n.start()
	waitSealStatus(t, c, false, 15*time.Second)

	// KMS down at start: the server serves, sealed, and says why.
	n.stop()
	kms.stop()
	c = n.start()
	waitLog(t, n.logs, 15*time.Second, "auto-unseal failed: the seal's key service is unavailable", "connection refused")
	if st, err := c.Sys().SealStatus(); err != nil || !st.Sealed || !st.Initialized {
		t.Fatalf("seal-status with KMS down %+v %v", st, err)
	}
	// A quorum of recovery keys does not unseal without the key service,
	// and the error says why.
	recoveryUnsealFails(t, c, recovery[:3], "awskms seal's key service could not decrypt the root key", "connection refused")
	// The emulator comes back on the same port and data: the node unseals
	// by itself within the backoff.
	kms.start()
	waitSealStatus(t, c, false, 45*time.Second)
	rc := n.srv.client(rootToken)
	if s, err := rc.Logical().Read("kv/db"); err != nil || s.Data["user"] != "app" {
		t.Fatalf("secret after the KMS came back: %+v %v", s, err)
	}

	// Sealed by hand (the auto-unseal loop is done): recovery keys
	// authorize the unseal and the KMS decrypts the root key; with the
	// KMS stopped they do not unseal.
	if err := rc.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	kms.stop()
	recoveryUnsealFails(t, c, recovery[1:4], "awskms seal's key service could not decrypt the root key", "connection refused")
	kms.start()
	var strs []string
	for _, k := range recovery[2:5] {
		strs = append(strs, k.(string))
	}
	unseal(t, c, strs)
	if s, err := rc.Logical().Read("kv/db"); err != nil || s.Data["user"] != "app" {
		t.Fatalf("secret after the recovery-key unseal: %+v %v", s, err)
	}
	n.stop()

	secrets := []string{sealtest.LocalKMSSecretKey, rootToken}
	for _, k := range recovery {
		secrets = append(secrets, k.(string))
		raw, _ := base64.StdEncoding.DecodeString(k.(string))
		secrets = append(secrets, fmt.Sprintf("%x", raw))
	}
	noSecretsInLog(t, n.logs, secrets...)
}

// recoveryUnsealFails gives a quorum of recovery shares to a sealed node
// whose key service is unreachable: the last one fails with an error
// holding every part, and the node stays sealed with no progress.
func recoveryUnsealFails(t *testing.T, c *vault.Client, shares []any, parts ...string) {
	t.Helper()
	var err error
	for _, k := range shares {
		if _, err = c.Sys().Unseal(k.(string)); err != nil {
			break
		}
	}
	if err == nil || !containsAll(err.Error(), parts...) {
		t.Fatalf("recovery-key unseal with the key service down: %v, want %q", err, parts)
	}
	if st, serr := c.Sys().SealStatus(); serr != nil || !st.Sealed || st.Progress != 0 {
		t.Fatalf("after the failed recovery unseal: %+v %v", st, serr)
	}
}

// freeLocalPorts returns n free ports on 127.0.0.1 (held until all are
// chosen, so they are distinct).
func freeLocalPorts(t *testing.T, n int) []int {
	t.Helper()
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// raftNodeConfig writes a raft node's config with the seal stanza.
func raftNodeConfig(t *testing.T, id string, api, cluster int, joinAPI, sealHCL string) string {
	t.Helper()
	dir := t.TempDir()
	join := ""
	if joinAPI != "" {
		join = fmt.Sprintf("  retry_join {\n    leader_api_addr = %q\n    leader_allow_http = true\n  }\n", joinAPI)
	}
	body := fmt.Sprintf(`storage "raft" {
  path    = %q
  node_id = %q
%s}
listener "tcp" {
  address         = "127.0.0.1:%d"
  cluster_address = "127.0.0.1:%d"
  tls_disable     = true
}
api_addr      = "http://127.0.0.1:%d"
cluster_addr  = "https://127.0.0.1:%d"
disable_mlock = true
%s
`, filepath.Join(dir, "raft"), id, join, api, cluster, api, cluster, sealHCL)
	p := filepath.Join(dir, "config.hcl")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A node joining a raft cluster under the same auto seal completes the
// join and unseals by itself: its seal unwraps the cluster's root key from
// the join challenge.
func TestAutoSealRaftJoin(t *testing.T) {
	k := sealtest.StartLocalKMS(t)
	keyID, _ := k.CreateKey(t)
	sealHCL := fmt.Sprintf(`seal "awskms" {
  region     = %q
  access_key = %q
  secret_key = %q
  kms_key_id = %q
  endpoint   = %q
}`, sealtest.LocalKMSRegion, sealtest.LocalKMSAccessKey, sealtest.LocalKMSSecretKey, keyID, k.Endpoint)
	ports := freeLocalPorts(t, 4)
	leaderAPI := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	n1 := startServer(t, Options{ConfigPaths: []string{raftNodeConfig(t, "n1", ports[0], ports[1], "", sealHCL)}, Logger: logger})
	c1 := n1.client("")
	init, err := c1.Sys().Init(&vault.InitRequest{RecoveryShares: 3, RecoveryThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitSealStatus(t, c1, false, 10*time.Second)
	root1 := n1.client(init.RootToken)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := root1.Sys().Mount("kv", &vault.MountInput{Type: "kv"}); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the first node never became active: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := root1.Logical().Write("kv/shared", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}

	n2 := startServer(t, Options{ConfigPaths: []string{raftNodeConfig(t, "n2", ports[2], ports[3], leaderAPI, sealHCL)}, Logger: logger})
	c2 := n2.client("")
	waitSealStatus(t, c2, false, 60*time.Second)
	st, err := c2.Sys().SealStatus()
	if err != nil || st.Type != "awskms" || !st.Initialized {
		t.Fatalf("joined node seal-status %+v %v", st, err)
	}
	waitLog(t, logs, 10*time.Second, "raft join completed with the seal")
	// A read through the joined node (a standby forwards it) sees the data.
	s, err := n2.client(init.RootToken).Logical().Read("kv/shared")
	if err != nil || s == nil || s.Data["v"] != "1" {
		t.Fatalf("read through the joined node: %+v %v", s, err)
	}
	n2.stop()
	n1.stop()
	noSecretsInLog(t, logs, append([]string{sealtest.LocalKMSSecretKey, init.RootToken}, init.RecoveryKeysB64...)...)
}
