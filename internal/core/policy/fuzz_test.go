package policy

import (
	"errors"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

// FuzzParse checks that no policy text panics Parse, that every failure is a
// 400-class ErrInvalidPolicy, and that whatever parses also compiles into an
// ACL that can answer questions.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		"{}",
		DefaultPolicy,
		`path "secret/*" { capabilities = ["read", "list"] }`,
		`path "secret/+/teamb/*" { capabilities = ["deny"] }`,
		`path "secret/foo" { policy = "write" }`,
		`path "a" { allowed_parameters = { "x" = ["a", 1, 2.5, true] } denied_parameters = { "*" = [] } }`,
		`path "a" { required_parameters = ["x"] min_wrapping_ttl = "1s" max_wrapping_ttl = 60 }`,
		`path "a" { capabilities = ` + "<<EOT\nread\nEOT\n}",
		`{"path": {"secret/*": {"capabilities": ["read"]}}}`,
		`{"path": [{"a": {"policy": "sudo"}}, {"b": {}}]}`,
		`{"path": {"a": {"allowed_parameters": {"x": [{"y": null}]}}}}`,
		`path "a" "b" { capabilities = ["read"] }`,
		`path = [1]`,
		`path "secret/*/x" {}`,
		`path "+" { capabilities = ["read"] } path "+/*" { capabilities = ["list"] }`,
		`name = "x"` + "\n" + `path "a" { comment = "c" mfa_methods = ["m"] subscribe_event_types = ["*"] }`,
		`path "a" { max_wrapping_ttl = 99999999999999999999 }`,
		`{"path": {"a": {"max_wrapping_ttl": 1e400}}}`,
		`path "\xff" { capabilities = ["read"] }`,
		`{"path": {"\u0000": {}}}`,
		`{"\0\0`, // panics inside the HCL v1 scanner
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := Parse("fuzz", raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("error not ErrInvalidPolicy: %v", err)
			}
			if code, _ := logical.StatusOf(err); code != 400 {
				t.Fatalf("status %d for %v", code, err)
			}
			return
		}
		a, err := NewACL(p)
		if err != nil {
			t.Fatalf("parsed policy does not compile: %v", err)
		}
		for _, r := range p.Paths {
			_ = a.Capabilities(r.Path)
			_ = a.Allowed(r.Path+"/x/", logical.ListOperation)
		}
	})
}
