package tokenutil

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

// FuzzParse: a request body is either refused with a 400 that leaves the
// params unchanged, or accepted; what an accepted body reads back parses
// again to the same params (the read-back is a faithful round trip).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"token_policies":"a,b","token_ttl":"1h","token_max_ttl":7200}`,
		`{"policies":["X","y"],"ttl":60,"bound_cidrs":"10.0.0.0/8,127.0.0.1"}`,
		`{"token_type":"batch"}`, `{"token_num_uses":-1}`, `{"period":"5m","num_uses":3,"bound_cidr_list":["::1"]}`,
		`{"token_bound_cidrs":"1.2.3.4/33"}`, `{"token_no_default_policy":"true","token_explicit_max_ttl":"2h"}`,
	} {
		f.Add(s)
	}
	schema := map[string]*logical.FieldSchema{}
	Fields(schema, AllAliases...)
	f.Fuzz(func(t *testing.T, body string) {
		dec := json.NewDecoder(bytes.NewReader([]byte(body)))
		dec.UseNumber()
		var raw map[string]any
		if dec.Decode(&raw) != nil || raw == nil {
			return
		}
		d := &logical.FieldData{Raw: raw, Schema: schema}
		if d.Validate() != nil {
			return
		}
		p := Params{Policies: []string{"before"}}
		before := p
		if err := p.Parse(d); err != nil {
			if status, _ := logical.StatusOf(err); status != 400 {
				t.Fatalf("%s: status %d: %v", body, status, err)
			}
			if !reflect.DeepEqual(p, before) {
				t.Fatalf("%s: refused but changed: %+v", body, p)
			}
			return
		}
		m := map[string]any{}
		p.Data(m)
		var again Params
		if err := again.Parse(&logical.FieldData{Raw: m, Schema: schema}); err != nil {
			t.Fatalf("%s: read-back %v refused: %v", body, m, err)
		}
		if p.Type == "" {
			p.Type = TypeDefault
		}
		if len(p.Policies) == 0 && len(again.Policies) == 0 {
			p.Policies, again.Policies = nil, nil
		}
		if len(p.BoundCIDRs) == 0 && len(again.BoundCIDRs) == 0 {
			p.BoundCIDRs, again.BoundCIDRs = nil, nil
		}
		if !reflect.DeepEqual(again, p) {
			t.Fatalf("%s: round trip\n%+v\n%+v", body, p, again)
		}
	})
}
