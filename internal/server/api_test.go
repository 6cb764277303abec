package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

const devRoot = "dev-root-token"

func startDev(t *testing.T) (*testServer, *vault.Client) {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	srv := startServer(t, Options{Dev: true, DevRootTokenID: devRoot, DevListenAddress: "127.0.0.1:0"})
	return srv, srv.client(devRoot)
}

// rawCall sends a request and returns status and decoded body.
func rawCall(t *testing.T, srv *testServer, method, path, token string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+srv.addr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s %s: Cache-Control = %q", method, path, cc)
	}
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

func TestDevMode(t *testing.T) {
	srv, c := startDev(t)
	if !strings.Contains(srv.out.String(), "Root Token: "+devRoot) || !strings.Contains(srv.out.String(), "Unseal Key: ") {
		t.Fatalf("dev banner lacks credentials:\n%s", srv.out.String())
	}
	mounts, err := c.Sys().ListMounts()
	if err != nil {
		t.Fatal(err)
	}
	if m := mounts["secret/"]; m == nil || m.Type != "kv" || m.Options["version"] != "2" {
		t.Fatalf("secret/ mount = %+v", m)
	}
	for _, p := range []string{"sys/", "cubbyhole/"} {
		if mounts[p] == nil {
			t.Errorf("default mount %s missing", p)
		}
	}
	self, err := c.Auth().Token().LookupSelf()
	if err != nil {
		t.Fatal(err)
	}
	if self.Data["id"] != devRoot {
		t.Fatalf("lookup-self id = %v", self.Data["id"])
	}
}

func TestHealthCodes(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, Options{ConfigPaths: []string{fileConfig(t, dir, "")}})
	cases := []struct {
		name  string
		query string
		want  int
	}{
		{"uninitialized", "", 501},
		{"uninitialized custom", "?uninitcode=299", 299},
	}
	for _, tc := range cases {
		if st, _ := rawCall(t, srv, "GET", "/v1/sys/health"+tc.query, "", nil); st != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, st, tc.want)
		}
	}
	c := srv.client("")
	res, err := c.Sys().Init(&vault.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		query string
		want  int
	}{{"", 503}, {"?sealedcode=200", 200}, {"?sealedcode=abc", 400}} {
		if st, _ := rawCall(t, srv, "GET", "/v1/sys/health"+tc.query, "", nil); st != tc.want {
			t.Errorf("sealed%s: status %d, want %d", tc.query, st, tc.want)
		}
	}
	unseal(t, c, res.Keys)
	st, body := rawCall(t, srv, "GET", "/v1/sys/health", "", nil)
	if st != 200 || body["initialized"] != true || body["sealed"] != false || body["standby"] != false {
		t.Fatalf("active health = %d %v", st, body)
	}
	if st, _ := rawCall(t, srv, "GET", "/v1/sys/health?activecode=204", "", nil); st != 204 {
		t.Fatalf("activecode=204 gave %d", st)
	}
	if st, _ := rawCall(t, srv, "HEAD", "/v1/sys/health", "", nil); st != 200 {
		t.Fatalf("HEAD health = %d", st)
	}
	leader, err := c.Sys().Leader()
	if err != nil || leader.HAEnabled {
		t.Fatalf("leader = %+v, %v", leader, err)
	}
}

