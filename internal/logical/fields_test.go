package logical

import (
	"context"
	"strings"
	"testing"
)

// TestNullIsNotGiven: a JSON null for any field type reads as "not given",
// both through Get/GetOk and through the framework's Raw map.
func TestNullIsNotGiven(t *testing.T) {
	types := map[string]FieldType{
		"s": TypeString, "ls": TypeLowerCaseString, "i": TypeInt, "i64": TypeInt64, "b": TypeBool,
		"d": TypeDurationSecond, "m": TypeMap, "sl": TypeStringSlice, "csl": TypeCommaStringSlice,
		"kv": TypeKVPairs,
	}
	schema := map[string]*FieldSchema{}
	raw := map[string]any{}
	for k, ty := range types {
		schema[k] = &FieldSchema{Type: ty}
		raw[k] = nil
	}
	schema["withdef"] = &FieldSchema{Type: TypeInt, Default: 7}
	raw["withdef"] = nil
	d := &FieldData{Raw: raw, Schema: schema}
	if err := d.Validate(); err != nil {
		t.Fatalf("Validate with nulls: %v", err)
	}
	for k := range schema {
		if _, ok := d.GetOk(k); ok {
			t.Errorf("%s: null reported as given", k)
		}
	}
	if got := d.Get("withdef"); got != 7 {
		t.Errorf("null did not fall back to the default: %v", got)
	}

	req := &FieldData{Raw: map[string]any{"r": nil}, Schema: map[string]*FieldSchema{"r": {Type: TypeString, Required: true}}}
	if err := req.Validate(); err == nil || !strings.Contains(err.Error(), "missing required field") {
		t.Errorf("null required field: %v", err)
	}

	var seen map[string]any
	b := &FrameworkBackend{Paths: []*Path{{
		Pattern: "x",
		Fields:  map[string]*FieldSchema{"m": {Type: TypeMap}},
		Operations: map[Operation]OperationFunc{UpdateOperation: func(_ context.Context, _ *Request, d *FieldData) (*Response, error) {
			seen = d.Raw
			return nil, nil
		}},
	}}}
	if _, err := b.HandleRequest(context.Background(), &Request{Operation: UpdateOperation, Path: "x", Data: map[string]any{"m": nil, "free": nil}}); err != nil {
		t.Fatalf("HandleRequest: %v", err)
	}
	if _, ok := seen["m"]; ok {
		t.Errorf("null schema field left in Raw: %v", seen)
	}
	if _, ok := seen["free"]; !ok {
		t.Errorf("a field outside the schema was dropped: %v", seen)
	}
}
