package audit

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestEntryFields(t *testing.T) {
	ctx := context.Background()
	d, path := newDevice(t, nil, nil)
	in := sampleInput()
	if err := d.LogRequest(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := d.LogResponse(ctx, in); err != nil {
		t.Fatal(err)
	}
	entries := readEntries(t, path, "")
	if len(entries) != 2 {
		t.Fatalf("got %d entries, want 2", len(entries))
	}
	h := func(s string) string {
		v, err := d.Hash(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	// Fields common to both entries.
	common := []struct {
		keys []string
		want any
	}{
		{[]string{"auth", "client_token"}, h(secretToken)},
		{[]string{"auth", "accessor"}, h(secretAccessor)},
		{[]string{"auth", "display_name"}, "token-app"},
		{[]string{"auth", "policies"}, []any{"default", "app"}},
		{[]string{"auth", "token_policies"}, []any{"default", "app"}},
		{[]string{"auth", "metadata"}, map[string]any{"team": "blue"}},
		{[]string{"auth", "entity_id"}, "entity-1"},
		{[]string{"auth", "token_type"}, "service"},
		{[]string{"auth", "token_ttl"}, float64(768 * 3600)},
		{[]string{"request", "id"}, "req-1234"},
		{[]string{"request", "operation"}, "update"},
		{[]string{"request", "mount_type"}, "kv"},
		{[]string{"request", "mount_point"}, "secret/"},
		{[]string{"request", "client_token"}, h(secretToken)},
		{[]string{"request", "client_token_accessor"}, h(secretAccessor)},
		{[]string{"request", "namespace"}, map[string]any{"id": "root"}},
		{[]string{"request", "path"}, "creds/app"},
		{[]string{"request", "remote_address"}, "10.1.2.3"},
		{[]string{"request", "remote_port"}, float64(54321)},
		{[]string{"request", "headers"}, map[string]any{"x-correlation-id": []any{"corr-1"}}},
		{[]string{"request", "data", "password"}, h(secretReqValue)},
		{[]string{"request", "data", "ttl"}, float64(3600)},
		{[]string{"request", "data", "count"}, float64(7)},
		{[]string{"request", "data", "enabled"}, true},
		{[]string{"request", "data", "nothing"}, nil},
		{[]string{"request", "data", "config"}, map[string]any{"api_key": h(secretNested), "port": 8200.0}},
		{[]string{"request", "data", "list"}, []any{h(secretListItem), 1.5, map[string]any{"inner": h(secretNested)}}},
		{[]string{"request", "data", "names"}, []any{h(secretListItem)}},
		{[]string{"request", "data", "labels"}, map[string]any{"k": h(secretNested)}},
		{[]string{"request", "data", "blob"}, h(secretNested)},
		{[]string{"error"}, "1 error occurred"},
	}
	for i, e := range entries {
		wantType := []string{"request", "response"}[i]
		if got := get(t, e, "type"); got != wantType {
			t.Errorf("entry %d type = %v, want %s", i, got, wantType)
		}
		ts, _ := get(t, e, "time").(string)
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("entry %d time %q: %v", i, ts, err)
		}
		for _, c := range common {
			if got := get(t, e, c.keys...); !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s entry %v = %#v, want %#v", wantType, c.keys, got, c.want)
			}
		}
	}
	if has(entries[0], "response") {
		t.Error("request entry has a response")
	}

	resp := entries[1]
	respWant := []struct {
		keys []string
		want any
	}{
		{[]string{"response", "mount_type"}, "kv"},
		{[]string{"response", "mount_point"}, "secret/"},
		{[]string{"response", "data", "password"}, h(secretRespValue)},
		{[]string{"response", "data", "version"}, float64(3)},
		{[]string{"response", "data", "keys"}, []any{h(secretListItem)}},
		{[]string{"response", "secret"}, map[string]any{"lease_id": "secret/creds/app/lease1"}},
		{[]string{"response", "auth", "client_token"}, h(secretNewToken)},
		{[]string{"response", "auth", "accessor"}, h(secretNewAccessor)},
		{[]string{"response", "auth", "num_uses"}, float64(3)},
		{[]string{"response", "auth", "token_ttl"}, float64(3600)},
		{[]string{"response", "auth", "token_type"}, "default"},
		{[]string{"response", "warnings"}, []any{"a warning"}},
		{[]string{"response", "wrap_info", "token"}, h(secretWrapToken)},
		{[]string{"response", "wrap_info", "accessor"}, h("wrap-accessor-1")},
		{[]string{"response", "wrap_info", "ttl"}, float64(300)},
		{[]string{"response", "wrap_info", "creation_time"}, "2025-01-02T03:04:05Z"},
		{[]string{"response", "wrap_info", "creation_path"}, "creds/app"},
	}
	for _, c := range respWant {
		if got := get(t, resp, c.keys...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("response entry %v = %#v, want %#v", c.keys, got, c.want)
		}
	}
}

func TestEntryWithoutAuthUsesRequestToken(t *testing.T) {
	ctx := context.Background()
	d, path := newDevice(t, nil, nil)
	in := &LogInput{Request: &logical.Request{
		Operation:   logical.ReadOperation,
		Path:        "sys/health",
		ClientToken: secretToken,
		DisplayName: "root",
		Policies:    []string{"root"},
		TokenTTL:    90 * time.Second,
		Connection:  &logical.Connection{RemoteAddr: "127.0.0.1"},
	}}
	if err := d.LogResponse(ctx, in); err != nil {
		t.Fatal(err)
	}
	e := readEntries(t, path, "")[0]
	want, _ := d.Hash(ctx, secretToken)
	checks := []struct {
		keys []string
		want any
	}{
		{[]string{"auth", "client_token"}, want},
		{[]string{"auth", "display_name"}, "root"},
		{[]string{"auth", "token_ttl"}, float64(90)},
		{[]string{"auth", "token_type"}, "default"},
		{[]string{"request", "remote_address"}, "127.0.0.1"},
	}
	for _, c := range checks {
		if got := get(t, e, c.keys...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v = %#v, want %#v", c.keys, got, c.want)
		}
	}
	for _, absent := range [][]string{{"request", "remote_port"}, {"response", "data"}, {"response", "mount_type"}, {"error"}, {"request", "data"}} {
		if has(e, absent...) {
			t.Errorf("%v present, want omitted", absent)
		}
	}
}

// TestSecretsInClear writes known secrets through every field that carries
// them and greps the raw file: HMAC'ing devices must never contain them,
// log_raw devices must.
func TestSecretsInClear(t *testing.T) {
	secrets := []string{secretToken, secretReqValue, secretNested, secretListItem,
		secretRespValue, secretNewToken, secretWrapToken}
	accessors := []string{secretAccessor, secretNewAccessor}
	tests := []struct {
		name          string
		opts          map[string]string
		secretsClear  bool
		accessorClear bool
	}{
		{"default", nil, false, false},
		{"hmac_accessor=true", map[string]string{"hmac_accessor": "true"}, false, false},
		{"hmac_accessor=false", map[string]string{"hmac_accessor": "false"}, false, true},
		{"log_raw", map[string]string{"log_raw": "true"}, true, true},
		{"jsonx", map[string]string{"format": "jsonx"}, false, false},
		{"elide", map[string]string{"elide_list_responses": "true"}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			d, path := newDevice(t, tc.opts, nil)
			in := sampleInput()
			in.AuditedHeaders = HeaderConfig{"x-vault-token": true}
			if err := d.LogRequest(ctx, in); err != nil {
				t.Fatal(err)
			}
			if err := d.LogResponse(ctx, in); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			content := string(raw)
			for _, s := range secrets {
				if got := strings.Contains(content, s); got != tc.secretsClear {
					t.Errorf("secret %q in clear = %v, want %v", s, got, tc.secretsClear)
				}
			}
			for _, s := range accessors {
				if got := strings.Contains(content, s); got != tc.accessorClear {
					t.Errorf("accessor %q in clear = %v, want %v", s, got, tc.accessorClear)
				}
			}
			if strings.Contains(content, secretHeaderValue) {
				t.Error("an unconfigured header was recorded")
			}
			if !strings.Contains(content, "hmac-sha256:") {
				t.Error("no hmac-sha256 value in the file")
			}
		})
	}
}

