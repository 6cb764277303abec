package tokenutil

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func fieldData(t *testing.T, raw map[string]any) *logical.FieldData {
	t.Helper()
	schema := map[string]*logical.FieldSchema{}
	Fields(schema, AllAliases...)
	d := &logical.FieldData{Raw: raw, Schema: schema}
	if err := d.Validate(); err != nil {
		t.Fatalf("validate %v: %v", raw, err)
	}
	return d
}

func TestParseAndData(t *testing.T) {
	cases := []struct {
		name string
		raw  map[string]any
		want map[string]any // keys checked in Data's output
		gone []string       // keys Data must not show
	}{
		{
			name: "token fields",
			raw: map[string]any{
				"token_policies": "Admin, dev", "token_ttl": "1h", "token_max_ttl": 7200,
				"token_bound_cidrs": []any{"127.0.0.1/32", "10.1.0.0/16"}, "token_num_uses": json.Number("3"),
				"token_period": "0", "token_explicit_max_ttl": "3h", "token_no_default_policy": true, "token_type": "service",
			},
			want: map[string]any{
				"token_policies": []string{"Admin", "dev"}, "token_ttl": int64(3600), "token_max_ttl": int64(7200),
				"token_bound_cidrs": []string{"127.0.0.1", "10.1.0.0/16"}, "token_num_uses": 3,
				"token_explicit_max_ttl": int64(10800), "token_no_default_policy": true, "token_type": "service",
			},
			gone: []string{"policies", "ttl", "bound_cidrs"},
		},
		{
			name: "old names read back beside the new",
			raw:  map[string]any{"policies": "Dev,admin,dev", "ttl": "30m", "max_ttl": "1h", "bound_cidrs": "10.0.0.0/8", "period": 60, "num_uses": 2},
			want: map[string]any{
				"token_policies": []string{"admin", "dev"}, "policies": []string{"admin", "dev"},
				"token_ttl": int64(1800), "ttl": int64(1800), "token_max_ttl": int64(3600), "max_ttl": int64(3600),
				"token_bound_cidrs": []string{"10.0.0.0/8"}, "bound_cidrs": []string{"10.0.0.0/8"},
				"token_period": int64(60), "period": int64(60), "token_num_uses": 2, "num_uses": 2,
				"token_type": "default",
			},
		},
		{
			name: "bound_cidr_list",
			raw:  map[string]any{"bound_cidr_list": []any{"192.168.1.7"}},
			want: map[string]any{"token_bound_cidrs": []string{"192.168.1.7"}, "bound_cidr_list": []string{"192.168.1.7"}},
			gone: []string{"bound_cidrs"},
		},
		{
			name: "the new name wins",
			raw:  map[string]any{"policies": "old", "token_policies": "new"},
			want: map[string]any{"token_policies": []string{"new"}, "policies": []string{"new"}},
		},
		{
			name: "empty",
			raw:  map[string]any{},
			want: map[string]any{"token_policies": []string{}, "token_bound_cidrs": []string{}, "token_type": "default", "token_ttl": int64(0)},
			gone: []string{"policies"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p Params
			if err := p.Parse(fieldData(t, tc.raw)); err != nil {
				t.Fatalf("parse: %v", err)
			}
			got := map[string]any{}
			p.Data(got)
			for k, v := range tc.want {
				if !reflect.DeepEqual(got[k], v) {
					t.Errorf("%s = %#v, want %#v", k, got[k], v)
				}
			}
			for _, k := range tc.gone {
				if _, ok := got[k]; ok {
					t.Errorf("%s shown: %#v", k, got[k])
				}
			}
		})
	}
}

func TestParseKeepsUnsentAndDropsOldNameWhenRewritten(t *testing.T) {
	var p Params
	if err := p.Parse(fieldData(t, map[string]any{"policies": "a", "ttl": 60})); err != nil {
		t.Fatal(err)
	}
	// A later write of token_policies alone drops "policies" from the read
	// but keeps "ttl", which it did not touch.
	if err := p.Parse(fieldData(t, map[string]any{"token_policies": "b"})); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	p.Data(got)
	if _, ok := got["policies"]; ok {
		t.Errorf("policies still shown: %v", got)
	}
	if got["ttl"] != int64(60) || got["token_ttl"] != int64(60) {
		t.Errorf("ttl = %v, token_ttl = %v, want 60 both", got["ttl"], got["token_ttl"])
	}
	if !reflect.DeepEqual(p.Policies, []string{"b"}) {
		t.Errorf("policies = %v", p.Policies)
	}
}

