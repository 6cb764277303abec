package kv

import (
	"net/http"
	"strings"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestConfig(t *testing.T) {
	e := newV2(t)
	read := func() map[string]any {
		return e.mustDo(http.StatusOK, logical.ReadOperation, "config", nil).Data
	}
	if got := read(); !jsonEqual(t, got, map[string]any{"max_versions": 0, "cas_required": false, "delete_version_after": "0s"}) {
		t.Fatalf("default config %v", got)
	}
	steps := []struct {
		body map[string]any
		want map[string]any
	}{
		{body: map[string]any{"max_versions": 5, "cas_required": false, "delete_version_after": "3h25m19s"},
			want: map[string]any{"max_versions": 5, "cas_required": false, "delete_version_after": "3h25m19s"}},
		// Fields not sent keep their value.
		{body: map[string]any{"cas_required": "true"},
			want: map[string]any{"max_versions": 5, "cas_required": true, "delete_version_after": "3h25m19s"}},
		{body: map[string]any{"delete_version_after": "-10m"},
			want: map[string]any{"max_versions": 5, "cas_required": true, "delete_version_after": "-1s"}},
		{body: map[string]any{"delete_version_after": 0, "max_versions": "0"},
			want: map[string]any{"max_versions": 0, "cas_required": true, "delete_version_after": "0s"}},
		{body: map[string]any{},
			want: map[string]any{"max_versions": 0, "cas_required": true, "delete_version_after": "0s"}},
	}
	for i, s := range steps {
		e.mustDo(http.StatusNoContent, logical.UpdateOperation, "config", s.body)
		if got := read(); !jsonEqual(t, got, s.want) {
			t.Fatalf("step %d: config %v, want %v", i, got, s.want)
		}
	}

	before := e.snapshot()
	bad := []struct {
		body map[string]any
		msg  string
	}{
		{body: map[string]any{"max_versions": -1}, msg: "max_versions must not be negative"},
		{body: map[string]any{"max_versions": 2.5}, msg: "invalid max_versions"},
		{body: map[string]any{"cas_required": "sometimes"}, msg: "invalid cas_required"},
		{body: map[string]any{"delete_version_after": "later"}, msg: "invalid delete_version_after"},
		{body: map[string]any{"max_versions": 3, "delete_version_after": []any{}}, msg: "invalid delete_version_after"},
	}
	for _, tc := range bad {
		resp, err := e.do(logical.UpdateOperation, "config", tc.body)
		if statusOf(logical.UpdateOperation, resp, err) != http.StatusBadRequest || !strings.Contains(errMsg(err), tc.msg) {
			t.Fatalf("%v: got %v, want 400 %q", tc.body, err, tc.msg)
		}
		e.assertUnchanged(before)
	}
}