func TestHMACAccessorFalse(t *testing.T) {
	ctx := context.Background()
	d, path := newDevice(t, map[string]string{"hmac_accessor": "false"}, nil)
	if err := d.LogResponse(ctx, sampleInput()); err != nil {
		t.Fatal(err)
	}
	e := readEntries(t, path, "")[0]
	tok, _ := d.Hash(ctx, secretToken)
	checks := []struct {
		keys []string
		want string
	}{
		{[]string{"auth", "accessor"}, secretAccessor},
		{[]string{"request", "client_token_accessor"}, secretAccessor},
		{[]string{"response", "auth", "accessor"}, secretNewAccessor},
		{[]string{"response", "wrap_info", "accessor"}, "wrap-accessor-1"},
		{[]string{"auth", "client_token"}, tok},
		{[]string{"request", "client_token"}, tok},
	}
	for _, c := range checks {
		if got := get(t, e, c.keys...); got != c.want {
			t.Errorf("%v = %v, want %v", c.keys, got, c.want)
		}
	}
}

func TestLogRawWritesClearValues(t *testing.T) {
	ctx := context.Background()
	d, path := newDevice(t, map[string]string{"log_raw": "true"}, nil)
	if err := d.LogResponse(ctx, sampleInput()); err != nil {
		t.Fatal(err)
	}
	e := readEntries(t, path, "")[0]
	checks := []struct {
		keys []string
		want any
	}{
		{[]string{"auth", "client_token"}, secretToken},
		{[]string{"request", "data", "password"}, secretReqValue},
		{[]string{"request", "data", "config", "api_key"}, secretNested},
		{[]string{"response", "data", "password"}, secretRespValue},
		{[]string{"response", "auth", "client_token"}, secretNewToken},
		{[]string{"response", "wrap_info", "token"}, secretWrapToken},
	}
	for _, c := range checks {
		if got := get(t, e, c.keys...); got != c.want {
			t.Errorf("%v = %v, want %v", c.keys, got, c.want)
		}
	}
}

