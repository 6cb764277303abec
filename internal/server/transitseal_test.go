package server

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// keyServer is cluster B of the transit seal tests: a Strongbox on a fixed
// port and file storage, so it can be stopped, restarted sealed, and
// unsealed again, keeping its transit key.
type keyServer struct {
	t         *testing.T
	dir       string
	port      int
	logs      *lockedBuffer
	srv       *testServer
	unsealKey string
	root      string
}

const (
	sealKeyName = "autounseal"
	sealPolicy  = `
path "transit/encrypt/autounseal" { capabilities = ["update"] }
path "transit/decrypt/autounseal" { capabilities = ["update"] }
`
	// denyDecryptPolicy lets the token encrypt but not decrypt: a
	// key service that answers 403 to the unseal.
	denyDecryptPolicy = `
path "transit/encrypt/autounseal" { capabilities = ["update"] }
`
)

// startKeyServer starts B, initializes it (one unseal key), mounts transit
// with the seal's key and its policy.
func startKeyServer(t *testing.T) *keyServer {
	t.Helper()
	b := &keyServer{t: t, dir: t.TempDir(), port: freeLocalPorts(t, 1)[0], logs: &lockedBuffer{}}
	c := b.start()
	res, err := c.Sys().Init(&vault.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	b.unsealKey, b.root = res.Keys[0], res.RootToken
	b.unseal()
	root := b.client(b.root)
	if err := root.Sys().Mount("transit", &vault.MountInput{Type: "transit"}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, root, "transit/keys/"+sealKeyName, map[string]any{})
	b.setPolicy(sealPolicy)
	return b
}

func (b *keyServer) addr() string { return fmt.Sprintf("http://127.0.0.1:%d", b.port) }

// start runs B (again) over its storage; it comes up sealed.
func (b *keyServer) start() *vault.Client {
	b.t.Helper()
	p := filepath.Join(b.dir, "config.hcl")
	body := fmt.Sprintf(`storage "file" {
  path = %q
}
listener "tcp" {
  address     = "127.0.0.1:%d"
  tls_disable = true
}
disable_mlock = true
`, filepath.Join(b.dir, "data"), b.port)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		b.t.Fatal(err)
	}
	b.srv = startServer(b.t, Options{ConfigPaths: []string{p}, Logger: slog.New(slog.NewTextHandler(b.logs, nil))})
	return b.srv.client("")
}

func (b *keyServer) unseal() {
	b.t.Helper()
	unseal(b.t, b.srv.client(""), []string{b.unsealKey})
}

func (b *keyServer) stop() { b.srv.stop() }

func (b *keyServer) client(token string) *vault.Client { return b.srv.client(token) }

func (b *keyServer) setPolicy(rules string) {
	b.t.Helper()
	if err := b.client(b.root).Sys().PutPolicy("autounseal", rules); err != nil {
		b.t.Fatal(err)
	}
}

// sealToken creates a token for the seal with the autounseal policy.
func (b *keyServer) sealToken(ttl string) string {
	b.t.Helper()
	s, err := b.client(b.root).Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"autounseal"}, TTL: ttl})
	if err != nil {
		b.t.Fatal(err)
	}
	return s.Auth.ClientToken
}

func transitSealHCL(addr, token string, extra ...string) string {
	return fmt.Sprintf("seal \"transit\" {\n  address    = %q\n  token      = %q\n  key_name   = %q\n  mount_path = \"transit/\"\n%s}\n",
		addr, token, sealKeyName, strings.Join(extra, ""))
}

