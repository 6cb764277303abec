package kv

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The examples of RFC 7396, Appendix A.
func TestMergePatchRFC7396(t *testing.T) {
	cases := []struct{ target, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"a":"foo"}`, `null`, `null`},
		{`{"a":"foo"}`, `"bar"`, `"bar"`},
		{`{"e":null}`, `{"a":1}`, `{"e":null,"a":1}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
	}
	for _, tc := range cases {
		t.Run(tc.target+" + "+tc.patch, func(t *testing.T) {
			target, patch, want := decode(t, tc.target), decode(t, tc.patch), decode(t, tc.want)
			targetCopy := decode(t, tc.target)
			if got := mergePatch(target, patch); !reflect.DeepEqual(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
			if !reflect.DeepEqual(target, targetCopy) {
				t.Fatalf("target modified: %v", target)
			}
		})
	}
}

func decode(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

// FuzzMergePatch checks that merge patch never panics, never modifies its
// inputs, and is idempotent (applying a patch twice equals applying it once).
func FuzzMergePatch(f *testing.F) {
	f.Add(`{"a":"b","c":{"d":1}}`, `{"a":null,"c":{"e":[1]}}`)
	f.Add(`[1]`, `{"x":{"y":null}}`)
	f.Add(`{"a":{"b":{"c":{}}}}`, `{"a":{"b":null}}`)
	f.Add(`null`, `null`)
	f.Fuzz(func(t *testing.T, targetJSON, patchJSON string) {
		var target, patch any
		if json.Unmarshal([]byte(targetJSON), &target) != nil || json.Unmarshal([]byte(patchJSON), &patch) != nil {
			return
		}
		var targetCopy, patchCopy any
		_ = json.Unmarshal([]byte(targetJSON), &targetCopy)
		_ = json.Unmarshal([]byte(patchJSON), &patchCopy)
		once := mergePatch(target, patch)
		twice := mergePatch(once, patch)
		if !reflect.DeepEqual(once, twice) {
			t.Fatalf("not idempotent: once %v, twice %v", once, twice)
		}
		if !reflect.DeepEqual(target, targetCopy) || !reflect.DeepEqual(patch, patchCopy) {
			t.Fatal("inputs modified")
		}
	})
}
