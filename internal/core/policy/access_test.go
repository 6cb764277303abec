package policy

import "testing"

func TestHasAccessUnder(t *testing.T) {
	cases := []struct {
		name, policy, prefix string
		want                 bool
	}{
		{"exact below", `path "secret/data/app" { capabilities = ["read"] }`, "secret/", true},
		{"exact elsewhere", `path "other/data/app" { capabilities = ["read"] }`, "secret/", false},
		{"glob above", `path "sec*" { capabilities = ["read"] }`, "secret/", true},
		{"glob below", `path "secret/data/*" { capabilities = ["list"] }`, "secret/", true},
		{"deny only", `path "secret/*" { capabilities = ["deny"] }`, "secret/", false},
		{"segment", `path "secret/+/app" { capabilities = ["read"] }`, "secret/", true},
		{"segment elsewhere", `path "kv/+/app" { capabilities = ["read"] }`, "secret/", false},
	}
	for _, tc := range cases {
		p, err := Parse("p", tc.policy)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		acl, err := NewACL(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := acl.HasAccessUnder(tc.prefix); got != tc.want {
			t.Errorf("%s: HasAccessUnder(%q) = %v, want %v", tc.name, tc.prefix, got, tc.want)
		}
	}
	root, _ := NewACL(Root())
	if !root.HasAccessUnder("anything/") {
		t.Error("root ACL has no access")
	}
}
