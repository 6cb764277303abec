package kv

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestDataWriteAndRead(t *testing.T) {
	e := newV2(t)
	resp := e.mustDo(http.StatusOK, logical.CreateOperation, "data/app/db", map[string]any{"data": map[string]any{"user": "u1"}})
	wantMeta := map[string]any{
		"version":         1,
		"created_time":    "2024-05-06T07:08:09.123456789Z",
		"deletion_time":   "",
		"destroyed":       false,
		"custom_metadata": nil,
	}
	if !jsonEqual(t, resp.Data, wantMeta) {
		t.Fatalf("write response %v, want %v", resp.Data, wantMeta)
	}
	e.clock.Advance(time.Second)
	if v := e.put("app/db", map[string]any{"user": "u2", "nested": map[string]any{"n": 12345678901234567}}); v != 2 {
		t.Fatalf("second write version %d", v)
	}

	cases := []struct {
		name     string
		query    map[string]any
		wantData map[string]any
		wantVer  float64
	}{
		{name: "latest", query: nil, wantData: map[string]any{"user": "u2", "nested": map[string]any{"n": 12345678901234567}}, wantVer: 2},
		{name: "version 0 is latest", query: map[string]any{"version": "0"}, wantData: map[string]any{"user": "u2", "nested": map[string]any{"n": 12345678901234567}}, wantVer: 2},
		{name: "query string", query: map[string]any{"version": "1"}, wantData: map[string]any{"user": "u1"}, wantVer: 1},
		{name: "repeated query", query: map[string]any{"version": []string{"1", "2"}}, wantData: map[string]any{"user": "u1"}, wantVer: 1},
		{name: "json number", query: map[string]any{"version": 1.0}, wantData: map[string]any{"user": "u1"}, wantVer: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, md := e.get("app/db", tc.query)
			if !jsonEqual(t, data, tc.wantData) {
				t.Fatalf("data %v, want %v", data, tc.wantData)
			}
			if got := norm(t, md).(map[string]any)["version"]; got != tc.wantVer {
				t.Fatalf("version %v, want %v", got, tc.wantVer)
			}
		})
	}
	// Large integers survive storage exactly.
	data, _ := e.get("app/db", nil)
	if got := data["nested"].(map[string]any)["n"]; got.(interface{ String() string }).String() != "12345678901234567" {
		t.Fatalf("large int came back as %v", got)
	}
	_, md := e.get("app/db", map[string]any{"version": "1"})
	if md["created_time"] != "2024-05-06T07:08:09.123456789Z" {
		t.Fatalf("version 1 created_time %v", md["created_time"])
	}
}

func TestDataReadMissing(t *testing.T) {
	e := newV2(t)
	e.put("k", map[string]any{"a": "b"})
	cases := []struct {
		name   string
		path   string
		query  map[string]any
		status int
	}{
		{name: "no such key", path: "data/nope", status: http.StatusNotFound},
		{name: "future version", path: "data/k", query: map[string]any{"version": "7"}, status: http.StatusNotFound},
		{name: "bad version", path: "data/k", query: map[string]any{"version": "abc"}, status: http.StatusBadRequest},
		{name: "negative version", path: "data/k", query: map[string]any{"version": "-1"}, status: http.StatusBadRequest},
		{name: "fractional version", path: "data/k", query: map[string]any{"version": 1.5}, status: http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.mustDo(tc.status, logical.ReadOperation, tc.path, tc.query)
			if tc.status == http.StatusNotFound && resp != nil {
				t.Fatalf("want an empty 404, got %s", dump(resp))
			}
		})
	}
}