func TestInputNotMutated(t *testing.T) {
	for _, opts := range []map[string]string{nil, {"log_raw": "true", "elide_list_responses": "true"}} {
		ctx := context.Background()
		d, _ := newDevice(t, opts, nil)
		in := sampleInput()
		in.Request.Operation = logical.ListOperation
		in.AuditedHeaders = HeaderConfig{"x-custom": true}
		if err := d.LogRequest(ctx, in); err != nil {
			t.Fatal(err)
		}
		if err := d.LogResponse(ctx, in); err != nil {
			t.Fatal(err)
		}
		want := sampleInput()
		want.Request.Operation = logical.ListOperation
		want.AuditedHeaders = HeaderConfig{"x-custom": true}
		for _, c := range []struct {
			name      string
			got, want any
		}{
			{"request", in.Request, want.Request},
			{"auth", in.Auth, want.Auth},
			{"response", in.Response, want.Response},
			{"wrap info", in.WrapInfo, want.WrapInfo},
		} {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("opts %v: %s modified:\n got %#v\nwant %#v", opts, c.name, c.got, c.want)
			}
		}
	}
}

func TestNonHMACKeys(t *testing.T) {
	ctx := context.Background()
	d, path := newDevice(t, nil, nil)
	in := sampleInput()
	in.NonHMACReqDataKeys = []string{"password", "api_key"}
	in.NonHMACRespDataKeys = []string{"keys"}
	if err := d.LogResponse(ctx, in); err != nil {
		t.Fatal(err)
	}
	e := readEntries(t, path, "")[0]
	respPw, _ := d.Hash(ctx, secretRespValue)
	checks := []struct {
		keys []string
		want any
	}{
		{[]string{"request", "data", "password"}, secretReqValue},
		{[]string{"request", "data", "config", "api_key"}, secretNested},
		{[]string{"response", "data", "keys"}, []any{secretListItem}},
		{[]string{"response", "data", "password"}, respPw},
	}
	for _, c := range checks {
		if got := get(t, e, c.keys...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v = %#v, want %#v", c.keys, got, c.want)
		}
	}
}

