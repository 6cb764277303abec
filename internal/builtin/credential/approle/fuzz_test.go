package approle

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

// FuzzParseMetadata: metadata given as a JSON string either is refused
// with a 400 or parses to string pairs that parse back to themselves,
// whether sent again as a string or as an object.
func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"a":"b"}`, `{"a":1}`, `[1]`, `"x"`, `{"a":"b","a":"c"}`, `null`, `{"\u0000":""}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseMetadata(s)
		if err != nil {
			if st, _ := logical.StatusOf(err); st != 400 {
				t.Fatalf("refused with %d: %v", st, err)
			}
			return
		}
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseMetadata(string(raw))
		if err != nil || !maps.Equal(m, again) {
			t.Fatalf("%q -> %v -> %s -> %v %v", s, m, raw, again, err)
		}
		obj := map[string]any{}
		for k, v := range m {
			obj[k] = v
		}
		asObj, err := parseMetadata(obj)
		if err != nil || !maps.Equal(m, asObj) {
			t.Fatalf("as an object: %v %v", asObj, err)
		}
	})
}
