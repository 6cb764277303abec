package kv

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestMetadataRead(t *testing.T) {
	e := newV2(t)
	e.put("k", map[string]any{"a": "1"})
	e.clock.Advance(time.Second)
	e.put("k", map[string]any{"a": "2"})
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "metadata/k", map[string]any{
		"max_versions": 5, "delete_version_after": "3h25m19s", "custom_metadata": map[string]any{"owner": "jdoe", "n": 1.0},
	})
	md := e.metadata("k")
	want := map[string]any{
		"cas_required":         false,
		"created_time":         "2024-05-06T07:08:09.123456789Z",
		"current_version":      2,
		"delete_version_after": "3h25m19s",
		"max_versions":         5,
		"oldest_version":       0,
		"updated_time":         "2024-05-06T07:08:10.123456789Z",
		"custom_metadata":      map[string]any{"owner": "jdoe", "n": "1"},
		"versions": map[string]any{
			"1": map[string]any{"created_time": "2024-05-06T07:08:09.123456789Z", "deletion_time": "", "destroyed": false},
			"2": map[string]any{"created_time": "2024-05-06T07:08:10.123456789Z", "deletion_time": "", "destroyed": false},
		},
	}
	if !jsonEqual(t, md, want) {
		t.Fatalf("metadata\n got %v\nwant %v", norm(t, md), norm(t, want))
	}
	// custom_metadata is shown on data reads and writes too.
	_, vmd := e.get("k", nil)
	if !jsonEqual(t, vmd["custom_metadata"], map[string]any{"owner": "jdoe", "n": "1"}) {
		t.Fatalf("data read custom_metadata %v", vmd["custom_metadata"])
	}
	resp := e.mustDo(http.StatusOK, logical.UpdateOperation, "data/k", map[string]any{"data": map[string]any{}})
	if !jsonEqual(t, resp.Data["custom_metadata"], map[string]any{"owner": "jdoe", "n": "1"}) {
		t.Fatalf("write custom_metadata %v", resp.Data["custom_metadata"])
	}
	e.mustDo(http.StatusNotFound, logical.ReadOperation, "metadata/nope", nil)
}

func TestMetadataList(t *testing.T) {
	e := newV2(t)
	for _, p := range []string{"foo", "foo/bar", "foo/baz/qux", "zed"} {
		e.put(p, map[string]any{"v": p})
	}
	// A key created through metadata alone is listed too.
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "metadata/foo/meta-only", map[string]any{"max_versions": 1})
	cases := []struct {
		path string
		want []string
	}{
		{path: "metadata/", want: []string{"foo", "foo/", "zed"}},
		{path: "metadata", want: []string{"foo", "foo/", "zed"}},
		{path: "metadata/foo", want: []string{"bar", "baz/", "meta-only"}},
		{path: "metadata/foo/", want: []string{"bar", "baz/", "meta-only"}},
		{path: "metadata/foo/baz/", want: []string{"qux"}},
		{path: "metadata/nothing/", want: nil},
		{path: "metadata/zed/", want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := e.do(logical.ListOperation, tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if resp != nil {
					t.Fatalf("want 404, got %s", dump(resp))
				}
				return
			}
			if !jsonEqual(t, resp.Data, map[string]any{"keys": tc.want}) {
				t.Fatalf("keys %v, want %v", resp.Data, tc.want)
			}
		})
	}
}

