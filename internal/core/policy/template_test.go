package policy

import (
	"strings"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

func testTemplateData() *TemplateData {
	return &TemplateData{
		EntityID: "e-1", EntityName: "alice", EntityMetadata: map[string]string{"team": "red"},
		Aliases: map[string]TemplateAlias{"auth_userpass_1": {ID: "a-1", Name: "alice", Metadata: map[string]string{"dept": "eng"}, CustomMetadata: map[string]string{"c": "v"}}},
		Groups:  []TemplateGroup{{ID: "g-1", Name: "ops", Metadata: map[string]string{"site": "x"}}},
	}
}

func TestRenderPath(t *testing.T) {
	td := testTemplateData()
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"secret/plain", "secret/plain", true},
		{"secret/{{identity.entity.id}}/*", "secret/e-1/*", true},
		{"secret/{{ identity.entity.name }}", "secret/alice", true},
		{"secret/{{identity.entity.metadata.team}}/{{identity.entity.name}}", "secret/red/alice", true},
		{"secret/{{identity.entity.aliases.auth_userpass_1.name}}", "secret/alice", true},
		{"secret/{{identity.entity.aliases.auth_userpass_1.id}}", "secret/a-1", true},
		{"secret/{{identity.entity.aliases.auth_userpass_1.metadata.dept}}", "secret/eng", true},
		{"secret/{{identity.entity.aliases.auth_userpass_1.custom_metadata.c}}", "secret/v", true},
		{"secret/{{identity.groups.ids.g-1.name}}", "secret/ops", true},
		{"secret/{{identity.groups.names.ops.id}}", "secret/g-1", true},
		{"secret/{{identity.groups.names.ops.metadata.site}}", "secret/x", true},
		// Cannot be rendered: the path is dropped.
		{"secret/{{identity.entity.metadata.missing}}", "", false},
		{"secret/{{identity.entity.aliases.auth_other.name}}", "", false},
		{"secret/{{identity.groups.names.dev.id}}", "", false},
		{"secret/{{identity.groups.ids.g-1.id}}", "", false},
		{"secret/{{identity.entity.unknown}}", "", false},
		{"secret/{{identity.entity.id", "", false},
	}
	for _, tc := range cases {
		got, ok := RenderPath(tc.in, td)
		if got != tc.want || ok != tc.ok {
			t.Errorf("RenderPath(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := RenderPath("secret/{{identity.entity.id}}", nil); ok {
		t.Error("rendered without an entity")
	}
}

// TestTemplatedACL: rendered paths grant for the entity only; a path
// that cannot be rendered (or renders invalid) grants nothing and does
// not break the rest of the ACL.
func TestTemplatedACL(t *testing.T) {
	p, err := Parse("home", `
path "secret/data/{{identity.entity.name}}/*" { capabilities = ["read"] }
path "secret/data/{{identity.entity.metadata.nope}}" { capabilities = ["read"] }
path "secret/data/x/{{identity.entity.metadata.star}}/y" { capabilities = ["read"] }
path "secret/data/common" { capabilities = ["read"] }`)
	if err != nil {
		t.Fatal(err)
	}
	td := testTemplateData()
	td.EntityMetadata["star"] = "a*b"
	acl, err := NewTemplatedACL(td, p)
	if err != nil {
		t.Fatal(err)
	}
	if !acl.Templated() {
		t.Error("not marked templated")
	}
	for path, want := range map[string]bool{
		"secret/data/alice/k": true, "secret/data/bob/k": false, "secret/data/common": true,
		"secret/data/": false, "secret/data/x/a*b/y": false,
	} {
		if got := acl.Allowed(path, logical.ReadOperation).Allowed; got != want {
			t.Errorf("%s: allowed %v, want %v", path, got, want)
		}
	}
	plain, err := NewACL(p)
	if err != nil {
		t.Fatal(err)
	}
	if plain.Allowed("secret/data/alice/k", logical.ReadOperation).Allowed || !plain.Allowed("secret/data/common", logical.ReadOperation).Allowed {
		t.Error("without an entity, templated paths must grant nothing and the rest must stay")
	}
}

// FuzzRenderPath: a path without placeholders renders as itself; a
// rendered path holds no placeholder (values here have no braces); a
// path that cannot be rendered returns "".
func FuzzRenderPath(f *testing.F) {
	for _, s := range []string{"secret/{{identity.entity.id}}/*", "a/{{ identity.groups.names.ops.id }}", "{{", "}}{{x}}", "plain/path"} {
		f.Add(s)
	}
	td := testTemplateData()
	f.Fuzz(func(t *testing.T, path string) {
		out, ok := RenderPath(path, td)
		switch {
		case !strings.Contains(path, "{{"):
			if !ok || out != path {
				t.Fatalf("plain path %q rendered %q, %v", path, out, ok)
			}
		case ok && strings.Contains(out, "{{"):
			t.Fatalf("%q rendered %q with a placeholder left", path, out)
		case !ok && out != "":
			t.Fatalf("%q failed but returned %q", path, out)
		}
	})
}
