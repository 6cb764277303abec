package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestParseFull(t *testing.T) {
	raw := `
name = "ignored"

# Everything under secret/ is readable.
path "secret/*" {
  capabilities = ["read", "list"]
  comment      = "team secrets"
}

path "/secret/restricted" {
  capabilities        = ["create", "update"]
  allowed_parameters  = {
    "Foo" = []
    "bar" = ["zip", "zap", 3]
  }
  denied_parameters   = { "baz" = ["*"] }
  required_parameters = ["foo"]
  min_wrapping_ttl    = "1m"
  max_wrapping_ttl    = 3600
}

path "secret/super-secret" {
  capabilities = ["deny", "read"]
}

path "secret/+/teamb" {
  capabilities          = ["patch", "sudo", "subscribe", "recover"]
  mfa_methods           = ["totp"]
  subscribe_event_types = ["kv*"]
}
`
	p, err := Parse("  Team-A ", raw)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "team-a" || p.Raw != raw {
		t.Fatalf("name %q raw kept %v", p.Name, p.Raw == raw)
	}
	want := []*PathRules{
		{Path: "secret/*", Line: 5, Capabilities: []string{"list", "read"}, Comment: "team secrets"},
		{
			Path: "secret/restricted", Line: 10, Capabilities: []string{"create", "update"},
			AllowedParameters:  map[string][]any{"foo": {}, "bar": {"zip", "zap", int64(3)}},
			DeniedParameters:   map[string][]any{"baz": {"*"}},
			RequiredParameters: []string{"foo"},
			MinWrappingTTL:     time.Minute, MaxWrappingTTL: time.Hour,
		},
		{Path: "secret/super-secret", Line: 22, Capabilities: []string{"deny"}},
		{
			Path: "secret/+/teamb", Line: 26, Capabilities: []string{"patch", "recover", "subscribe", "sudo"},
			MFAMethods: []string{"totp"}, SubscribeEventTypes: []string{"kv*"},
		},
	}
	if !reflect.DeepEqual(p.Paths, want) {
		for i := range p.Paths {
			t.Logf("got %d: %+v", i, *p.Paths[i])
		}
		t.Fatal("paths differ")
	}
}

func TestParseLegacyPolicy(t *testing.T) {
	tests := []struct {
		policy string
		extra  string
		want   []string
	}{
		{"read", "", []string{"list", "read"}},
		{"write", "", []string{"create", "delete", "list", "read", "update"}},
		{"sudo", "", []string{"create", "delete", "list", "read", "sudo", "update"}},
		{"deny", "", []string{"deny"}},
		{"read", `capabilities = ["patch"]`, []string{"list", "patch", "read"}},
		{"deny", `capabilities = ["read"]`, []string{"deny"}},
		{"read", `capabilities = ["deny"]`, []string{"deny"}},
	}
	for _, tc := range tests {
		p, err := Parse("legacy", `path "secret/*" { policy = "`+tc.policy+`"
`+tc.extra+` }`)
		if err != nil {
			t.Fatalf("%s: %v", tc.policy, err)
		}
		r := p.Paths[0]
		if !reflect.DeepEqual(r.Capabilities, tc.want) || r.Policy != tc.policy {
			t.Errorf("policy=%q %s: got %v (%q), want %v", tc.policy, tc.extra, r.Capabilities, r.Policy, tc.want)
		}
	}
}

func TestParseJSONEqualsHCL(t *testing.T) {
	hcl := `
path "secret/*" { capabilities = ["read", "list"] }
path "secret/foo" {
  capabilities = ["create"]
  allowed_parameters = { "a" = ["x", 1] }
  max_wrapping_ttl = "1h"
}
path "secret/only-params" { allowed_parameters = { "b" = [] } }
path "secret/empty" {}
path "secret/+/old" { policy = "write" }
`
	jsonForms := []string{
		`{"path": {
		  "secret/*":  {"capabilities": ["read", "list"]},
		  "secret/foo": {"capabilities": ["create"], "allowed_parameters": {"a": ["x", 1]}, "max_wrapping_ttl": "1h"},
		  "secret/only-params": {"allowed_parameters": {"b": []}},
		  "secret/empty": {},
		  "secret/+/old": {"policy": "write"}
		}}`,
		// The list form some tools emit.
		`{"path": [
		  {"secret/*":  {"capabilities": ["read", "list"]}},
		  {"secret/foo": {"capabilities": ["create"], "allowed_parameters": {"a": ["x", 1]}, "max_wrapping_ttl": "1h"}},
		  {"secret/only-params": {"allowed_parameters": {"b": []}}},
		  {"secret/empty": {}},
		  {"secret/+/old": {"policy": "write"}}
		]}`,
	}
	want, err := Parse("p", hcl)
	if err != nil {
		t.Fatal(err)
	}
	for i, js := range jsonForms {
		got, err := Parse("p", js)
		if err != nil {
			t.Fatalf("json %d: %v", i, err)
		}
		if !reflect.DeepEqual(stripLines(got.Paths), stripLines(want.Paths)) {
			for _, r := range got.Paths {
				t.Logf("json: %+v", *r)
			}
			for _, r := range want.Paths {
				t.Logf("hcl:  %+v", *r)
			}
			t.Fatalf("json form %d differs from HCL", i)
		}
	}
}