// TestTransitSealAutoUnseal: server A is sealed by B's transit key. Init
// gives recovery keys; A restarts and unseals by itself. With B stopped,
// sealed (503), or denying decrypt (403), a restarted A runs sealed, logs
// why, retries at the steady interval and unseals by itself once B works.
func TestTransitSealAutoUnseal(t *testing.T) {
	b := startKeyServer(t)
	token := b.sealToken("1h")
	a := newAutoNode(t, transitSealHCL(b.addr(), token))
	c := a.start()
	st, err := c.Sys().SealStatus()
	if err != nil || st.Type != "transit" || !st.RecoverySeal || st.Initialized || !st.Sealed {
		t.Fatalf("seal-status before init %+v %v", st, err)
	}
	init, err := c.Sys().Init(&vault.InitRequest{RecoveryShares: 5, RecoveryThreshold: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(init.Keys) != 0 || len(init.RecoveryKeysB64) != 5 || init.RootToken == "" {
		t.Fatalf("init response %+v", init)
	}
	recovery := init.RecoveryKeysB64
	st = waitSealStatus(t, c, false, 10*time.Second)
	if st.Type != "transit" || st.T != 3 || st.N != 5 || st.RecoverySealType != "shamir" {
		t.Fatalf("seal-status after init %+v", st)
	}
	root := a.srv.client(init.RootToken)
	if err := root.Sys().Mount("kv", &vault.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("kv/app", map[string]any{"password": "hunter2"}); err != nil {
		t.Fatal(err)
	}
	secretOK := func() {
		t.Helper()
		s, err := a.srv.client(init.RootToken).Logical().Read("kv/app")
		if err != nil || s == nil || s.Data["password"] != "hunter2" {
			t.Fatalf("secret: %+v %v", s, err)
		}
	}

	// A restart unseals through B.
	a.stop()
	c = a.start()
	waitSealStatus(t, c, false, 15*time.Second)
	secretOK()

	// Recovery keys authorize generate-root.
	tok, err := generateRoot(t, c, recovery[1:4])
	if err != nil || !lookupSelfWorks(t, a.srv, tok) {
		t.Fatalf("generate-root with recovery keys: %v", err)
	}

	// B stopped: A starts sealed, says why, and recovery keys cannot
	// unseal it without B.
	a.stop()
	b.stop()
	c = a.start()
	waitLog(t, a.logs, 15*time.Second, "auto-unseal failed: the seal's key service is unavailable", "cannot reach the key service", "connection refused", "retry_in=2s")
	if st, err := c.Sys().SealStatus(); err != nil || !st.Sealed || !st.Initialized || st.Type != "transit" {
		t.Fatalf("seal-status with B down %+v %v", st, err)
	}
	shares := []any{recovery[0], recovery[1], recovery[2]}
	recoveryUnsealFails(t, c, shares, "transit seal's key service could not decrypt the root key", "connection refused")
	// B back, but sealed: A says B is sealed (503) and stays sealed.
	b.start()
	waitLog(t, a.logs, 15*time.Second, "the key service is sealed or unavailable (HTTP 503")
	if st, err := c.Sys().SealStatus(); err != nil || !st.Sealed {
		t.Fatalf("seal-status with B sealed %+v %v", st, err)
	}
	// B unsealed: A unseals by itself (the delay is logged as a figure,
	// not asserted).
	since := time.Now()
	b.unseal()
	waitSealStatus(t, c, false, 15*time.Second)
	t.Logf("A unsealed %v after B (down, then sealed) was unsealed", time.Since(since).Round(10*time.Millisecond))
	waitLog(t, a.logs, 5*time.Second, "unsealed with the seal's stored key")
	secretOK()

	// B sealed at A's start: the same.
	a.stop()
	b.stop()
	b.start()
	c = a.start()
	waitLog(t, a.logs, 15*time.Second, "the key service is sealed or unavailable (HTTP 503")
	if st, err := c.Sys().SealStatus(); err != nil || !st.Sealed {
		t.Fatalf("seal-status with B sealed at start %+v %v", st, err)
	}
	since = time.Now()
	b.unseal()
	waitSealStatus(t, c, false, 15*time.Second)
	t.Logf("A unsealed %v after B (sealed at A's start) was unsealed", time.Since(since).Round(10*time.Millisecond))
	secretOK()

	// B refuses decrypt (403): A starts sealed and says the token was
	// refused; once the policy allows decrypt again, A unseals by itself.
	a.stop()
	b.setPolicy(denyDecryptPolicy)
	c = a.start()
	waitLog(t, a.logs, 15*time.Second, "the key service refused the seal's token (HTTP 403", "permission denied", "retry_in=2s")
	if st, err := c.Sys().SealStatus(); err != nil || !st.Sealed {
		t.Fatalf("seal-status with decrypt denied %+v %v", st, err)
	}
	since = time.Now()
	b.setPolicy(sealPolicy)
	waitSealStatus(t, c, false, 15*time.Second)
	t.Logf("A unsealed %v after B's policy allowed decrypt again", time.Since(since).Round(10*time.Millisecond))
	secretOK()
	a.stop()

	noSecretsInLog(t, a.logs, append([]string{token, init.RootToken, b.root, b.unsealKey}, recovery...)...)
}

// TestTransitSealTokenRenewal: the seal's token has a TTL of a few
// seconds; A renews it in the background (renew-self at half its TTL), so
// after several TTLs it still decrypts: a sealed A unseals with recovery
// keys through B. With disable_renewal the token is left alone.
func TestTransitSealTokenRenewal(t *testing.T) {
	b := startKeyServer(t)
	const ttl = 4 * time.Second
	token := b.sealToken(ttl.String())
	a := newAutoNode(t, transitSealHCL(b.addr(), token))
	c := a.start()
	init, err := c.Sys().Init(&vault.InitRequest{RecoveryShares: 1, RecoveryThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	waitSealStatus(t, c, false, 10*time.Second)
	created := time.Now()
	// Wait until three TTLs have passed and the token was renewed more
	// than once; then it must still be alive on B and work for the seal.
	for time.Since(created) < 3*ttl || strings.Count(a.logs.String(), "transit seal: renewed the token") < 2 {
		if time.Since(created) > 20*ttl {
			t.Fatalf("the token was not renewed:\n%s", a.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	look, err := b.client(b.root).Auth().Token().Lookup(token)
	if err != nil {
		t.Fatalf("the seal's token after %v (TTL %v): %v", time.Since(created), ttl, err)
	}
	if left, _ := look.TokenTTL(); left <= 0 {
		t.Fatalf("the seal's token has no TTL left: %v", look.Data)
	}
	if err := a.srv.client(init.RootToken).Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	unseal(t, c, init.RecoveryKeysB64)
	a.stop()

	// disable_renewal: no renewal; the token expires on B.
	token2 := b.sealToken(ttl.String())
	d := newAutoNode(t, transitSealHCL(b.addr(), token2, "  disable_renewal = \"true\"\n"))
	dc := d.start()
	if _, err := dc.Sys().Init(&vault.InitRequest{RecoveryShares: 1, RecoveryThreshold: 1}); err != nil {
		t.Fatal(err)
	}
	waitSealStatus(t, dc, false, 10*time.Second)
	deadline := time.Now().Add(20 * ttl)
	for {
		_, err := b.client(b.root).Auth().Token().Lookup(token2)
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a token with disable_renewal never expired")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if strings.Contains(d.logs.String(), "transit seal: renewed the token") {
		t.Fatal("disable_renewal = true, yet the token was renewed")
	}
	d.stop()
}

// TestTransitSealMigration migrates A from Shamir to B's transit key, then
// to B2's, then back to Shamir, by Vault's procedure: restart with the new
// stanza (and the old one marked disabled) and unseal with the old keys
// and migrate=true.
func TestTransitSealMigration(t *testing.T) {
	b := startKeyServer(t)
	token := b.sealToken("1h")
	a := newAutoNode(t, "")
	c := a.start()
	keys, rootToken := initUnseal(t, c)
	root := a.srv.client(rootToken)
	if err := root.Sys().Mount("kv", &vault.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("kv/keep", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	secretOK := func() {
		t.Helper()
		s, err := a.srv.client(rootToken).Logical().Read("kv/keep")
		if err != nil || s == nil || s.Data["v"] != "1" {
			t.Fatalf("secret: %+v %v", s, err)
		}
	}
	migrate := func(c *vault.Client, shares []string) *vault.SealStatusResponse {
		t.Helper()
		var st *vault.SealStatusResponse
		var err error
		for _, k := range shares {
			if st, err = c.Sys().UnsealWithOptions(&vault.UnsealOpts{Key: k, Migrate: true}); err != nil {
				t.Fatalf("migrate unseal: %v", err)
			}
		}
		return st
	}

	// Shamir → transit: the transit stanza alone.
	a.stop()
	a.seal = transitSealHCL(b.addr(), token)
	c = a.start()
	st, err := c.Sys().SealStatus()
	if err != nil || !st.Sealed || !st.Migration {
		t.Fatalf("seal-status in migration mode %+v %v", st, err)
	}
	if st = migrate(c, keys[:3]); st.Sealed {
		t.Fatalf("after the migrate unseal %+v", st)
	}
	st, _ = c.Sys().SealStatus()
	if st.Type != "transit" || !st.RecoverySeal || st.Migration || st.T != 3 || st.N != 5 {
		t.Fatalf("seal-status after Shamir → transit %+v", st)
	}
	secretOK()
	// A restart unseals through B; the old unseal keys are recovery keys.
	a.stop()
	c = a.start()
	waitSealStatus(t, c, false, 15*time.Second)
	secretOK()
	if tok, err := generateRoot(t, c, keys[2:5]); err != nil || !lookupSelfWorks(t, a.srv, tok) {
		t.Fatalf("generate-root with the old unseal keys as recovery keys: %v", err)
	}

	// transit → transit: B's stanza marked disabled, B2's enabled; the
	// recovery keys authorize, B decrypts the root key and B2 wraps it.
	b2 := startKeyServer(t)
	token2 := b2.sealToken("1h")
	a.stop()
	a.seal = transitSealHCL(b.addr(), token, "  disabled   = \"true\"\n") + transitSealHCL(b2.addr(), token2)
	c = a.start()
	st, err = c.Sys().SealStatus()
	if err != nil || !st.Sealed || !st.Migration {
		t.Fatalf("seal-status in migration mode (to B2) %+v %v", st, err)
	}
	migrate(c, keys[:3])
	st, _ = c.Sys().SealStatus()
	if st.Sealed || st.Type != "transit" || !st.RecoverySeal || st.Migration {
		t.Fatalf("seal-status after transit → transit %+v", st)
	}
	secretOK()
	// B is no longer needed: A restarts with B2's stanza alone, B stopped.
	a.stop()
	b.stop()
	a.seal = transitSealHCL(b2.addr(), token2)
	c = a.start()
	waitSealStatus(t, c, false, 15*time.Second)
	secretOK()

	// transit → Shamir: B2's stanza marked disabled.
	a.stop()
	a.seal = transitSealHCL(b2.addr(), token2, "  disabled   = \"true\"\n")
	c = a.start()
	st, err = c.Sys().SealStatus()
	if err != nil || !st.Sealed || !st.Migration {
		t.Fatalf("seal-status in migration mode (to Shamir) %+v %v", st, err)
	}
	migrate(c, keys[1:4])
	st, _ = c.Sys().SealStatus()
	if st.Sealed || st.Type != "shamir" || st.RecoverySeal || st.Migration {
		t.Fatalf("seal-status after transit → Shamir %+v", st)
	}
	secretOK()
	// B2 is no longer needed: stopped, A restarts under Shamir and the
	// keys unseal it.
	a.stop()
	b2.stop()
	a.seal = ""
	c = a.start()
	unseal(t, c, keys[:3])
	secretOK()
	a.stop()
}

// A transit stanza Strongbox cannot honour stops the start, naming the
// file and the line of the setting.
func TestTransitSealBadConfig(t *testing.T) {
	cases := []struct {
		name  string
		extra string
		want  string
	}{
		{"missing key_name", "seal \"transit\" {\n  address    = \"http://127.0.0.1:1\"\n  token      = \"t\"\n  mount_path = \"transit/\"\n}\n",
			`config.hcl:10: seal "transit": key_name: is required`},
		{"bad TLS file", "seal \"transit\" {\n  address     = \"https://127.0.0.1:1\"\n  token       = \"t\"\n  key_name    = \"k\"\n  mount_path  = \"transit/\"\n  tls_ca_cert = \"/nonexistent/ca.pem\"\n}\n",
			`config.hcl:15: seal "transit": tls_ca_cert: read "/nonexistent/ca.pem"`},
		{"unknown key", "seal \"transit\" {\n  address    = \"http://127.0.0.1:1\"\n  token      = \"t\"\n  key_name   = \"k\"\n  mount_path = \"transit/\"\n  key_id_prefix = \"x\"\n}\n",
			`config.hcl:15: seal "transit": key_id_prefix: not a setting of the transit seal`},
		{"namespace", "seal \"transit\" {\n  address    = \"http://127.0.0.1:1\"\n  token      = \"t\"\n  key_name   = \"k\"\n  mount_path = \"transit/\"\n  namespace  = \"ns1/\"\n}\n",
			`config.hcl:15: seal "transit": namespace: "ns1/": namespaces are not built into Strongbox yet`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := fileConfig(t, t.TempDir(), tc.extra)
			err := Run(t.Context(), Options{ConfigPaths: []string{p}, Logger: quietLogger()}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run: %v, want %q", err, tc.want)
			}
		})
	}
}