func TestElideListResponses(t *testing.T) {
	tests := []struct {
		name string
		op   logical.Operation
		opts map[string]string
		want any // value of response.data.keys
	}{
		{"list elided", logical.ListOperation, map[string]string{"elide_list_responses": "true"}, float64(3)},
		{"list elided raw", logical.ListOperation, map[string]string{"elide_list_responses": "true", "log_raw": "true"}, float64(3)},
		{"read not elided", logical.ReadOperation, map[string]string{"elide_list_responses": "true", "log_raw": "true"}, []any{"a", "b", "c"}},
		{"list not configured", logical.ListOperation, map[string]string{"log_raw": "true"}, []any{"a", "b", "c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, path := newDevice(t, tc.opts, nil)
			in := &LogInput{
				Request: &logical.Request{Operation: tc.op, Path: "metadata/"},
				Response: &logical.Response{Data: map[string]any{
					"keys":     []string{"a", "b", "c"},
					"key_info": map[string]any{"a": map[string]any{}, "b": map[string]any{}},
				}},
			}
			if err := d.LogResponse(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			e := readEntries(t, path, "")[0]
			if got := get(t, e, "response", "data", "keys"); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("keys = %#v, want %#v", got, tc.want)
			}
			if _, isNum := tc.want.(float64); isNum {
				if got := get(t, e, "response", "data", "key_info"); got != float64(2) {
					t.Errorf("key_info = %#v, want 2", got)
				}
			}
		})
	}
}

func TestAuditedHeaders(t *testing.T) {
	tests := []struct {
		name string
		cfg  HeaderConfig
		raw  bool
		want map[string]any // request.headers; nil = absent
	}{
		{"defaults", nil, false, map[string]any{"x-correlation-id": []any{"corr-1"}}},
		{"none", HeaderConfig{}, false, nil},
		{"clear custom", HeaderConfig{"x-custom": false}, false, map[string]any{"x-custom": []any{secretHeaderValue}}},
		{"hmac custom", HeaderConfig{"x-custom": true}, false, map[string]any{"x-custom": []any{"HMAC"}}},
		{"hmac custom even raw", HeaderConfig{"x-custom": true}, true, map[string]any{"x-custom": []any{"HMAC"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			opts := map[string]string{"log_raw": "false"}
			if tc.raw {
				opts["log_raw"] = "true"
			}
			d, path := newDevice(t, opts, nil)
			in := sampleInput()
			in.AuditedHeaders = tc.cfg
			if err := d.LogRequest(ctx, in); err != nil {
				t.Fatal(err)
			}
			e := readEntries(t, path, "")[0]
			if tc.want == nil {
				if has(e, "request", "headers") {
					t.Fatalf("headers = %v, want none", get(t, e, "request", "headers"))
				}
				return
			}
			hv, _ := d.Hash(ctx, secretHeaderValue)
			want, _ := json.Marshal(tc.want)
			wantS := strings.ReplaceAll(string(want), "HMAC", hv)
			got, _ := json.Marshal(get(t, e, "request", "headers"))
			if string(got) != wantS {
				t.Errorf("headers = %s, want %s", got, wantS)
			}
		})
	}
}
