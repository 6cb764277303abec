package http

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/strongbox/strongbox/internal/audit"
	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/core"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// newTestHandler returns an unsealed core's handler, its root token, and a
// "panic" engine type mounted at boom/.
func newTestHandler(t testing.TB) (*Handler, string) {
	t.Helper()
	engines := builtin.SecretEngines()
	engines["panic"] = func(context.Context, *logical.BackendConfig) (logical.Backend, error) {
		return &logical.FrameworkBackend{Paths: []*logical.Path{{
			Pattern: ".*",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
					panic("engine bug")
				},
			},
		}}}, nil
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := core.New(core.Config{
		Physical: inmem.New(), Logger: logger, StorageType: "inmem",
		SecretEngines: engines, AuthMethods: builtin.AuthMethods(), AuditDevices: audit.Factories(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := c.Init(ctx, core.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Unseal(ctx, res.Keys[0]); err != nil {
		t.Fatal(err)
	}
	for path, body := range map[string]map[string]any{
		"sys/mounts/boom":   {"type": "panic"},
		"sys/mounts/secret": {"type": "kv", "options": map[string]any{"version": "2"}},
	} {
		if _, err := c.HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: path, Data: body, ClientToken: res.RootToken}); err != nil {
			t.Fatal(err)
		}
	}
	return NewHandler(c, Options{Logger: logger, MaxRequestSize: 1 << 20}), res.RootToken
}

func serve(h http.Handler, method, path, token, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		r.Header.Set("X-Vault-Token", token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestPanicBecomes500(t *testing.T) {
	h, root := newTestHandler(t)
	w := serve(h, "GET", "/v1/boom/x", root, "")
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"errors":["internal error"]`) {
		t.Fatalf("panic: %d %s", w.Code, w.Body)
	}
	// The server keeps serving.
	if w := serve(h, "GET", "/v1/sys/mounts", root, ""); w.Code != 200 {
		t.Fatalf("after panic: %d", w.Code)
	}
}

func TestEnvelopeAndErrors(t *testing.T) {
	h, root := newTestHandler(t)
	cases := []struct {
		name, method, path, token, body string
		status                          int
		contains                        string
	}{
		{"write", "PUT", "/v1/secret/data/a", root, `{"data":{"k":"v"}}`, 200, `"version":1`},
		{"read envelope", "GET", "/v1/secret/data/a", root, "", 200, `"mount_type":"kv"`},
		{"list verb", "LIST", "/v1/secret/metadata", root, "", 200, `"keys":["a"]`},
		{"list query", "GET", "/v1/secret/metadata/?list=true", root, "", 200, `"keys":["a"]`},
		{"missing", "GET", "/v1/secret/data/none", root, "", 404, `"errors":[]`},
		{"no token", "GET", "/v1/secret/data/a", "", "", 403, "permission denied"},
		{"bad json", "PUT", "/v1/secret/data/a", root, `{`, 400, "failed to parse JSON"},
		{"too large", "PUT", "/v1/secret/data/a", root, `{"data":{"k":"` + strings.Repeat("x", 2<<20) + `"}}`, 413, "too large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(h, tc.method, tc.path, tc.token, tc.body)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.contains) {
				t.Fatalf("got %d %s; want %d containing %q", w.Code, w.Body, tc.status, tc.contains)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Fatal("Cache-Control missing")
			}
			if w.Code == 200 {
				var env map[string]any
				if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info", "warnings", "auth", "mount_type"} {
					if _, ok := env[k]; !ok {
						t.Errorf("envelope lacks %q", k)
					}
				}
			}
		})
	}
	if w := serve(h, "DELETE", "/v1/secret/metadata/a", root, ""); w.Code != 204 || w.Body.Len() != 0 {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	r := httptest.NewRequest("GET", "/v1/sys/mounts", nil)
	r.Header.Set("X-Vault-Namespace", "team-a")
	r.Header.Set("X-Vault-Token", root)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 400 {
		t.Fatalf("unsupported namespace: %d", w.Code)
	}
}

// FuzzRequestBody: no body, on any of these paths, gets a 5xx or a panic.
func FuzzRequestBody(f *testing.F) {
	for _, s := range []string{`{}`, `{"data":{"a":1}}`, `{"data":null}`, `{"options":{"cas":-1},"data":{}}`,
		`{"type":"kv","options":{"version":"3"}}`, `{"policy":"path \"a\" {}"}`, `{"ttl":"-1s"}`, `[]`, `"x"`,
		`{"config":{"max_lease_ttl":[1]}}`, `{"policies":[{"a":1}]}`, `{"secret_shares":1e99}`} {
		f.Add(s)
	}
	h, root := newTestHandler(f)
	paths := []string{"/v1/secret/data/f", "/v1/secret/metadata/f", "/v1/sys/mounts/fz", "/v1/sys/policies/acl/fz",
		"/v1/auth/token/create", "/v1/sys/audit/fz", "/v1/cubbyhole/f", "/v1/sys/capabilities-self", "/v1/sys/mounts/fz/tune"}
	f.Fuzz(func(t *testing.T, body string) {
		for _, p := range paths {
			for _, m := range []string{"PUT", "PATCH"} {
				w := serve(h, m, p, root, body)
				if w.Code >= 500 {
					t.Fatalf("%s %s %q: %d %s", m, p, body, w.Code, w.Body)
				}
			}
		}
	})
}

func TestDecodeJSONObject(t *testing.T) {
	for _, bad := range []string{`[1]`, `"s"`, `{"a":1} {"b":2}`, `{"a":`} {
		if _, err := decodeJSONObject([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	m, err := decodeJSONObject([]byte(`{"n": 12345678901234567890}`))
	if err != nil || m["n"].(json.Number).String() != "12345678901234567890" {
		t.Fatalf("numbers must keep their text: %v %v", m, err)
	}
}