func TestParseRefusesAndChangesNothing(t *testing.T) {
	cases := []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"token_ttl": "2h", "token_max_ttl": "1h"}, "'token_ttl' cannot be greater than 'token_max_ttl'"},
		{map[string]any{"token_num_uses": -1}, "'token_num_uses' cannot be negative"},
		{map[string]any{"token_period": -5}, "'token_period' cannot be negative"},
		{map[string]any{"token_type": "batch", "token_period": "1h"}, "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens"},
		{map[string]any{"token_type": "default-batch", "token_num_uses": 3}, "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count"},
		{map[string]any{"token_type": "batch", "period": 30}, "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens"},
		{map[string]any{"token_type": "weird"}, `invalid 'token_type' value "weird"`},
		{map[string]any{"token_bound_cidrs": "10.0.0.0/33"}, `invalid 'token_bound_cidrs' entry "10.0.0.0/33": not a CIDR block or an IP address`},
		{map[string]any{"bound_cidrs": "nope", "token_policies": "x"}, `invalid 'token_bound_cidrs' entry "nope": not a CIDR block or an IP address`},
		{map[string]any{"max_ttl": 10, "ttl": 20}, "'token_ttl' cannot be greater than 'token_max_ttl'"},
	}
	for _, tc := range cases {
		p := Params{Policies: []string{"keep"}, TTL: time.Minute}
		before := p
		err := p.Parse(fieldData(t, tc.raw))
		status, msg := logical.StatusOf(err)
		if status != 400 || msg != tc.want {
			t.Errorf("%v: got %d %q, want 400 %q", tc.raw, status, msg, tc.want)
		}
		if !reflect.DeepEqual(p, before) {
			t.Errorf("%v: params changed to %+v", tc.raw, p)
		}
	}
}

func TestPopulateAuth(t *testing.T) {
	p := Params{Policies: []string{"a"}, TTL: time.Hour, MaxTTL: 2 * time.Hour, ExplicitMaxTTL: 3 * time.Hour,
		Period: time.Minute, NumUses: 4, NoDefaultPolicy: true, BoundCIDRs: []string{"10.0.0.0/8"}}
	var a logical.Auth
	p.PopulateAuth(&a)
	want := logical.Auth{Policies: []string{"a"}, LeaseDuration: time.Hour, MaxTTL: 2 * time.Hour, ExplicitMaxTTL: 3 * time.Hour,
		Period: time.Minute, NumUses: 4, NoDefaultPolicy: true, BoundCIDRs: []string{"10.0.0.0/8"}, TokenType: "default", Renewable: true}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("auth = %+v\nwant %+v", a, want)
	}
	for _, typ := range []string{TypeService, TypeBatch, TypeDefaultService, TypeDefaultBatch} {
		var a logical.Auth
		(&Params{Type: typ}).PopulateAuth(&a)
		if a.TokenType != typ {
			t.Errorf("Type %q: auth token type %q", typ, a.TokenType)
		}
	}
}

func TestParseTokenTypes(t *testing.T) {
	for in, want := range map[string]string{
		"": TypeDefault, "default": TypeDefault, "service": TypeService, "batch": TypeBatch,
		"default-service": TypeDefaultService, "default-batch": TypeDefaultBatch, "BATCH": TypeBatch,
	} {
		var p Params
		if err := p.Parse(fieldData(t, map[string]any{"token_type": in})); err != nil {
			t.Fatalf("token_type %q: %v", in, err)
		}
		if p.Type != want {
			t.Errorf("token_type %q parsed as %q, want %q", in, p.Type, want)
		}
	}
}

func TestFieldsPanicsOnDuplicate(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic on a duplicate field")
		}
	}()
	Fields(map[string]*logical.FieldSchema{"ttl": {Type: logical.TypeString}}, "ttl")
}

func TestFieldsWithoutAliases(t *testing.T) {
	schema := map[string]*logical.FieldSchema{}
	Fields(schema)
	if _, ok := schema["policies"]; ok {
		t.Fatal("alias added without being asked for")
	}
	var p Params
	d := &logical.FieldData{Raw: map[string]any{"token_ttl": 5}, Schema: schema}
	if err := p.Parse(d); err != nil || p.TTL != 5*time.Second {
		t.Fatalf("parse = %v, ttl %v", err, p.TTL)
	}
}

func TestEquivalentPolicies(t *testing.T) {
	for _, tc := range []struct {
		a, b []string
		want bool
	}{
		{[]string{"a", "b"}, []string{"default", "B", "a"}, true},
		{[]string{"a"}, []string{"a", "b"}, false},
		{nil, []string{"default"}, true},
	} {
		if got := EquivalentPolicies(tc.a, tc.b); got != tc.want {
			t.Errorf("EquivalentPolicies(%v, %v) = %v", tc.a, tc.b, got)
		}
	}
}