func TestDataBadWrites(t *testing.T) {
	e := newV2(t)
	e.put("k", map[string]any{"a": "b"})
	before := e.snapshot()
	cases := []struct {
		name string
		op   logical.Operation
		body map[string]any
		msg  string
	}{
		{name: "no data", op: logical.UpdateOperation, body: map[string]any{"foo": "bar"}, msg: "no data provided"},
		{name: "null data", op: logical.UpdateOperation, body: map[string]any{"data": nil}, msg: "no data provided"},
		{name: "string data", op: logical.UpdateOperation, body: map[string]any{"data": "x"}, msg: "data must be a JSON object, got string"},
		{name: "array data", op: logical.UpdateOperation, body: map[string]any{"data": []any{1.0}}, msg: "data must be a JSON object, got array"},
		{name: "number data", op: logical.UpdateOperation, body: map[string]any{"data": 5.0}, msg: "data must be a JSON object, got number"},
		{name: "options not object", op: logical.UpdateOperation, body: map[string]any{"data": map[string]any{}, "options": "cas=1"}, msg: "options must be a JSON object, got string"},
		{name: "bad cas", op: logical.UpdateOperation, body: map[string]any{"data": map[string]any{}, "options": map[string]any{"cas": "one"}}, msg: "error parsing check-and-set parameter"},
		{name: "cas mismatch", op: logical.UpdateOperation, body: map[string]any{"data": map[string]any{}, "options": map[string]any{"cas": 0.0}}, msg: "check-and-set parameter did not match the current version"},
		{name: "negative cas", op: logical.UpdateOperation, body: map[string]any{"data": map[string]any{}, "options": map[string]any{"cas": -1.0}}, msg: "check-and-set parameter did not match the current version"},
		{name: "patch no data", op: logical.PatchOperation, body: map[string]any{}, msg: "no data provided"},
		{name: "patch non-object", op: logical.PatchOperation, body: map[string]any{"data": []any{}}, msg: "data must be a JSON object, got array"},
		{name: "patch cas mismatch", op: logical.PatchOperation, body: map[string]any{"data": map[string]any{"x": 1}, "options": map[string]any{"cas": 5}}, msg: "check-and-set parameter did not match the current version"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := e.do(tc.op, "data/k", tc.body)
			if got := statusOf(tc.op, resp, err); got != http.StatusBadRequest {
				t.Fatalf("status %d, want 400 (%v)", got, err)
			}
			if errMsg(err) != tc.msg {
				t.Fatalf("error %q, want %q", errMsg(err), tc.msg)
			}
			e.assertUnchanged(before)
		})
	}
}

func TestCheckAndSet(t *testing.T) {
	e := newV2(t)
	cas := func(n any) map[string]any { return map[string]any{"cas": n} }
	write := func(path string, opts map[string]any) (*logical.Response, error) {
		body := map[string]any{"data": map[string]any{"v": "x"}}
		if opts != nil {
			body["options"] = opts
		}
		return e.do(logical.UpdateOperation, "data/"+path, body)
	}

	// Without cas_required, cas is optional but enforced when given.
	if _, err := write("free", cas(0)); err != nil {
		t.Fatalf("cas 0 on a new key: %v", err)
	}
	if _, err := write("free", cas(0)); errMsg(err) != "check-and-set parameter did not match the current version" {
		t.Fatalf("cas 0 on an existing key: %v", err)
	}
	if _, err := write("free", cas("1")); err != nil {
		t.Fatalf("cas \"1\" (string) at version 1: %v", err)
	}
	if _, err := write("free", nil); err != nil {
		t.Fatalf("no cas when not required: %v", err)
	}

	// Key-level cas_required.
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "metadata/strict", map[string]any{"cas_required": true})
	if _, err := write("strict", nil); errMsg(err) != "check-and-set parameter required for this call" {
		t.Fatalf("missing cas on strict key: %v", err)
	}
	if _, err := write("strict", cas(0)); err != nil {
		t.Fatalf("cas 0 on strict key without versions: %v", err)
	}

	// Engine-level cas_required covers every key, patches included.
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "config", map[string]any{"cas_required": true})
	if _, err := write("free", nil); errMsg(err) != "check-and-set parameter required for this call" {
		t.Fatalf("missing cas with engine cas_required: %v", err)
	}
	if _, err := e.do(logical.PatchOperation, "data/free", map[string]any{"data": map[string]any{"w": 1}}); errMsg(err) != "check-and-set parameter required for this call" {
		t.Fatalf("patch without cas: %v", err)
	}
	if _, err := write("free", cas(3)); err != nil {
		t.Fatalf("correct cas: %v", err)
	}
	if _, err := e.do(logical.PatchOperation, "data/free", map[string]any{"data": map[string]any{"w": 1}, "options": cas(4)}); err != nil {
		t.Fatalf("patch with correct cas: %v", err)
	}
	if md := e.metadata("free"); md["current_version"] != uint64(5) {
		t.Fatalf("current_version %v, want 5", md["current_version"])
	}
}

