package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/core"
	"github.com/strongbox/strongbox/internal/logical"
)

const invalidWrapping = "wrapping token is not valid or does not exist"

// wrapEngine wraps data through its SystemView (the engine-facing hook):
// PUT wrap {"ttl": seconds, "jwt": bool, ...} answers the wrap info.
func wrapEngine(_ context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	sys := conf.System
	return &logical.FrameworkBackend{
		Paths: []*logical.Path{{
			Pattern: "wrap",
			Fields: map[string]*logical.FieldSchema{
				"ttl":    {Type: logical.TypeInt},
				"jwt":    {Type: logical.TypeBool},
				"secret": {Type: logical.TypeString},
			},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
					ttl := time.Duration(d.Get("ttl").(int)) * time.Second
					wi, err := sys.ResponseWrapData(ctx, map[string]any{"secret": d.Get("secret")}, ttl, d.Get("jwt").(bool))
					if err != nil {
						return nil, err
					}
					return &logical.Response{Data: map[string]any{
						"token": wi.Token, "accessor": wi.Accessor, "ttl": int64(wi.TTL / time.Second),
						"creation_path": wi.CreationPath,
					}}, nil
				},
			},
		}},
	}, nil
}

type wrapServer struct {
	t    testing.TB
	url  string
	root *vault.Client
}

