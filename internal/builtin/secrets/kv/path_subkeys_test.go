package kv

import (
	"net/http"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestSubkeys(t *testing.T) {
	e := newV2(t)
	e.put("k", map[string]any{"old": "x"})
	e.put("k", map[string]any{
		"foo":  "abc",
		"bar":  map[string]any{"baz": "def", "deep": map[string]any{"er": map[string]any{"est": 1}}},
		"quux": map[string]any{},
		"list": []any{map[string]any{"hidden": "v"}},
	})
	cases := []struct {
		name  string
		query map[string]any
		want  map[string]any
	}{
		{name: "unlimited", want: map[string]any{
			"foo":  nil,
			"bar":  map[string]any{"baz": nil, "deep": map[string]any{"er": map[string]any{"est": nil}}},
			"quux": nil,
			"list": nil,
		}},
		{name: "depth 1", query: map[string]any{"depth": "1"}, want: map[string]any{"foo": nil, "bar": nil, "quux": nil, "list": nil}},
		{name: "depth 2", query: map[string]any{"depth": "2"}, want: map[string]any{
			"foo": nil, "bar": map[string]any{"baz": nil, "deep": nil}, "quux": nil, "list": nil,
		}},
		{name: "older version", query: map[string]any{"version": "1"}, want: map[string]any{"old": nil}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.mustDo(http.StatusOK, logical.ReadOperation, "subkeys/k", tc.query)
			if !jsonEqual(t, resp.Data["subkeys"], tc.want) {
				t.Fatalf("subkeys %v, want %v", norm(t, resp.Data["subkeys"]), tc.want)
			}
			if resp.Data["metadata"] == nil {
				t.Fatal("no metadata in subkeys response")
			}
		})
	}

	for _, q := range []map[string]any{{"depth": "-1"}, {"depth": "x"}, {"version": "-3"}} {
		e.mustDo(http.StatusBadRequest, logical.ReadOperation, "subkeys/k", q)
	}
	e.mustDo(http.StatusNotFound, logical.ReadOperation, "subkeys/nope", nil)
	e.mustDo(http.StatusNotFound, logical.ReadOperation, "subkeys/k", map[string]any{"version": "9"})

	e.mustDo(http.StatusNoContent, logical.DeleteOperation, "data/k", nil)
	resp := e.mustDo(http.StatusNotFound, logical.ReadOperation, "subkeys/k", nil)
	body := rawBody(t, resp)["data"].(map[string]any)
	if body["subkeys"] != nil || body["metadata"].(map[string]any)["deletion_time"] == "" {
		t.Fatalf("deleted subkeys body %v", body)
	}
}