func TestMaxVersionsTrimming(t *testing.T) {
	cases := []struct {
		name       string
		config     map[string]any
		keyMax     any
		writes     int
		wantKept   []string
		wantOldest uint64
	}{
		{name: "default keeps 10", writes: 12, wantKept: []string{"3", "4", "5", "6", "7", "8", "9", "10", "11", "12"}, wantOldest: 3},
		{name: "engine max 3", config: map[string]any{"max_versions": 3}, writes: 5, wantKept: []string{"3", "4", "5"}, wantOldest: 3},
		{name: "key max overrides engine", config: map[string]any{"max_versions": 3}, keyMax: 2, writes: 5, wantKept: []string{"4", "5"}, wantOldest: 4},
		{name: "under the limit", config: map[string]any{"max_versions": 3}, writes: 2, wantKept: []string{"1", "2"}, wantOldest: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newV2(t)
			if tc.config != nil {
				e.mustDo(http.StatusNoContent, logical.UpdateOperation, "config", tc.config)
			}
			if tc.keyMax != nil {
				e.mustDo(http.StatusNoContent, logical.UpdateOperation, "metadata/k", map[string]any{"max_versions": tc.keyMax})
			}
			for i := 1; i <= tc.writes; i++ {
				e.put("k", map[string]any{"i": i})
			}
			md := e.metadata("k")
			var kept []string
			for v := range md["versions"].(map[string]any) {
				kept = append(kept, v)
			}
			if !sameSet(kept, tc.wantKept) {
				t.Fatalf("versions kept %v, want %v", kept, tc.wantKept)
			}
			if md["oldest_version"] != tc.wantOldest {
				t.Fatalf("oldest_version %v, want %d", md["oldest_version"], tc.wantOldest)
			}
			// Trimmed versions are gone from storage too.
			if got := len(e.storageKeys(versionDir("k"))); got != len(tc.wantKept) {
				t.Fatalf("%d version entries in storage, want %d", got, len(tc.wantKept))
			}
			// The oldest kept reads; the one before it does not.
			e.get("k", map[string]any{"version": tc.wantKept[0]})
			if tc.wantOldest > 1 {
				e.mustDo(http.StatusNotFound, logical.ReadOperation, "data/k", map[string]any{"version": tc.wantOldest - 1})
			}
		})
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestDeleteLatestReadsAs404WithMetadata(t *testing.T) {
	e := newV2(t)
	e.put("k", map[string]any{"a": "1"})
	e.put("k", map[string]any{"a": "2"})
	e.clock.Advance(time.Minute)
	e.mustDo(http.StatusNoContent, logical.DeleteOperation, "data/k", nil)

	resp := e.mustDo(http.StatusNotFound, logical.ReadOperation, "data/k", nil)
	body := rawBody(t, resp)
	want := map[string]any{
		"data": nil,
		"metadata": map[string]any{
			"version": 2, "created_time": "2024-05-06T07:08:09.123456789Z",
			"deletion_time": "2024-05-06T07:09:09.123456789Z", "destroyed": false, "custom_metadata": nil,
		},
	}
	if !jsonEqual(t, body["data"], want) {
		t.Fatalf("404 body data %v, want %v", body["data"], want)
	}
	if body["request_id"] != "req-1" || body["mount_type"] != "kv" {
		t.Fatalf("envelope %v", body)
	}
	// Older versions still read; deleting again changes nothing.
	data, _ := e.get("k", map[string]any{"version": "1"})
	if data["a"] != "1" {
		t.Fatalf("version 1 data %v", data)
	}
	before := e.snapshot()
	e.clock.Advance(time.Minute)
	e.mustDo(http.StatusNoContent, logical.DeleteOperation, "data/k", nil)
	e.assertUnchanged(before)
	// Deleting a key that does not exist is a no-op.
	e.mustDo(http.StatusNoContent, logical.DeleteOperation, "data/nope", nil)
	e.assertUnchanged(before)
}

func TestDeleteVersionAfter(t *testing.T) {
	cases := []struct {
		name      string
		engineDVA any
		keyDVA    any
		wantAfter time.Duration // 0: never deleted
	}{
		{name: "key setting", keyDVA: "1h", wantAfter: time.Hour},
		{name: "engine setting", engineDVA: "2h", wantAfter: 2 * time.Hour},
		{name: "smaller of the two: engine", engineDVA: "30m", keyDVA: "1h", wantAfter: 30 * time.Minute},
		{name: "smaller of the two: key", engineDVA: "3h", keyDVA: 600, wantAfter: 10 * time.Minute},
		{name: "engine disables", engineDVA: "-1s", keyDVA: "1h", wantAfter: 0},
		{name: "none", wantAfter: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newV2(t)
			if tc.engineDVA != nil {
				e.mustDo(http.StatusNoContent, logical.UpdateOperation, "config", map[string]any{"delete_version_after": tc.engineDVA})
			}
			if tc.keyDVA != nil {
				e.mustDo(http.StatusNoContent, logical.UpdateOperation, "metadata/k", map[string]any{"delete_version_after": tc.keyDVA})
			}
			created := e.clock.Now()
			resp := e.mustDo(http.StatusOK, logical.UpdateOperation, "data/k", map[string]any{"data": map[string]any{"a": "b"}})
			wantDeletion := ""
			if tc.wantAfter > 0 {
				wantDeletion = created.Add(tc.wantAfter).Format(time.RFC3339Nano)
			}
			if resp.Data["deletion_time"] != wantDeletion {
				t.Fatalf("deletion_time %v, want %q", resp.Data["deletion_time"], wantDeletion)
			}
			e.get("k", nil) // readable now
			if tc.wantAfter == 0 {
				e.clock.Advance(1000 * time.Hour)
				e.get("k", nil)
				return
			}
			e.clock.Advance(tc.wantAfter - time.Nanosecond)
			e.get("k", nil)
			e.clock.Advance(time.Nanosecond)
			resp = e.mustDo(http.StatusNotFound, logical.ReadOperation, "data/k", nil)
			if body := rawBody(t, resp); body["data"].(map[string]any)["data"] != nil {
				t.Fatalf("expired version leaked data: %v", body)
			}
			// Undelete restarts the clock from now.
			e.mustDo(http.StatusNoContent, logical.UpdateOperation, "undelete/k", map[string]any{"versions": []any{1}})
			_, md := e.get("k", nil)
			if md["deletion_time"] != e.clock.Now().Add(tc.wantAfter).Format(time.RFC3339Nano) {
				t.Fatalf("after undelete deletion_time %v", md["deletion_time"])
			}
		})
	}
}

