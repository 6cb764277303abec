package cert

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

// FuzzWriteCert: any body written to certs/<name> either is refused with
// a 400 and changes nothing, or is stored and reads back to a write that
// is accepted again unchanged.
func FuzzWriteCert(f *testing.F) {
	ca, err := certtestCA()
	if err != nil {
		f.Fatal(err)
	}
	caJSON, _ := json.Marshal(ca)
	for _, s := range []string{
		`{"certificate":` + string(caJSON) + `}`,
		`{"certificate":` + string(caJSON) + `,"required_extensions":"1.2.3:x*","allowed_names":["a","*.b"]}`,
		`{"certificate":` + string(caJSON) + `,"allowed_metadata_extensions":"1.3.6.1.4.1.1","policies":"a,b","ttl":60}`,
		`{"certificate":"junk"}`, `{"required_extensions":"nope"}`, `{"certificate":` + string(caJSON) + `,"token_ttl":"2h","token_max_ttl":"1h"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		dec := json.NewDecoder(bytes.NewReader([]byte(body)))
		dec.UseNumber()
		var data map[string]any
		if dec.Decode(&data) != nil || data == nil {
			return
		}
		e := newEnv(t)
		before := e.Snapshot()
		_, err := e.Do(logical.UpdateOperation, "certs/x", data)
		if err != nil {
			if s, _ := logical.StatusOf(err); s != 400 {
				t.Fatalf("%s: status %d: %v", body, s, err)
			}
			if !reflect.DeepEqual(before, e.Snapshot()) {
				t.Fatalf("%s: refused but changed the storage", body)
			}
			return
		}
		read := e.OK(logical.ReadOperation, "certs/x", nil).Data
		back := map[string]any{}
		for k, v := range read {
			back[k] = v
		}
		if _, err := e.Do(logical.UpdateOperation, "certs/x", back); err != nil {
			t.Fatalf("%s: read-back %v refused: %v", body, back, err)
		}
		if again := e.OK(logical.ReadOperation, "certs/x", nil).Data; !reflect.DeepEqual(again, read) {
			t.Fatalf("%s: round trip\n%v\n%v", body, read, again)
		}
	})
}
