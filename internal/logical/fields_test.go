package logical

import (
	"context"
	"errors"
	"fmt"
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

	// The framework hands nulls to the handler in Raw (a merge patch's
	// null means "remove"), while the getters read them as not given.
	var seen map[string]any
	var given bool
	b := &FrameworkBackend{Paths: []*Path{{
		Pattern: "x",
		Fields:  map[string]*FieldSchema{"m": {Type: TypeMap}},
		Operations: map[Operation]OperationFunc{UpdateOperation: func(_ context.Context, _ *Request, d *FieldData) (*Response, error) {
			seen = d.Raw
			_, given = d.GetOk("m")
			return nil, nil
		}},
	}}}
	if _, err := b.HandleRequest(context.Background(), &Request{Operation: UpdateOperation, Path: "x", Data: map[string]any{"m": nil}}); err != nil {
		t.Fatalf("HandleRequest with a null map field: %v", err)
	}
	if v, ok := seen["m"]; !ok || v != nil || given {
		t.Errorf("Raw %v, GetOk given %v: want the null kept in Raw and read as not given", seen, given)
	}
}

func TestInvalidCredentialsIsA400(t *testing.T) {
	err := InvalidCredentials("invalid username or password")
	if !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal("errors.Is(ErrInvalidCredentials) = false")
	}
	if code, msg := StatusOf(fmt.Errorf("login: %w", err)); code != 400 || msg != "invalid username or password" {
		t.Fatalf("StatusOf = %d %q", code, msg)
	}
	if errors.Is(BadRequest("x"), ErrInvalidCredentials) {
		t.Fatal("a plain 400 counts as invalid credentials")
	}
}
