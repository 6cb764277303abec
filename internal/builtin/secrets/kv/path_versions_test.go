package kv

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestDeleteUndeleteDestroy(t *testing.T) {
	e := newV2(t)
	for i := 1; i <= 4; i++ {
		e.put("k", map[string]any{"i": i})
	}
	readable := func(v string) bool {
		resp, err := e.do(logical.ReadOperation, "data/k", map[string]any{"version": v})
		return statusOf(logical.ReadOperation, resp, err) == http.StatusOK
	}
	state := func(v string) map[string]any {
		return e.metadata("k")["versions"].(map[string]any)[v].(map[string]any)
	}

	// The Go client sends strings; curl users send numbers or "1,2".
	e.clock.Advance(time.Minute)
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "delete/k", map[string]any{"versions": []any{"1", 2.0}})
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "delete/k", map[string]any{"versions": "3"})
	for v, want := range map[string]bool{"1": false, "2": false, "3": false, "4": true} {
		if readable(v) != want {
			t.Fatalf("after delete: version %s readable=%v, want %v", v, !want, want)
		}
	}
	if state("1")["deletion_time"] != "2024-05-06T07:09:09.123456789Z" {
		t.Fatalf("deletion_time %v", state("1")["deletion_time"])
	}

	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "undelete/k", map[string]any{"versions": "1,3"})
	for v, want := range map[string]bool{"1": true, "2": false, "3": true} {
		if readable(v) != want {
			t.Fatalf("after undelete: version %s readable=%v, want %v", v, !want, want)
		}
	}
	if state("1")["deletion_time"] != "" {
		t.Fatalf("undeleted version still has deletion_time %v", state("1")["deletion_time"])
	}

	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "destroy/k", map[string]any{"versions": []any{2, 3, 99}})
	for _, v := range []string{"2", "3"} {
		if state(v)["destroyed"] != true {
			t.Fatalf("version %s not destroyed: %v", v, state(v))
		}
		resp := e.mustDo(http.StatusNotFound, logical.ReadOperation, "data/k", map[string]any{"version": v})
		if md := rawBody(t, resp)["data"].(map[string]any)["metadata"].(map[string]any); md["destroyed"] != true {
			t.Fatalf("404 body metadata %v", md)
		}
	}
	// Destroyed data is gone from storage; a destroyed version stays
	// destroyed through undelete.
	if n := len(e.storageKeys(versionDir("k"))); n != 2 {
		t.Fatalf("%d version entries, want 2", n)
	}
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "undelete/k", map[string]any{"versions": []any{3}})
	if readable("3") {
		t.Fatal("destroyed version came back")
	}
	// Unknown keys and versions are no-ops.
	before := e.snapshot()
	for _, p := range []string{"delete/nope", "undelete/nope", "destroy/nope"} {
		e.mustDo(http.StatusNoContent, logical.UpdateOperation, p, map[string]any{"versions": []any{1}})
	}
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "delete/k", map[string]any{"versions": []any{42}})
	e.assertUnchanged(before)
}

func TestVersionsBadInput(t *testing.T) {
	e := newV2(t)
	e.put("k", map[string]any{"a": "b"})
	before := e.snapshot()
	cases := []struct {
		path string
		body map[string]any
		msg  string
	}{
		{path: "delete/k", body: nil, msg: "No version number provided"},
		{path: "delete/k", body: map[string]any{"versions": []any{}}, msg: "No version number provided"},
		{path: "undelete/k", body: map[string]any{"versions": ""}, msg: "No version number provided"},
		{path: "destroy/k", body: map[string]any{}, msg: "no version number provided"},
		{path: "delete/k", body: map[string]any{"versions": []any{"one"}}, msg: "invalid versions"},
		{path: "destroy/k", body: map[string]any{"versions": []any{1, -2}}, msg: "must not be negative"},
		{path: "undelete/k", body: map[string]any{"versions": map[string]any{"1": true}}, msg: "invalid versions"},
		{path: "destroy/k", body: map[string]any{"versions": []any{1.5}}, msg: "invalid versions"},
	}
	for _, tc := range cases {
		t.Run(tc.path+" "+tc.msg, func(t *testing.T) {
			resp, err := e.do(logical.UpdateOperation, tc.path, tc.body)
			if statusOf(logical.UpdateOperation, resp, err) != http.StatusBadRequest || !strings.Contains(errMsg(err), tc.msg) {
				t.Fatalf("got %v, want 400 containing %q", err, tc.msg)
			}
			e.assertUnchanged(before)
		})
	}
}