// startWrapServer serves a core (with the wrap engine mounted at wrapper/
// and KV v1 at secret/) over HTTP on 127.0.0.1, initialized and unsealed.
func startWrapServer(t testing.TB) *wrapServer {
	t.Helper()
	t.Setenv("VAULT_WRAP_TTL", "")
	engines := builtin.SecretEngines()
	engines["wrapper"] = wrapEngine
	url := serveCore(t, core.Config{SecretEngines: engines, AuthMethods: builtin.AuthMethods()})
	s := &wrapServer{t: t, url: url}
	s.root = s.client("")
	init, err := s.root.Sys().Init(&vault.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.root.Sys().Unseal(init.Keys[0]); err != nil {
		t.Fatal(err)
	}
	s.root.SetToken(init.RootToken)
	if err := s.root.Sys().Mount("secret", &vault.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if err := s.root.Sys().Mount("wrapper", &vault.MountInput{Type: "wrapper"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.root.Logical().Write("secret/foo", map[string]any{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	return s
}

// client is a client with token (none when empty) that wraps nothing
// unless told.
func (s *wrapServer) client(token string) *vault.Client {
	s.t.Helper()
	cfg := vault.DefaultConfig()
	cfg.Address = s.url
	cfg.MaxRetries = 0
	c, err := vault.NewClient(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	c.ClearToken()
	if token != "" {
		c.SetToken(token)
	}
	return c
}

// wrapping returns a clone of c that asks for ttl wrapping on every call.
func wrapping(t testing.TB, c *vault.Client, ttl string) *vault.Client {
	t.Helper()
	w, err := c.Clone()
	if err != nil {
		t.Fatal(err)
	}
	w.SetToken(c.Token())
	w.SetWrappingLookupFunc(func(string, string) string { return ttl })
	return w
}

// raw sends one request and returns the status and the body.
func (s *wrapServer) raw(method, path, token string, headers map[string]string, body string) (int, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// accessors counts the tokens in the store.
func (s *wrapServer) accessors() int {
	s.t.Helper()
	sec, err := s.root.Logical().List("auth/token/accessors")
	if err != nil || sec == nil {
		s.t.Fatalf("list accessors: %v", err)
	}
	return len(sec.Data["keys"].([]any))
}

func assertInvalidWrapping(t *testing.T, err error) {
	t.Helper()
	assertStatus(t, err, http.StatusBadRequest)
	if !strings.Contains(err.Error(), invalidWrapping) {
		t.Fatalf("error %v, want %q", err, invalidWrapping)
	}
}

// TestWrapKVRead: X-Vault-Wrap-TTL on a KV read answers wrap_info only;
// unwrapping with another token returns the body a plain read returns;
// a second unwrap is a 400.
func TestWrapKVRead(t *testing.T) {
	s := startWrapServer(t)
	before := time.Now().Add(-time.Second)
	sec, err := wrapping(t, s.root, "5m").Logical().Read("secret/foo")
	if err != nil {
		t.Fatal(err)
	}
	wi := sec.WrapInfo
	if wi == nil || wi.Token == "" || wi.Accessor == "" || wi.TTL != 300 || wi.CreationPath != "secret/foo" || wi.WrappedAccessor != "" {
		t.Fatalf("wrap_info %+v", wi)
	}
	if wi.CreationTime.Before(before) || wi.CreationTime.After(time.Now().Add(time.Second)) {
		t.Errorf("creation_time %v", wi.CreationTime)
	}
	if sec.Data != nil || sec.Auth != nil || sec.LeaseID != "" || sec.RequestID != "" {
		t.Errorf("wrapped envelope carries more than wrap_info: %+v", sec)
	}

	// The wrapped body is what a plain read answers (its own request_id).
	code, plainRaw := s.raw("GET", "/v1/secret/foo", s.root.Token(), nil, "")
	if code != 200 {
		t.Fatalf("plain read: %d %s", code, plainRaw)
	}
	code, unwrappedRaw := s.raw("PUT", "/v1/sys/wrapping/unwrap", s.root.Token(), nil, `{"token":"`+wi.Token+`"}`)
	if code != 200 {
		t.Fatalf("unwrap: %d %s", code, unwrappedRaw)
	}
	var plain, unwrapped map[string]any
	if err := json.Unmarshal(plainRaw, &plain); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(unwrappedRaw, &unwrapped); err != nil {
		t.Fatal(err)
	}
	if unwrapped["request_id"] == "" || unwrapped["request_id"] == plain["request_id"] {
		t.Errorf("request_id %v (plain read %v)", unwrapped["request_id"], plain["request_id"])
	}
	delete(plain, "request_id")
	delete(unwrapped, "request_id")
	if p, u := asJSON(plain), asJSON(unwrapped); p != u {
		t.Errorf("unwrapped body\n%s\nwant\n%s", u, p)
	}

	// Used: a second unwrap fails, with the client too.
	_, err = s.root.Logical().Unwrap(wi.Token)
	assertInvalidWrapping(t, err)
}

// TestUnwrapAsRequestToken: the wrapping token itself as the request token
// unwraps (the official client's Unwrap with no token of its own), once.
func TestUnwrapAsRequestToken(t *testing.T) {
	s := startWrapServer(t)
	sec, err := wrapping(t, s.root, "60").Logical().Read("secret/foo")
	if err != nil || sec.WrapInfo == nil {
		t.Fatalf("wrapped read: %v %+v", err, sec)
	}
	tok := sec.WrapInfo.Token
	c := s.client("")
	got, err := c.Logical().Unwrap(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.Data["a"] != "b" {
		t.Fatalf("unwrapped %+v", got.Data)
	}
	// The token is spent and revoked: as the request token it is refused
	// as an invalid wrapping token, and so in a body.
	_, err = s.client(tok).Logical().Unwrap("")
	assertInvalidWrapping(t, err)
	_, err = s.root.Logical().Unwrap(tok)
	assertInvalidWrapping(t, err)
	// Its cubbyhole went with it.
	code, body := s.raw("GET", "/v1/cubbyhole/response", tok, nil, "")
	if code != http.StatusForbidden {
		t.Errorf("cubbyhole/response with the used token: %d %s", code, body)
	}
}

// TestConcurrentUnwrap: of several unwraps of one token racing, exactly one
// gets the response.
func TestConcurrentUnwrap(t *testing.T) {
	s := startWrapServer(t)
	sec, err := wrapping(t, s.root, "5m").Logical().Read("secret/foo")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, invalid := 0, 0
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := s.client(s.root.Token())
			got, err := c.Logical().Unwrap(sec.WrapInfo.Token)
			mu.Lock()
			defer mu.Unlock()
			var re *vault.ResponseError
			switch {
			case err == nil && got.Data["a"] == "b":
				ok++
			case errors.As(err, &re) && re.StatusCode == 400:
				invalid++
			default:
				t.Errorf("unwrap: %v %+v", err, got)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || invalid != 5 {
		t.Fatalf("%d unwraps succeeded, %d refused; want 1 and 5", ok, invalid)
	}
}

// TestWrapTokenCreate: a wrapped token creation names the new token's
// accessor as wrapped_accessor; the unwrapped token works.
func TestWrapTokenCreate(t *testing.T) {
	s := startWrapServer(t)
	sec, err := wrapping(t, s.root, "2m").Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	wi := sec.WrapInfo
	if wi == nil || wi.WrappedAccessor == "" || wi.CreationPath != "auth/token/create" || wi.TTL != 120 || sec.Auth != nil {
		t.Fatalf("wrapped token create: %+v %+v", wi, sec.Auth)
	}
	got, err := s.root.Logical().Unwrap(wi.Token)
	if err != nil {
		t.Fatal(err)
	}
	if got.Auth == nil || got.Auth.ClientToken == "" || got.Auth.Accessor != wi.WrappedAccessor {
		t.Fatalf("unwrapped auth %+v, wrapped_accessor %s", got.Auth, wi.WrappedAccessor)
	}
	self, err := s.client(got.Auth.ClientToken).Auth().Token().LookupSelf()
	if err != nil || self.Data["accessor"] != wi.WrappedAccessor {
		t.Fatalf("the unwrapped token: %v %v", err, self)
	}
}

// TestSysWrappingWrap: sys/wrapping/wrap wraps the posted data (the client
// asks for 5m by default) and refuses without a wrap TTL.
func TestSysWrappingWrap(t *testing.T) {
	s := startWrapServer(t)
	sec, err := s.root.Logical().Write("sys/wrapping/wrap", map[string]any{"foo": "bar", "n": 3})
	if err != nil {
		t.Fatal(err)
	}
	if sec.WrapInfo == nil || sec.WrapInfo.TTL != 300 || sec.WrapInfo.CreationPath != "sys/wrapping/wrap" {
		t.Fatalf("wrap_info %+v", sec.WrapInfo)
	}
	got, err := s.root.Logical().Unwrap(sec.WrapInfo.Token)
	if err != nil {
		t.Fatal(err)
	}
	if got.Data["foo"] != "bar" || got.Data["n"] != json.Number("3") || len(got.Data) != 2 {
		t.Fatalf("unwrapped %v", got.Data)
	}

	n := s.accessors()
	_, err = wrapping(t, s.root, "").Logical().Write("sys/wrapping/wrap", map[string]any{"foo": "bar"})
	assertStatus(t, err, http.StatusBadRequest)
	if !strings.Contains(err.Error(), "endpoint requires response wrapping to be used") {
		t.Fatalf("error %v", err)
	}
	if s.accessors() != n {
		t.Fatal("a refused wrap left a token behind")
	}
}

// TestWrappingLookup: sys/wrapping/lookup needs no token, answers the
// creation TTL, time and path, and spends nothing, with the token in the
// body or as the request token.
func TestWrappingLookup(t *testing.T) {
	s := startWrapServer(t)
	sec, err := wrapping(t, s.root, "90s").Logical().Read("secret/foo")
	if err != nil {
		t.Fatal(err)
	}
	tok := sec.WrapInfo.Token
	anon := s.client("")
	for i := range 2 {
		got, err := anon.Logical().Write("sys/wrapping/lookup", map[string]any{"token": tok})
		if err != nil {
			t.Fatalf("lookup %d: %v", i, err)
		}
		if got.Data["creation_ttl"] != json.Number("90") || got.Data["creation_path"] != "secret/foo" {
			t.Fatalf("lookup: %v", got.Data)
		}
		ct, err := time.Parse(time.RFC3339, got.Data["creation_time"].(string))
		if err != nil || !ct.Equal(sec.WrapInfo.CreationTime) {
			t.Fatalf("creation_time %v (%v), wrap_info says %v", got.Data["creation_time"], err, sec.WrapInfo.CreationTime)
		}
	}
	// With the wrapping token as the request token: not spent either.
	got, err := s.client(tok).Logical().Write("sys/wrapping/lookup", nil)
	if err != nil || got.Data["creation_path"] != "secret/foo" {
		t.Fatalf("lookup with the wrapping token: %v %v", err, got)
	}
	if got, err := s.root.Logical().Unwrap(tok); err != nil || got.Data["a"] != "b" {
		t.Fatalf("unwrap after lookups: %v %v", err, got)
	}
	_, err = anon.Logical().Write("sys/wrapping/lookup", map[string]any{"token": tok})
	assertInvalidWrapping(t, err)
	_, err = anon.Logical().Write("sys/wrapping/lookup", map[string]any{"token": "hvs.nonsense"})
	assertInvalidWrapping(t, err)
	// A token that is not a wrapping token is no wrapping token.
	_, err = anon.Logical().Write("sys/wrapping/lookup", map[string]any{"token": s.root.Token()})
	assertInvalidWrapping(t, err)
	_, err = s.root.Logical().Unwrap("")
	assertInvalidWrapping(t, err)
}

// TestRewrap: rewrap answers a new token with the original creation path
// and TTL; the old token stops working; the new one unwraps the original.
func TestRewrap(t *testing.T) {
	s := startWrapServer(t)
	sec, err := wrapping(t, s.root, "7m").Logical().Read("secret/foo")
	if err != nil {
		t.Fatal(err)
	}
	old := sec.WrapInfo
	re, err := s.root.Logical().Write("sys/wrapping/rewrap", map[string]any{"token": old.Token})
	if err != nil {
		t.Fatal(err)
	}
	nw := re.WrapInfo
	if nw == nil || nw.Token == "" || nw.Token == old.Token || nw.Accessor == old.Accessor {
		t.Fatalf("rewrap wrap_info %+v (old %+v)", nw, old)
	}
	if nw.CreationPath != "secret/foo" || nw.TTL != 420 {
		t.Fatalf("rewrap kept path %q ttl %d, want secret/foo 420", nw.CreationPath, nw.TTL)
	}
	_, err = s.root.Logical().Write("sys/wrapping/lookup", map[string]any{"token": old.Token})
	assertInvalidWrapping(t, err)
	_, err = s.root.Logical().Unwrap(old.Token)
	assertInvalidWrapping(t, err)
	_, err = s.root.Logical().Write("sys/wrapping/rewrap", map[string]any{"token": old.Token})
	assertInvalidWrapping(t, err)
	look, err := s.client("").Logical().Write("sys/wrapping/lookup", map[string]any{"token": nw.Token})
	if err != nil || look.Data["creation_ttl"] != json.Number("420") || look.Data["creation_path"] != "secret/foo" {
		t.Fatalf("lookup of the new token: %v %v", err, look)
	}
	got, err := s.root.Logical().Unwrap(nw.Token)
	if err != nil || got.Data["a"] != "b" {
		t.Fatalf("unwrap rewrapped: %v %v", err, got)
	}
}

// TestWrappingTokenExpires: past its TTL a wrapping token is invalid for
// lookup and unwrap.
func TestWrappingTokenExpires(t *testing.T) {
	s := startWrapServer(t)
	sec, err := wrapping(t, s.root, "1s").Logical().Read("secret/foo")
	if err != nil {
		t.Fatal(err)
	}
	if sec.WrapInfo.TTL != 1 {
		t.Fatalf("ttl %d", sec.WrapInfo.TTL)
	}
	anon := s.client("")
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err = anon.Logical().Write("sys/wrapping/lookup", map[string]any{"token": sec.WrapInfo.Token})
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the wrapping token is still valid 15s after its 1s TTL")
		}
		time.Sleep(100 * time.Millisecond)
	}
	assertInvalidWrapping(t, err)
	_, err = s.root.Logical().Unwrap(sec.WrapInfo.Token)
	assertInvalidWrapping(t, err)
}

// TestPolicyRequiresWrapping: a path with min/max_wrapping_ttl is refused
// (403) unless the request asks for wrapping within them.
func TestPolicyRequiresWrapping(t *testing.T) {
	s := startWrapServer(t)
	if err := s.root.Sys().PutPolicy("wrapped-reader", `path "secret/*" {
  capabilities     = ["read"]
  min_wrapping_ttl = "1m"
  max_wrapping_ttl = 600
}`); err != nil {
		t.Fatal(err)
	}
	tok, err := s.root.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"wrapped-reader"}})
	if err != nil {
		t.Fatal(err)
	}
	c := s.client(tok.Auth.ClientToken)
	n := s.accessors()
	for _, ttl := range []string{"", "30s", "11m"} {
		_, err := wrapping(t, c, ttl).Logical().Read("secret/foo")
		if err == nil {
			t.Fatalf("read with wrap TTL %q allowed", ttl)
		}
		assertStatus(t, err, http.StatusForbidden)
	}
	if s.accessors() != n {
		t.Fatal("a refused request left a wrapping token behind")
	}
	for _, ttl := range []string{"1m", "5m", "600"} {
		sec, err := wrapping(t, c, ttl).Logical().Read("secret/foo")
		if err != nil || sec.WrapInfo == nil {
			t.Fatalf("read with wrap TTL %q: %v", ttl, err)
		}
		got, err := s.root.Logical().Unwrap(sec.WrapInfo.Token)
		if err != nil || got.Data["a"] != "b" {
			t.Fatalf("unwrap: %v %v", err, got)
		}
	}
}

// TestWrapBadInput: a bad wrap header or an unknown format is a 400 that
// changes nothing; errors are never wrapped; users cannot create
// tokens with, or rewrite, the response-wrapping policy.
func TestWrapBadInput(t *testing.T) {
	s := startWrapServer(t)
	n := s.accessors()
	for _, h := range []map[string]string{
		{"X-Vault-Wrap-TTL": "soon"},
		{"X-Vault-Wrap-TTL": "-5"},
		{"X-Vault-Wrap-TTL": "-1m"},
		{"X-Vault-Wrap-TTL": "10000000000"}, // seconds past what a duration holds
		{"X-Vault-Wrap-TTL": "300000000d"},
		{"X-Vault-Wrap-TTL": "5m", "X-Vault-Wrap-Format": "bogus"},
	} {
		code, body := s.raw("PUT", "/v1/secret/bar", s.root.Token(), h, `{"x":"y"}`)
		var e struct{ Errors []string }
		if code != http.StatusBadRequest || json.Unmarshal(body, &e) != nil || len(e.Errors) != 1 {
			t.Errorf("%v: %d %s", h, code, body)
		}
	}
	if sec, err := s.root.Logical().Read("secret/bar"); err != nil || sec != nil {
		t.Fatalf("a refused write happened: %v %v", sec, err)
	}
	// An error is answered as such, not wrapped.
	code, body := s.raw("GET", "/v1/secret/missing", s.root.Token(), map[string]string{"X-Vault-Wrap-TTL": "5m"}, "")
	if code != http.StatusNotFound || bytes.Contains(body, []byte("wrap_info")) {
		t.Errorf("wrapped read of a missing secret: %d %s", code, body)
	}
	code, body = s.raw("GET", "/v1/nomount/x", s.root.Token(), map[string]string{"X-Vault-Wrap-TTL": "5m"}, "")
	if code != http.StatusNotFound {
		t.Errorf("wrapped read of an unmounted path: %d %s", code, body)
	}
	// "0" asks for no wrapping.
	sec, err := wrapping(t, s.root, "0").Logical().Read("secret/foo")
	if err != nil || sec.WrapInfo != nil || sec.Data["a"] != "b" {
		t.Fatalf("wrap TTL 0: %v %+v", err, sec)
	}
	if s.accessors() != n {
		t.Fatalf("tokens: %d, want %d", s.accessors(), n)
	}

	_, err = s.root.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"response-wrapping"}})
	assertStatus(t, err, http.StatusBadRequest)
	err = s.root.Sys().PutPolicy("response-wrapping", `path "secret/*" { capabilities = ["read"] }`)
	assertStatus(t, err, http.StatusBadRequest)
	err = s.root.Sys().DeletePolicy("response-wrapping")
	assertStatus(t, err, http.StatusBadRequest)
	if s.accessors() != n {
		t.Fatalf("tokens: %d, want %d", s.accessors(), n)
	}
	// A wrapping token can read its response and unwrap, nothing else.
	sec, err = wrapping(t, s.root, "5m").Logical().Read("secret/foo")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.client(sec.WrapInfo.Token).Logical().Read("secret/foo")
	assertStatus(t, err, http.StatusForbidden)
}

// TestEngineResponseWrapData: an engine wraps data through its SystemView,
// as an opaque token or a JWT; the token unwraps to the data; a zero TTL is
// a 400.
func TestEngineResponseWrapData(t *testing.T) {
	s := startWrapServer(t)
	sec, err := s.root.Logical().Write("wrapper/wrap", map[string]any{"ttl": 120, "secret": "s3"})
	if err != nil {
		t.Fatal(err)
	}
	if sec.Data["ttl"] != json.Number("120") || sec.Data["creation_path"] != "sys/wrapping/wrap" {
		t.Fatalf("engine's wrap info %v", sec.Data)
	}
	look, err := s.client("").Logical().Write("sys/wrapping/lookup", map[string]any{"token": sec.Data["token"]})
	if err != nil || look.Data["creation_ttl"] != json.Number("120") {
		t.Fatalf("lookup: %v %v", err, look)
	}
	got, err := s.root.Logical().Unwrap(sec.Data["token"].(string))
	if err != nil || got.Data["secret"] != "s3" {
		t.Fatalf("unwrap: %v %v", err, got)
	}
	// A JWT one carries the same kind of token.
	sec, err = s.root.Logical().Write("wrapper/wrap", map[string]any{"ttl": 120, "jwt": true, "secret": "s4"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(sec.Data["token"].(string), ".") != 2 {
		t.Fatalf("jwt=true gave %v", sec.Data["token"])
	}
	got, err = s.root.Logical().Unwrap(sec.Data["token"].(string))
	if err != nil || got.Data["secret"] != "s4" {
		t.Fatalf("unwrap JWT: %v %v", err, got)
	}
	n := s.accessors()
	_, err = s.root.Logical().Write("wrapper/wrap", map[string]any{"ttl": 0})
	assertStatus(t, err, http.StatusBadRequest)
	if s.accessors() != n {
		t.Fatal("a refused wrap left a token behind")
	}
}
