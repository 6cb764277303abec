package http

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/core"
	"github.com/strongbox/strongbox/internal/pgp"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// keyServer is an unsealed server with n shares behind the official
// client, which carries no token (the key endpoints need none).
type keyServer struct {
	h      *Handler
	client *api.Client
	keys   []string // base64
	root   string
}

func newKeyServer(t *testing.T, n, th int) *keyServer {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := core.New(core.Config{
		Physical: inmem.New(), Logger: logger, StorageType: "inmem",
		SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ks := &keyServer{h: NewHandler(c, Options{Logger: logger})}
	t.Cleanup(ks.h.Close)
	srv := httptest.NewServer(ks.h)
	t.Cleanup(srv.Close)
	cfg := api.DefaultConfig()
	cfg.Address = srv.URL
	cfg.MaxRetries = 0
	if ks.client, err = api.NewClient(cfg); err != nil {
		t.Fatal(err)
	}
	ks.client.ClearToken()
	init, err := ks.client.Sys().Init(&api.InitRequest{SecretShares: n, SecretThreshold: th})
	if err != nil {
		t.Fatal(err)
	}
	ks.keys, ks.root = init.KeysB64, init.RootToken
	if err := ks.unseal(ks.keys[:th]); err != nil {
		t.Fatal(err)
	}
	return ks
}

// unseal gives keys through sys/unseal; it fails unless the server ends
// unsealed.
func (ks *keyServer) unseal(keys []string) error {
	var st *api.SealStatusResponse
	var err error
	for _, k := range keys {
		if st, err = ks.client.Sys().Unseal(k); err != nil {
			return err
		}
	}
	if st == nil || st.Sealed {
		return errors.New("still sealed")
	}
	return nil
}

// resealWith seals the server (with the root token) and unseals with keys.
func (ks *keyServer) resealWith(t *testing.T, keys []string) error {
	t.Helper()
	if st, err := ks.client.Sys().SealStatus(); err != nil || !st.Sealed {
		ks.client.SetToken(ks.root)
		err := ks.client.Sys().Seal()
		ks.client.ClearToken()
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ks.client.Sys().ResetUnsealProcess(); err != nil {
		t.Fatal(err)
	}
	return ks.unseal(keys)
}

// wantAPIError checks an api client error's status and message.
func wantAPIError(t *testing.T, err error, status int, contains string) {
	t.Helper()
	var re *api.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v; want a %d response", err, status)
	}
	if re.StatusCode != status || !strings.Contains(strings.Join(re.Errors, " "), contains) {
		t.Fatalf("got %d %v; want %d containing %q", re.StatusCode, re.Errors, status, contains)
	}
}

func TestRekeyWithOfficialClient(t *testing.T) {
	ks := newKeyServer(t, 5, 3)
	sys := ks.client.Sys()
	st, err := sys.RekeyStatus()
	if err != nil || st.Started || st.Required != 3 || st.PGPFingerprints != nil {
		t.Fatalf("idle status %+v %v", st, err)
	}
	st, err = sys.RekeyInit(&api.RekeyInitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Started || st.Nonce == "" || st.T != 2 || st.N != 3 || st.Required != 3 {
		t.Fatalf("init %+v", st)
	}
	// Hex works as well as base64, as for unseal.
	raw, _ := base64.StdEncoding.DecodeString(ks.keys[0])
	up, err := sys.RekeyUpdate(hex.EncodeToString(raw), st.Nonce)
	if err != nil || up.Complete || up.Nonce != st.Nonce || len(up.Keys) != 0 {
		t.Fatalf("first share %+v %v", up, err)
	}
	if cur, _ := sys.RekeyStatus(); cur.Progress != 1 {
		t.Fatalf("progress %d", cur.Progress)
	}
	_, err = sys.RekeyUpdate(ks.keys[1], "not-the-nonce")
	wantAPIError(t, err, 400, "incorrect nonce supplied")
	_, err = sys.RekeyUpdate(ks.keys[0], st.Nonce)
	wantAPIError(t, err, 400, "already been provided")
	if _, err = sys.RekeyUpdate(ks.keys[1], st.Nonce); err != nil {
		t.Fatal(err)
	}
	up, err = sys.RekeyUpdate(ks.keys[2], st.Nonce)
	if err != nil || !up.Complete || up.Nonce != st.Nonce || len(up.Keys) != 3 || len(up.KeysB64) != 3 || up.VerificationRequired {
		t.Fatalf("final %+v %v", up, err)
	}
	for i := range up.Keys {
		b, _ := hex.DecodeString(up.Keys[i])
		if base64.StdEncoding.EncodeToString(b) != up.KeysB64[i] {
			t.Fatalf("keys[%d] and keys_base64[%d] differ", i, i)
		}
	}
	if err := ks.resealWith(t, ks.keys[:3]); err == nil {
		t.Fatal("old shares unsealed after rekey")
	}
	if err := ks.resealWith(t, up.KeysB64[1:]); err != nil {
		t.Fatalf("new shares: %v", err)
	}
	ss, _ := sys.SealStatus()
	if ss.T != 2 || ss.N != 3 {
		t.Fatalf("seal status %d/%d", ss.T, ss.N)
	}
}

func TestRekeyVerifyAndCancelWithOfficialClient(t *testing.T) {
	ks := newKeyServer(t, 3, 2)
	sys := ks.client.Sys()
	st, err := sys.RekeyInit(&api.RekeyInitRequest{SecretShares: 2, SecretThreshold: 2, RequireVerification: true})
	if err != nil || !st.VerificationRequired {
		t.Fatalf("init %+v %v", st, err)
	}
	// The client's cancel sends no nonce: refused for a fresh attempt.
	wantAPIError(t, sys.RekeyCancel(), 400, "invalid request")
	if _, err := sys.RekeyUpdate(ks.keys[0], st.Nonce); err != nil {
		t.Fatal(err)
	}
	up, err := sys.RekeyUpdate(ks.keys[2], st.Nonce)
	if err != nil || !up.Complete || !up.VerificationRequired || up.VerificationNonce == "" {
		t.Fatalf("update %+v %v", up, err)
	}
	cur, err := sys.RekeyStatus()
	if err != nil || cur.VerificationNonce != up.VerificationNonce {
		t.Fatalf("status %+v %v", cur, err)
	}
	vs, err := sys.RekeyVerificationStatus()
	if err != nil || !vs.Started || vs.Nonce != up.VerificationNonce || vs.T != 2 || vs.N != 2 {
		t.Fatalf("verify status %+v %v", vs, err)
	}
	if _, err := sys.RekeyVerificationUpdate(up.KeysB64[0], vs.Nonce); err != nil {
		t.Fatal(err)
	}
	// DELETE restarts verification with a new nonce.
	if err := sys.RekeyVerificationCancel(); err != nil {
		t.Fatal(err)
	}
	vs2, _ := sys.RekeyVerificationStatus()
	if vs2.Progress != 0 || vs2.Nonce == vs.Nonce {
		t.Fatalf("after restart %+v", vs2)
	}
	// Until verified, the old shares still unseal.
	var vr *api.RekeyVerificationUpdateResponse
	for _, k := range up.KeysB64 {
		if vr, err = sys.RekeyVerificationUpdate(k, vs2.Nonce); err != nil {
			t.Fatal(err)
		}
	}
	if !vr.Complete || vr.Nonce != vs2.Nonce {
		t.Fatalf("verify result %+v", vr)
	}
	if err := ks.resealWith(t, ks.keys[:2]); err == nil {
		t.Fatal("old shares unsealed after a verified rekey")
	}
	if err := ks.resealWith(t, up.KeysB64); err != nil {
		t.Fatalf("new shares: %v", err)
	}

	// Cancel with the nonce leaves nothing behind.
	st, err = sys.RekeyInit(&api.RekeyInitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.RekeyUpdate(up.KeysB64[0], st.Nonce); err != nil {
		t.Fatal(err)
	}
	if err := sys.RekeyCancelWithNonce(st.Nonce); err != nil {
		t.Fatal(err)
	}
	if cur, _ := sys.RekeyStatus(); cur.Started || cur.Progress != 0 || cur.Nonce != "" {
		t.Fatalf("after cancel %+v", cur)
	}
	_, err = sys.RekeyVerificationStatus()
	wantAPIError(t, err, 400, "no rekey configuration found")
}

func TestRekeyPGPWithOfficialClient(t *testing.T) {
	ks := newKeyServer(t, 1, 1)
	sys := ks.client.Sys()
	pub, priv, err := pgp.NewKeyPair("op")
	if err != nil {
		t.Fatal(err)
	}
	_, err = sys.RekeyInit(&api.RekeyInitRequest{SecretShares: 1, SecretThreshold: 1, PGPKeys: []string{pub}, Backup: true})
	wantAPIError(t, err, 400, "not supported")
	_, err = sys.RekeyInit(&api.RekeyInitRequest{SecretShares: 1, SecretThreshold: 1, PGPKeys: []string{"keybase:op"}})
	wantAPIError(t, err, 400, "keybase")
	st, err := sys.RekeyInit(&api.RekeyInitRequest{SecretShares: 1, SecretThreshold: 1, PGPKeys: []string{pub}})
	if err != nil || len(st.PGPFingerprints) != 1 || st.Backup {
		t.Fatalf("init %+v %v", st, err)
	}
	up, err := sys.RekeyUpdate(ks.keys[0], st.Nonce)
	if err != nil || len(up.PGPFingerprints) != 1 || up.PGPFingerprints[0] != st.PGPFingerprints[0] {
		t.Fatalf("update %+v %v", up, err)
	}
	// What an operator does: base64 -d | gpg -d gives the hex share.
	share, err := priv.DecryptBase64(up.KeysB64[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.resealWith(t, []string{string(share)}); err != nil {
		t.Fatalf("decrypted share: %v", err)
	}
}

func TestKeyEndpointErrors(t *testing.T) {
	ks := newKeyServer(t, 3, 2)
	sealed := newKeyServer(t, 1, 1)
	sealed.client.SetToken(sealed.root)
	if err := sealed.client.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := core.New(core.Config{Physical: inmem.New(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	uninit := NewHandler(c, Options{Logger: logger})
	t.Cleanup(uninit.Close)
	st, err := ks.client.Sys().RekeyInit(&api.RekeyInitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name         string
		h            http.Handler
		method, path string
		body         string
		status       int
		contains     string
	}{
		{"missing key", ks.h, "PUT", "/v1/sys/rekey/update", `{"nonce":"` + st.Nonce + `"}`, 400, "'key' must be specified"},
		{"bad key", ks.h, "PUT", "/v1/sys/rekey/update", `{"key":"%%%","nonce":"x"}`, 400, "valid hex or base64"},
		{"bad json", ks.h, "PUT", "/v1/sys/rekey/init", `{`, 400, "failed to parse JSON"},
		{"string numbers", ks.h, "PUT", "/v1/sys/rekey/init", `{"secret_shares":"x"}`, 400, "secret_shares"},
		{"method", ks.h, "PATCH", "/v1/sys/rekey/init", ``, 405, "unsupported operation"},
		{"update GET", ks.h, "GET", "/v1/sys/generate-root/update", ``, 405, "unsupported operation"},
		{"recovery init", ks.h, "GET", "/v1/sys/rekey-recovery-key/init", ``, 400, "recovery keys are used only with auto-unseal seals"},
		{"recovery update", ks.h, "PUT", "/v1/sys/rekey-recovery-key/update", `{}`, 400, "recovery keys are used only with auto-unseal seals"},
		{"sealed rekey", sealed.h, "GET", "/v1/sys/rekey/init", ``, 503, "Vault is sealed"},
		{"sealed generate-root", sealed.h, "PUT", "/v1/sys/generate-root/attempt", `{}`, 503, "Vault is sealed"},
		{"sealed decode", sealed.h, "PUT", "/v1/sys/decode-token", `{"encoded_token":"YQ","otp":"a"}`, 503, "Vault is sealed"},
		{"uninitialized rekey", uninit, "GET", "/v1/sys/rekey/init", ``, 400, "not initialized"},
		{"uninitialized generate-root", uninit, "GET", "/v1/sys/generate-root/attempt", ``, 400, "not initialized"},
		{"verify without rekey key", ks.h, "PUT", "/v1/sys/rekey/verify", `{"key":"` + ks.keys[0] + `","nonce":"x"}`, 400, "no rekey verification in progress"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(tc.h, tc.method, tc.path, "", tc.body)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.contains) {
				t.Fatalf("got %d %s; want %d containing %q", w.Code, w.Body, tc.status, tc.contains)
			}
		})
	}
	// None of the refused requests moved the attempt along.
	if cur, _ := ks.client.Sys().RekeyStatus(); cur.Progress != 0 || cur.Nonce != st.Nonce {
		t.Fatalf("status %+v", cur)
	}
}

// FuzzDecodeShare: a share is read as hex only when that gives a plausible
// share length; anything else must be valid base64 or refused.
func FuzzDecodeShare(f *testing.F) {
	for _, s := range []string{"", "00", strings.Repeat("ab", 16), strings.Repeat("ab", 40), "YWJj", "%%", " " + strings.Repeat("0", 64) + "\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := decodeShare(s)
		if err != nil {
			return
		}
		trimmed := strings.TrimSpace(s)
		if h, herr := hex.DecodeString(trimmed); herr == nil && len(h) >= 16 && len(h) <= 33 {
			if string(h) != string(k) {
				t.Fatalf("hex share decoded as %x", k)
			}
			return
		}
		if b, berr := base64.StdEncoding.DecodeString(trimmed); berr != nil || string(b) != string(k) {
			t.Fatalf("%q accepted as %x", s, k)
		}
	})
}