func TestPatchData(t *testing.T) {
	e := newV2(t)
	e.put("k", map[string]any{
		"a": "1",
		"b": map[string]any{"c": "2", "d": "3"},
		"e": "x",
		"l": []any{"p", "q"},
	})
	e.clock.Advance(time.Second)
	resp := e.mustDo(http.StatusOK, logical.PatchOperation, "data/k", map[string]any{"data": map[string]any{
		"b": map[string]any{"c": nil, "f": "4"},
		"e": nil,
		"l": []any{"r"},
		"g": map[string]any{"h": true},
	}})
	if !jsonEqual(t, resp.Data, map[string]any{
		"version": 2, "created_time": "2024-05-06T07:08:10.123456789Z", "deletion_time": "", "destroyed": false, "custom_metadata": nil,
	}) {
		t.Fatalf("patch response %v", resp.Data)
	}
	data, _ := e.get("k", nil)
	want := map[string]any{
		"a": "1",
		"b": map[string]any{"d": "3", "f": "4"},
		"l": []any{"r"},
		"g": map[string]any{"h": true},
	}
	if !jsonEqual(t, data, want) {
		t.Fatalf("patched data %v, want %v", data, want)
	}
	// The previous version is untouched.
	old, _ := e.get("k", map[string]any{"version": "1"})
	if old["e"] != "x" {
		t.Fatalf("version 1 changed: %v", old)
	}
}