func TestMetadataWrite(t *testing.T) {
	e := newV2(t)
	// Nothing to set creates nothing, as in Vault.
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "metadata/k", map[string]any{})
	e.mustDo(http.StatusNotFound, logical.ReadOperation, "metadata/k", nil)

	// Metadata without versions: the key exists, its data does not.
	e.mustDo(http.StatusNoContent, logical.CreateOperation, "metadata/k", map[string]any{"cas_required": true, "custom_metadata": map[string]any{"a": "b"}})
	md := e.metadata("k")
	if md["current_version"] != uint64(0) || md["cas_required"] != true || md["created_time"] != "2024-05-06T07:08:09.123456789Z" {
		t.Fatalf("metadata-only key %v", md)
	}
	e.mustDo(http.StatusNotFound, logical.ReadOperation, "data/k", nil)

	// A PUT replaces each field it names; null custom_metadata clears it
	// (the Go client sends that for an unset map).
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "metadata/k", map[string]any{"max_versions": 0, "cas_required": false, "delete_version_after": "0s", "custom_metadata": nil})
	md = e.metadata("k")
	if md["cas_required"] != false || md["custom_metadata"] != nil || md["delete_version_after"] != "0s" {
		t.Fatalf("after reset %v", md)
	}

	// cas_required false under an engine that requires it: warning.
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "config", map[string]any{"cas_required": true})
	resp := e.mustDo(http.StatusOK, logical.UpdateOperation, "metadata/k", map[string]any{"cas_required": false})
	if len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "mandated by backend config") {
		t.Fatalf("warnings %v", resp.Warnings)
	}
}

func TestMetadataBadInput(t *testing.T) {
	e := newV2(t)
	e.put("k", map[string]any{"a": "b"})
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "metadata/k", map[string]any{"custom_metadata": map[string]any{"keep": "me"}})
	before := e.snapshot()

	tooMany := map[string]any{}
	for i := 0; i < 65; i++ {
		tooMany[fmt.Sprintf("k%02d", i)] = "v"
	}
	cases := []struct {
		name string
		body map[string]any
		msg  string
	}{
		{name: "negative max_versions", body: map[string]any{"max_versions": -1}, msg: "max_versions must not be negative"},
		{name: "string max_versions", body: map[string]any{"max_versions": "lots"}, msg: "invalid max_versions"},
		{name: "huge max_versions", body: map[string]any{"max_versions": 1 << 40}, msg: "too large"},
		{name: "bad cas_required", body: map[string]any{"cas_required": "perhaps"}, msg: "invalid cas_required"},
		{name: "negative delete_version_after", body: map[string]any{"delete_version_after": "-5m"}, msg: "must not be negative"},
		{name: "garbage delete_version_after", body: map[string]any{"delete_version_after": "soon"}, msg: "invalid delete_version_after"},
		{name: "custom_metadata not object", body: map[string]any{"custom_metadata": "a=b"}, msg: "custom_metadata validation failed: expected an object"},
		{name: "custom_metadata nested", body: map[string]any{"custom_metadata": map[string]any{"a": map[string]any{}}}, msg: "expected a string, got object"},
		{name: "too many keys", body: map[string]any{"custom_metadata": tooMany}, msg: "payload must contain at most 64 keys, provided 65"},
		{name: "key too long", body: map[string]any{"custom_metadata": map[string]any{strings.Repeat("k", 129): "v"}}, msg: "is 129 but must be 0 < len(key) <= 128"},
		{name: "value too long", body: map[string]any{"custom_metadata": map[string]any{"k": strings.Repeat("v", 513)}}, msg: "is 513 but must be 0 < len(value) <= 512"},
		{name: "empty value", body: map[string]any{"custom_metadata": map[string]any{"k": ""}}, msg: "is 0 but must be 0 < len(value) <= 512"},
		{name: "null value in put", body: map[string]any{"custom_metadata": map[string]any{"k": nil}}, msg: "is 0 but must be 0 < len(value) <= 512"},
		{name: "unprintable", body: map[string]any{"custom_metadata": map[string]any{"k\x00": "v"}}, msg: "contains unprintable characters"},
		{name: "valid field with one bad", body: map[string]any{"max_versions": 3, "cas_required": "nope"}, msg: "invalid cas_required"},
	}
	for _, tc := range cases {
		for _, op := range []logical.Operation{logical.UpdateOperation, logical.PatchOperation} {
			t.Run(string(op)+" "+tc.name, func(t *testing.T) {
				if op == logical.PatchOperation && tc.name == "null value in put" {
					return // a null removes the key in a patch
				}
				resp, err := e.do(op, "metadata/k", tc.body)
				if got := statusOf(op, resp, err); got != http.StatusBadRequest {
					t.Fatalf("status %d, want 400", got)
				}
				if !strings.Contains(errMsg(err), tc.msg) {
					t.Fatalf("error %q, want it to contain %q", errMsg(err), tc.msg)
				}
				e.assertUnchanged(before)
			})
		}
	}
	// Limits hold for the result of a patch, not only the patch itself.
	resp, err := e.do(logical.PatchOperation, "metadata/k", map[string]any{"custom_metadata": func() map[string]any {
		m := map[string]any{}
		for i := 0; i < 64; i++ {
			m[fmt.Sprintf("p%02d", i)] = "v"
		}
		return m
	}()})
	if statusOf(logical.PatchOperation, resp, err) != http.StatusBadRequest {
		t.Fatalf("patch to 65 keys: %v", err)
	}
	e.assertUnchanged(before)
	// A folder is not a key.
	e.mustDo(http.StatusBadRequest, logical.UpdateOperation, "metadata/dir/", map[string]any{"max_versions": 1})
	e.assertUnchanged(before)
}