func TestUnsealWrongShares(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, Options{ConfigPaths: []string{fileConfig(t, dir, "")}})
	c := srv.client("")
	res, err := c.Sys().Init(&vault.InitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	other := startServer(t, Options{ConfigPaths: []string{fileConfig(t, t.TempDir(), "")}})
	res2, err := other.client("").Sys().Init(&vault.InitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	// A share of another cluster mixed with a good one never unseals.
	if _, err := c.Sys().Unseal(res.Keys[0]); err != nil {
		t.Fatal(err)
	}
	st, err := c.Sys().SealStatus()
	if err != nil || st.Progress != 1 || st.Nonce == "" {
		t.Fatalf("progress after one share = %+v, %v", st, err)
	}
	_, err = c.Sys().Unseal(res2.Keys[1])
	assertStatus(t, err, 400)
	st, _ = c.Sys().SealStatus()
	if !st.Sealed || st.Progress != 0 {
		t.Fatalf("after a wrong share: %+v, want sealed with progress reset", st)
	}
	// Reset discards progress.
	if _, err := c.Sys().Unseal(res.Keys[0]); err != nil {
		t.Fatal(err)
	}
	if st, err = c.Sys().ResetUnsealProcess(); err != nil || st.Progress != 0 {
		t.Fatalf("reset = %+v, %v", st, err)
	}
	// Garbage keys are 400 and change nothing.
	for _, body := range []string{`{"key":"zz-not-hex"}`, `{"key":""}`, `{"key":"00"}`, `not json`} {
		if code, _ := rawCall(t, srv, "PUT", "/v1/sys/unseal", "", []byte(body)); code != 400 {
			t.Errorf("unseal %s: status %d, want 400", body, code)
		}
	}
	unseal(t, c, res.Keys[1:])
	// A second init is refused.
	if code, _ := rawCall(t, srv, "PUT", "/v1/sys/init", "", []byte(`{"secret_shares":1,"secret_threshold":1}`)); code != 400 {
		t.Fatalf("second init: status %d", code)
	}
}

func TestInitValidation(t *testing.T) {
	srv := startServer(t, Options{ConfigPaths: []string{fileConfig(t, t.TempDir(), "")}})
	for _, body := range []string{
		`{"secret_shares":0,"secret_threshold":0}`,
		`{"secret_shares":3,"secret_threshold":4}`,
		`{"secret_shares":3,"secret_threshold":1}`,
		`{"secret_shares":256,"secret_threshold":2}`,
		`{"secret_shares":"x","secret_threshold":2}`,
		`{"secret_shares":[1],"secret_threshold":2}`,
		`[1,2]`,
	} {
		code, out := rawCall(t, srv, "PUT", "/v1/sys/init", "", []byte(body))
		if code != 400 || out["errors"] == nil {
			t.Errorf("init %s: status %d body %v, want 400 with errors", body, code, out)
		}
	}
	if code, out := rawCall(t, srv, "GET", "/v1/sys/init", "", nil); code != 200 || out["initialized"] != false {
		t.Fatalf("after bad inits: %d %v", code, out)
	}
}

func TestSealedRefusesEverything(t *testing.T) {
	srv := startServer(t, Options{ConfigPaths: []string{fileConfig(t, t.TempDir(), "")}})
	for _, p := range []string{"/v1/secret/data/x", "/v1/sys/mounts", "/v1/auth/token/lookup-self", "/v1/sys/policy"} {
		code, out := rawCall(t, srv, "GET", p, "whatever", nil)
		if code != 503 || !strings.Contains(asJSON(out), "Vault is sealed") {
			t.Errorf("GET %s while uninitialized: %d %v", p, code, out)
		}
	}
}

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestBadInput(t *testing.T) {
	srv, c := startDev(t)
	ctx := context.Background()
	if _, err := c.KVv2("secret").Put(ctx, "keep", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("a"), 33<<20)
	cases := []struct {
		method, path, body string
		want               int
	}{
		{"PUT", "/v1/secret/data/x", `{"data":`, 400},
		{"PUT", "/v1/secret/data/x", `{"data": "not an object"}`, 400},
		{"PUT", "/v1/secret/data/x", `[]`, 400},
		{"PUT", "/v1/secret/data/x", `{"data":{"a":1}} trailing`, 400},
		{"PUT", "/v1/sys/mounts/bad", `{"type":"nope"}`, 400},
		{"PUT", "/v1/sys/mounts/bad", `{"type":"kv","config":{"default_lease_ttl":"forever"}}`, 400},
		{"PUT", "/v1/sys/mounts/sys/x", `{"type":"kv"}`, 400},
		{"PUT", "/v1/sys/mounts/secret", `{"type":"kv"}`, 400},
		{"PUT", "/v1/sys/policies/acl/bad", `{"policy":"path \"x\" { capabilities = [\"fly\"] }"}`, 400},
		{"PUT", "/v1/sys/policies/acl/bad", `{"policy":"path { "}`, 400},
		{"PUT", "/v1/auth/token/create", `{"ttl":"soon"}`, 400},
		{"PUT", "/v1/auth/token/create", `{"policies":{"a":1}}`, 400},
		{"GET", "/v1/nomount/x", ``, 404},
		{"BREW", "/v1/secret/data/x", ``, 405},
	}
	for _, tc := range cases {
		code, out := rawCall(t, srv, tc.method, tc.path, devRoot, []byte(tc.body))
		if code != tc.want {
			t.Errorf("%s %s %q: status %d, want %d (%v)", tc.method, tc.path, tc.body, code, tc.want, out)
			continue
		}
		if _, ok := out["errors"]; !ok {
			t.Errorf("%s %s: no errors array in %v", tc.method, tc.path, out)
		}
	}
	if code, _ := rawCall(t, srv, "PUT", "/v1/secret/data/big", devRoot, big); code != 413 {
		t.Errorf("33 MiB body: status %d, want 413", code)
	}
	// Nothing changed.
	mounts, _ := c.Sys().ListMounts()
	if mounts["bad/"] != nil {
		t.Error("a bad mount request created a mount")
	}
	pols, _ := c.Sys().ListPolicies()
	for _, p := range pols {
		if p == "bad" {
			t.Error("a bad policy was stored")
		}
	}
	if _, err := c.KVv2("secret").Get(ctx, "x"); err == nil {
		t.Error("a bad write created secret/x")
	}
	if s, err := c.KVv2("secret").Get(ctx, "keep"); err != nil || s.Data["v"] != "1" {
		t.Errorf("secret/keep changed: %v %v", s, err)
	}
}