func TestPatchDataNotFound(t *testing.T) {
	e := newV2(t)
	patch := map[string]any{"data": map[string]any{"a": "b"}}

	// No such key: 404 with no body.
	resp, err := e.do(logical.PatchOperation, "data/nope", patch)
	if statusOf(logical.PatchOperation, resp, err) != http.StatusNotFound || resp != nil {
		t.Fatalf("patch missing key: %v %s", err, dump(resp))
	}
	// Metadata only, no versions: 404.
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "metadata/empty", map[string]any{"max_versions": 4})
	e.mustDo(http.StatusNotFound, logical.PatchOperation, "data/empty", patch)

	// Latest deleted or destroyed: 404 carrying its metadata, flat.
	e.put("del", map[string]any{"a": "1"})
	e.mustDo(http.StatusNoContent, logical.DeleteOperation, "data/del", nil)
	e.put("gone", map[string]any{"a": "1"})
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "destroy/gone", map[string]any{"versions": []any{1}})
	before := e.snapshot()
	for _, p := range []string{"del", "gone"} {
		resp := e.mustDo(http.StatusNotFound, logical.PatchOperation, "data/"+p, patch)
		body := rawBody(t, resp)
		md := body["data"].(map[string]any)
		if md["version"] != 1.0 || (md["deletion_time"] == "" && md["destroyed"] != true) {
			t.Fatalf("%s: 404 body %v", p, body)
		}
	}
	e.assertUnchanged(before)
}

func TestDataExistenceCheck(t *testing.T) {
	e := newV2(t)
	ctx := context.Background()
	check := func(path string) bool {
		supported, exists, err := e.b.ExistenceCheck(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: path, Storage: e.storage})
		if err != nil || !supported {
			t.Fatalf("existence check %s: supported=%v err=%v", path, supported, err)
		}
		return exists
	}
	if check("data/k") || check("metadata/k") {
		t.Fatal("exists before any write")
	}
	e.put("k", map[string]any{"a": "b"})
	if !check("data/k") || !check("metadata/k") {
		t.Fatal("does not exist after write")
	}
}

func TestInvalidPaths(t *testing.T) {
	e := newV2(t)
	cases := []struct {
		op   logical.Operation
		path string
		want string
	}{
		{op: logical.ReadOperation, path: "foo", want: "use 'vault kv get'"},
		{op: logical.UpdateOperation, path: "foo/bar", want: "use 'vault kv put'"},
		{op: logical.ListOperation, path: "foo/", want: "use 'vault kv list'"},
		{op: logical.DeleteOperation, path: "foo", want: "use 'vault kv delete'"},
		{op: logical.PatchOperation, path: "foo", want: "use 'vault kv patch'"},
		{op: logical.ReadOperation, path: "data", want: "Non-listing operations on the root"},
		{op: logical.ReadOperation, path: "data/", want: "Non-listing operations on the root"},
		{op: logical.ReadOperation, path: "metadata/", want: "Non-listing operations on the root"},
		{op: logical.UpdateOperation, path: "destroy", want: "Non-listing operations on the root"},
	}
	for _, tc := range cases {
		t.Run(string(tc.op)+" "+tc.path, func(t *testing.T) {
			resp := e.mustDo(http.StatusNotFound, tc.op, tc.path, nil)
			body := rawBody(t, resp)
			ws, _ := body["warnings"].([]any)
			if len(ws) != 1 || !strings.Contains(ws[0].(string), tc.want) {
				t.Fatalf("warnings %v, want one containing %q", ws, tc.want)
			}
		})
	}
	// An operation the path does not serve is 405.
	_, err := e.do(logical.ListOperation, "data/k", nil)
	if s, _ := logical.StatusOf(err); s != http.StatusMethodNotAllowed {
		t.Fatalf("LIST data/k: %v", err)
	}
}