func stripLines(rs []*PathRules) []PathRules {
	out := make([]PathRules, 0, len(rs))
	for _, r := range rs {
		c := *r
		c.Line = 0
		out = append(out, c)
	}
	return out
}

func TestParseEmpty(t *testing.T) {
	for _, raw := range []string{"", "  \n# just a comment\n", "{}"} {
		p, err := Parse("empty", raw)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if len(p.Paths) != 0 {
			t.Fatalf("%q: got %d paths", raw, len(p.Paths))
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string // substring of the message
	}{
		{"syntax", `path "secret/*" { capabilities = [`, "failed to parse policy"},
		{"unknown top key", "path \"a\" { capabilities = [\"read\"] }\nfoo = \"bar\"", `invalid key "foo" on line 2`},
		{"unknown path key", "path \"a\" {\n  capabilities = [\"read\"]\n  colour = \"red\"\n}", `path "a": invalid key "colour" on line 3`},
		{"unknown capability", "path \"a\" {\n capabilities = [\"read\", \"fly\"]\n}", `path "a": invalid capability "fly" on line 2`},
		{"root capability", `path "a" { capabilities = ["root"] }`, `invalid capability "root"`},
		{"capitalized capability", `path "a" { capabilities = ["Read"] }`, `invalid capability "Read"`},
		{"bad legacy", `path "a" { policy = "admin" }`, `invalid policy "admin"`},
		{"capabilities not list", `path "a" { capabilities = "read" }`, `"capabilities" on line 1: must be a list of strings`},
		{"capabilities numbers", `path "a" { capabilities = [1] }`, "must be a list of strings"},
		{"empty path", `path "" { capabilities = ["read"] }`, "path must not be empty"},
		{"slash path", `path "/" { capabilities = ["read"] }`, "path must not be empty"},
		{"glob in middle", "\n\npath \"secret/*/foo\" { capabilities = [\"read\"] }", `path "secret/*/foo": the glob "*" is only allowed as the last character of a path on line 3`},
		{"two globs", `path "secret/**" { capabilities = ["read"] }`, `only allowed as the last character`},
		{"plus in segment", `path "secret/a+b" { capabilities = ["read"] }`, `"+" must be a whole path segment`},
		{"plus star", `path "secret/+*" { capabilities = ["read"] }`, `"+" must be a whole path segment`},
		{"plus prefix", `path "secret/+foo/bar" { capabilities = ["read"] }`, `"+" must be a whole path segment`},
		{"ttl order", `path "a" { min_wrapping_ttl = "1h"
 max_wrapping_ttl = "1m" }`, "max_wrapping_ttl cannot be less than min_wrapping_ttl"},
		{"bad ttl", `path "a" { min_wrapping_ttl = "soon" }`, `"min_wrapping_ttl" on line 1`},
		{"negative ttl", `path "a" { max_wrapping_ttl = -5 }`, "negative"},
		{"params not map", `path "a" { allowed_parameters = ["x"] }`, "must be a map"},
		{"param not list", `path "a" { denied_parameters = { "x" = "y" } }`, `parameter "x" must be a list`},
		{"path not block", `path = "secret"`, `"path" on line 1 must be a block`},
		{"path body not block", `{"path": {"secret": "x"}}`, `path "secret": the path's rules must be a block`},
		{"json unknown key", `{"path": {"a": {"capabilities": ["read"], "colour": "red"}}}`, `path "a": invalid key "colour"`},
		{"duplicate attribute json", `{"path": {"a": {"capabilities": ["read"], "capabilities": ["list"]}}}`, `path "a": the argument "capabilities" was already set`},
		{"duplicate attribute hcl", "path \"a\" {\n capabilities = [\"read\"]\n capabilities = [\"list\"]\n}", "already set"},
		{"control group", `path "a" { control_group = { ttl = "1h" } }`, "Vault Enterprise"},
		{"name not string", `name = 3`, `"name" must be a string`},
		{"not an object", `[1, 2]`, "failed to parse policy"},
		// The HCL v1 JSON scanner panics on this one; Parse must not.
		{"scanner panic", `{"\U0`, "failed to parse policy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("bad", tc.raw)
			if err == nil {
				t.Fatalf("no error; paths %+v", p.Paths)
			}
			if !errors.Is(err, ErrInvalidPolicy) || !errors.Is(err, logical.ErrInvalidRequest) {
				t.Fatalf("error %v does not wrap ErrInvalidPolicy and ErrInvalidRequest", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			if code, _ := logical.StatusOf(err); code != 400 {
				t.Fatalf("status %d, want 400", code)
			}
		})
	}
}

func TestParseRootName(t *testing.T) {
	for _, name := range []string{"root", " ROOT "} {
		_, err := Parse(name, `path "*" { capabilities = ["read"] }`)
		if !errors.Is(err, ErrImmutablePolicy) {
			t.Fatalf("%q: got %v, want ErrImmutablePolicy", name, err)
		}
	}
}

func TestDefaultPolicyParses(t *testing.T) {
	p, err := Parse(DefaultName, DefaultPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Paths) < 10 {
		t.Fatalf("default policy has only %d paths", len(p.Paths))
	}
}
