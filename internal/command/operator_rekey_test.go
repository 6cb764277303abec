package command

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/core"
	"github.com/strongbox/strongbox/internal/core/keyops"
	shttp "github.com/strongbox/strongbox/internal/http"
	"github.com/strongbox/strongbox/internal/pgp"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// keyServer is a real in-process server, initialized with n shares and
// unsealed, for the commands whose point is the server's key handling.
type keyServer struct {
	url    string
	client *api.Client // carries the initial root token
	keys   []string
	root   string
}

func newKeyServer(t *testing.T, n, th int) *keyServer {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := core.New(core.Config{
		Physical: inmem.New(), Logger: logger,
		SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods(),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := shttp.NewHandler(c, shttp.Options{Logger: logger})
	t.Cleanup(h.Close)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := api.DefaultConfig()
	cfg.Address = srv.URL
	client, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	init, err := client.Sys().Init(&api.InitRequest{SecretShares: n, SecretThreshold: th})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range init.KeysB64[:th] {
		if _, err := client.Sys().Unseal(k); err != nil {
			t.Fatal(err)
		}
	}
	client.SetToken(init.RootToken)
	return &keyServer{url: srv.URL, client: client, keys: init.KeysB64, root: init.RootToken}
}

// sealAndUnseal seals the server and reports whether keys unseal it.
func (ks *keyServer) sealAndUnseal(t *testing.T, keys []string) bool {
	t.Helper()
	if st, _ := ks.client.Sys().SealStatus(); !st.Sealed {
		if err := ks.client.Sys().Seal(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ks.client.Sys().ResetUnsealProcess(); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		st, err := ks.client.Sys().Unseal(k)
		if err != nil {
			return false
		}
		if !st.Sealed {
			return true
		}
	}
	return false
}

// field returns the value of a "Name    value" row of table output.
func field(t *testing.T, out, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s{2,}(.*)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q row in:\n%s", name, out)
	}
	return strings.TrimSpace(m[1])
}

func jsonOut(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	return m
}

var newKeyLine = regexp.MustCompile(`(?m)^Key \d+: (\S+)$`)

func TestOperatorRekey(t *testing.T) {
	ks := newKeyServer(t, 3, 2)
	c := newCLI(t, ks.url)

	res := c.run("", "operator", "rekey", "-status").want(t, 0)
	if field(t, res.stdout, "Started") != "false" {
		t.Errorf("status:\n%s", res.stdout)
	}
	res = c.run("", "operator", "rekey", "-init", "-key-shares=3", "-key-threshold=2").want(t, 0)
	nonce := field(t, res.stdout, "Nonce")
	if field(t, res.stdout, "Rekey Progress") != "0/2" || field(t, res.stdout, "New Shares") != "3" || !strings.Contains(res.stderr, "WARNING!") {
		t.Errorf("init:\n%s\n%s", res.stdout, res.stderr)
	}
	c.run("", "operator", "rekey", "-init").want(t, 2)

	res = c.run("", "operator", "rekey", ks.keys[0]).want(t, 1)
	if !strings.Contains(res.stderr, "Missing nonce value") {
		t.Errorf("stderr %q", res.stderr)
	}
	res = c.run("", "operator", "rekey", "-nonce=wrong", ks.keys[0]).want(t, 2)
	if !strings.Contains(res.stderr, "incorrect nonce supplied") {
		t.Errorf("stderr %q", res.stderr)
	}
	res = c.run("", "operator", "rekey", "-nonce="+nonce, ks.keys[0]).want(t, 0)
	if field(t, res.stdout, "Rekey Progress") != "1/2" {
		t.Errorf("progress:\n%s", res.stdout)
	}
	// No argument: the key comes from stdin (or a prompt) and the nonce
	// from the status.
	res = c.run(ks.keys[1]+"\n", "operator", "rekey").want(t, 0)
	keys := newKeyLine.FindAllStringSubmatch(res.stdout, -1)
	if len(keys) != 3 || !strings.Contains(res.stdout, "Operation nonce: "+nonce) || !strings.Contains(res.stdout, "3 key shares and a key threshold of 2") {
		t.Fatalf("final:\n%s", res.stdout)
	}
	if ks.sealAndUnseal(t, ks.keys[:2]) {
		t.Fatal("old keys unsealed after rekey")
	}
	if !ks.sealAndUnseal(t, []string{keys[2][1], keys[0][1]}) {
		t.Fatal("new keys did not unseal")
	}
	newKeys := []string{keys[0][1], keys[1][1], keys[2][1]}

	// Cancel: Vault's rule, the nonce is needed for a fresh attempt.
	res = c.run("", "operator", "rekey", "-init", "-key-shares=1", "-key-threshold=1", "-format=json").want(t, 0)
	nonce = jsonOut(t, res.stdout)["nonce"].(string)
	c.run("", "operator", "rekey", "-cancel").want(t, 2)
	res = c.run("", "operator", "rekey", "-cancel", "-nonce="+nonce).want(t, 0)
	if !strings.Contains(res.stdout, "Success! Canceled rekeying") {
		t.Errorf("cancel: %q", res.stdout)
	}
	res = c.run("", "operator", "rekey", "-status", "-format=json").want(t, 0)
	if st := jsonOut(t, res.stdout); st["started"] != false || st["nonce"] != "" {
		t.Errorf("after cancel %v", st)
	}

	// Verification: the new keys count only once a threshold comes back.
	res = c.run("", "operator", "rekey", "-init", "-verify", "-key-shares=2", "-key-threshold=2").want(t, 0)
	nonce = field(t, res.stdout, "Nonce")
	c.run("", "operator", "rekey", "-nonce="+nonce, newKeys[0]).want(t, 0)
	res = c.run("", "operator", "rekey", "-nonce="+nonce, newKeys[1]).want(t, 0)
	verified := newKeyLine.FindAllStringSubmatch(res.stdout, -1)
	vnonce := field(t, res.stdout, "Verification Nonce")
	if len(verified) != 2 || !strings.Contains(res.stderr, "_not_ valid until verification") {
		t.Fatalf("verify-pending output:\n%s\n%s", res.stdout, res.stderr)
	}
	res = c.run("", "operator", "rekey", "-verify", "-nonce="+vnonce, verified[0][1]).want(t, 0)
	if field(t, res.stdout, "Verification Progress") != "1/2" {
		t.Errorf("verify progress:\n%s", res.stdout)
	}
	c.run("", "operator", "rekey", "-cancel", "-verify", "-nonce=x").want(t, 1)
	c.run("", "operator", "rekey", "-cancel", "-verify").want(t, 0)
	res = c.run("", "operator", "rekey", "-verify", "-status").want(t, 0)
	vnonce = field(t, res.stdout, "Verification Nonce")
	c.run("", "operator", "rekey", "-verify", "-nonce="+vnonce, verified[0][1]).want(t, 0)
	res = c.run("", "operator", "rekey", "-verify", "-nonce="+vnonce, verified[1][1]).want(t, 0)
	if !strings.Contains(res.stdout, "Rekey verification successful") {
		t.Fatalf("verify:\n%s", res.stdout)
	}
	if !ks.sealAndUnseal(t, []string{verified[0][1], verified[1][1]}) {
		t.Fatal("verified keys did not unseal")
	}

	res = c.run("", "operator", "rekey", "-target=recovery", "-status").want(t, 2)
	if !strings.Contains(res.stderr, "recovery keys are used only with auto-unseal seals") {
		t.Errorf("recovery: %q", res.stderr)
	}
	c.run("", "operator", "rekey", "-target=bogus", "-status").want(t, 1)
	c.run("", "operator", "rekey", "a", "b").want(t, 1)
	res = c.run("", "operator", "rekey", "-nonce=x", "key").want(t, 1)
	if !strings.Contains(res.stderr, "No rekey is in progress") {
		t.Errorf("not started: %q", res.stderr)
	}
}

func TestOperatorRekeyPGP(t *testing.T) {
	ks := newKeyServer(t, 1, 1)
	c := newCLI(t, ks.url)
	pub, priv, err := pgp.NewKeyPair("op")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "op.pub")
	if err := os.WriteFile(file, []byte(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	res := c.run("", "operator", "rekey", "-init", "-key-shares=1", "-key-threshold=1", "-pgp-keys="+file).want(t, 0)
	nonce := field(t, res.stdout, "Nonce")
	res = c.run("", "operator", "rekey", "-nonce="+nonce, ks.keys[0]).want(t, 0)
	m := regexp.MustCompile(`Key 1 fingerprint: ([0-9a-f]+); value: (\S+)`).FindStringSubmatch(res.stdout)
	if m == nil {
		t.Fatalf("output:\n%s", res.stdout)
	}
	share, err := priv.DecryptBase64(m[2])
	if err != nil {
		t.Fatal(err)
	}
	if !ks.sealAndUnseal(t, []string{string(share)}) {
		t.Fatal("decrypted share did not unseal")
	}
	c.run("", "operator", "rekey", "-init", "-pgp-keys=keybase:someone", "-key-shares=1", "-key-threshold=1").want(t, 1)
}

func TestOperatorGenerateRoot(t *testing.T) {
	ks := newKeyServer(t, 3, 2)
	c := newCLI(t, ks.url)
	rootWorks := func(tok string) bool {
		t.Helper()
		cl, err := ks.client.Clone()
		if err != nil {
			t.Fatal(err)
		}
		cl.SetToken(tok)
		s, err := cl.Auth().Token().LookupSelf()
		if err != nil {
			return false
		}
		pols, _ := s.TokenPolicies()
		return len(pols) == 1 && pols[0] == "root"
	}

	res := c.run("", "operator", "generate-root", "-generate-otp").want(t, 0)
	otp := strings.TrimSpace(res.stdout)
	if len(otp) != keyops.GenerateRootOTPLength {
		t.Fatalf("otp %q", otp)
	}
	res = c.run("", "operator", "generate-root", "-nonce=x", "key").want(t, 1)
	if !strings.Contains(res.stderr, "No root generation is in progress") || !strings.Contains(res.stderr, "37 characters") {
		t.Errorf("not started: %q", res.stderr)
	}
	c.run("", "operator", "generate-root", "-init", "-otp="+otp, "-pgp-key=x").want(t, 1)
	res = c.run("", "operator", "generate-root", "-init", "-otp="+otp).want(t, 0)
	nonce := field(t, res.stdout, "Nonce")
	if field(t, res.stdout, "Progress") != "0/2" || field(t, res.stdout, "OTP Length") != "37" {
		t.Errorf("init:\n%s", res.stdout)
	}
	c.run("", "operator", "generate-root", "-nonce="+nonce, ks.keys[0]).want(t, 0)
	res = c.run(ks.keys[1]+"\n", "operator", "generate-root", "-nonce="+nonce, "-").want(t, 0)
	enc := field(t, res.stdout, "Encoded Token")
	if field(t, res.stdout, "Complete") != "true" {
		t.Fatalf("final:\n%s", res.stdout)
	}
	res = c.run("", "operator", "generate-root", "-decode="+enc, "-otp="+otp).want(t, 0)
	tok := strings.TrimSpace(res.stdout)
	if !rootWorks(tok) || tok == ks.root {
		t.Fatalf("decoded token %q does not work", tok)
	}
	res = c.run(enc+"\n", "operator", "generate-root", "-decode=-", "-otp="+otp, "-format=json").want(t, 0)
	if jsonOut(t, res.stdout)["token"] != tok {
		t.Errorf("decode json: %s", res.stdout)
	}
	c.run("", "operator", "generate-root", "-decode="+enc).want(t, 1)
	c.run("", "operator", "generate-root", "-decode="+enc, "-otp=short").want(t, 1)

	// Server-made OTP, shown once; cancel leaves nothing.
	res = c.run("", "operator", "generate-root", "-init").want(t, 0)
	if len(field(t, res.stdout, "OTP")) != keyops.GenerateRootOTPLength || !strings.Contains(res.stderr, "One-Time-Password has been generated") {
		t.Errorf("server otp:\n%s\n%s", res.stdout, res.stderr)
	}
	c.run("", "operator", "generate-root", "-nonce="+field(t, res.stdout, "Nonce"), ks.keys[2]).want(t, 0)
	res = c.run("", "operator", "generate-root", "-cancel").want(t, 0)
	if !strings.Contains(res.stdout, "Root token generation canceled") {
		t.Errorf("cancel: %q", res.stdout)
	}
	res = c.run("", "operator", "generate-root", "-status", "-format=json").want(t, 0)
	if st := jsonOut(t, res.stdout); st["started"] != false || st["progress"] != float64(0) {
		t.Errorf("after cancel %v", st)
	}

	// PGP: the token comes back encrypted to the key.
	pub, priv, err := pgp.NewKeyPair("op")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "op.pub")
	if err := os.WriteFile(file, []byte(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	res = c.run("", "operator", "generate-root", "-init", "-pgp-key="+file).want(t, 0)
	nonce = field(t, res.stdout, "Nonce")
	if field(t, res.stdout, "PGP Fingerprint") == "" {
		t.Errorf("init pgp:\n%s", res.stdout)
	}
	c.run("", "operator", "generate-root", "-nonce="+nonce, ks.keys[0]).want(t, 0)
	res = c.run("", "operator", "generate-root", "-nonce="+nonce, ks.keys[2]).want(t, 0)
	plain, err := priv.DecryptBase64(field(t, res.stdout, "Encoded Token"))
	if err != nil || !rootWorks(string(plain)) {
		t.Fatalf("pgp token %q %v", plain, err)
	}
}