func TestMetadataPatch(t *testing.T) {
	e := newV2(t)
	e.put("k", map[string]any{"a": "b"})
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "metadata/k", map[string]any{
		"max_versions": 7, "cas_required": true, "delete_version_after": "1h",
		"custom_metadata": map[string]any{"keep": "1", "drop": "2", "change": "3"},
	})
	e.mustDo(http.StatusNoContent, logical.PatchOperation, "metadata/k", map[string]any{
		"max_versions":    9,
		"custom_metadata": map[string]any{"drop": nil, "change": "33", "add": "4"},
	})
	md := e.metadata("k")
	if md["max_versions"] != uint32(9) || md["cas_required"] != true || md["delete_version_after"] != "1h0m0s" {
		t.Fatalf("untouched fields changed: %v", md)
	}
	if !jsonEqual(t, md["custom_metadata"], map[string]any{"keep": "1", "change": "33", "add": "4"}) {
		t.Fatalf("custom_metadata %v", md["custom_metadata"])
	}
	// Patching does not create a version.
	if md["current_version"] != uint64(1) {
		t.Fatalf("current_version %v", md["current_version"])
	}
	// null on a scalar resets it; null custom_metadata removes it all.
	e.mustDo(http.StatusNoContent, logical.PatchOperation, "metadata/k", map[string]any{"cas_required": nil, "custom_metadata": nil})
	md = e.metadata("k")
	if md["cas_required"] != false || md["custom_metadata"] != nil || md["max_versions"] != uint32(9) {
		t.Fatalf("after null patch %v", md)
	}
	// Missing key: 404, nothing created.
	before := e.snapshot()
	e.mustDo(http.StatusNotFound, logical.PatchOperation, "metadata/nope", map[string]any{"max_versions": 1})
	e.assertUnchanged(before)
}

func TestMetadataDelete(t *testing.T) {
	e := newV2(t)
	for i := 0; i < 3; i++ {
		e.put("dir/k", map[string]any{"i": i})
	}
	e.put("dir/other", map[string]any{"x": "y"})
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "destroy/dir/k", map[string]any{"versions": []any{2}})
	if n := len(e.storageKeys(versionDir("dir/k"))); n != 2 {
		t.Fatalf("%d version entries before delete, want 2", n)
	}
	e.mustDo(http.StatusNoContent, logical.DeleteOperation, "metadata/dir/k", nil)
	e.mustDo(http.StatusNotFound, logical.ReadOperation, "metadata/dir/k", nil)
	e.mustDo(http.StatusNotFound, logical.ReadOperation, "data/dir/k", nil)
	if keys := e.storageKeys(versionDir("dir/k")); len(keys) != 0 {
		t.Fatalf("version data left behind: %v", keys)
	}
	resp := e.mustDo(http.StatusOK, logical.ListOperation, "metadata/dir/", nil)
	if !jsonEqual(t, resp.Data["keys"], []string{"other"}) {
		t.Fatalf("list after delete %v", resp.Data)
	}
	// The key starts over from version 1.
	if v := e.put("dir/k", map[string]any{"new": true}); v != 1 {
		t.Fatalf("recreated key version %d", v)
	}
	// Deleting what is not there is fine.
	e.mustDo(http.StatusNoContent, logical.DeleteOperation, "metadata/nope", nil)
}
