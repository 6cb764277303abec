package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

// mustACL parses each text as a policy p0, p1, ... and merges them.
func mustACL(t *testing.T, texts ...string) *ACL {
	t.Helper()
	var ps []*Policy
	for i, raw := range texts {
		p, err := Parse("p"+string(rune('0'+i)), raw)
		if err != nil {
			t.Fatalf("policy %d: %v", i, err)
		}
		ps = append(ps, p)
	}
	a, err := NewACL(ps...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// rule renders a one-path policy granting caps.
func rule(path string, caps ...string) string {
	return `path "` + path + `" { capabilities = ["` + strings.Join(caps, `", "`) + `"] }` + "\n"
}

// TestMatchingDocsExamples checks the path examples of Vault's policies
// concept page.
func TestMatchingDocsExamples(t *testing.T) {
	a := mustACL(t,
		rule("secret/foo", "read")+
			rule("secret/bar/*", "read")+
			rule("secret/zip-*", "read")+
			rule("secret/+/teamb", "read")+
			rule("secret/+/+/teamc", "read")+
			rule("secret/+/teamd/*", "read"),
	)
	tests := []struct {
		path string
		want bool
	}{
		// Exact: only secret/foo.
		{"secret/foo", true},
		{"secret/food", false},
		{"secret/foo/bar", false},
		// Glob under a folder.
		{"secret/bar/zip", true},
		{"secret/bar/zip/zap", true},
		{"secret/bars/zip", false},
		{"secret/bar", false},
		// Glob on a name prefix.
		{"secret/zip-zap", true},
		{"secret/zip-zap/zong", true},
		{"secret/zip/zap", false},
		// "+" is exactly one segment.
		{"secret/foo/teamb", true},
		{"secret/bar/teamb", true},
		{"secret/foo/bar/teamb", false},
		{"secret/teamb", false},
		{"secret/a/b/teamc", true},
		{"secret/a/teamc", false},
		{"secret/a/b/c/teamc", false},
		// "+" combined with a trailing glob.
		{"secret/x/teamd/", true},
		{"secret/x/teamd/a/b", true},
		{"secret/x/teamd", false},
		{"secret/x/y/teamd/a", false},
		// Leading slashes are ignored.
		{"/secret/foo", true},
	}
	for _, tc := range tests {
		if got := a.Allowed(tc.path, logical.ReadOperation).Allowed; got != tc.want {
			t.Errorf("read %q: allowed=%v, want %v", tc.path, got, tc.want)
		}
	}
}

// TestPriority checks Vault's priority rules, including the docs' example
// and the examples in Vault's own rule descriptions: each case has two
// patterns matching path, and the winner's capability must be the only one
// granted.
func TestPriority(t *testing.T) {
	tests := []struct {
		name          string
		winner, loser string
		path          string
	}{
		{"docs: fewer + segments wins", "secret/*", "secret/+/+/foo/*", "secret/a/b/foo/c"},
		{"rule 1: later first wildcard (glob)", "foo/a*", "foo/+", "foo/ab"},
		{"rule 1: later first wildcard (+)", "foo/bar/+/baz", "foo/+/bar/baz", "foo/bar/bar/baz"},
		{"rule 1: longest prefix", "secret/foo/*", "secret/*", "secret/foo/bar"},
		{"rule 1: prefix vs +", "secret/foo*", "secret/+/bar", "secret/foo/bar"},
		{"rule 2: no trailing glob wins", "foo/+/bar", "foo/+/ba*", "foo/x/bar"},
		{"rule 2: + beats glob at same place", "foo/+", "foo/*", "foo/x"},
		{"rule 3: fewer + segments", "foo/bar/+/baz", "foo/+/+/baz", "foo/bar/x/baz"},
		{"rule 3: fewer + segments with globs", "foo/+/bar/*", "foo/+/+/*", "foo/x/bar/y"},
		{"rule 4: longer wins", "foo/+/bar/ba*", "foo/+/bar/b*", "foo/x/bar/baz"},
		{"rule 5: lexicographically greater wins", "+/x/+/y*", "+/+/x/y*", "x/x/x/yz"},
		{"exact beats everything", "secret/foo", "secret/foo*", "secret/foo"},
		{"exact beats +", "secret/a/b", "secret/+/b", "secret/a/b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Both orders, both in one policy and in two policies.
			for _, a := range []*ACL{
				mustACL(t, rule(tc.winner, "read")+rule(tc.loser, "update")),
				mustACL(t, rule(tc.loser, "update")+rule(tc.winner, "read")),
				mustACL(t, rule(tc.loser, "update"), rule(tc.winner, "read")),
			} {
				if got := a.Capabilities(tc.path); !reflect.DeepEqual(got, []string{"read"}) {
					t.Fatalf("capabilities(%q) = %v, want [read] from %q", tc.path, got, tc.winner)
				}
			}
			// The loser alone must match, else the case proves nothing.
			alone := mustACL(t, rule(tc.loser, "update"))
			if !alone.Allowed(tc.path, logical.UpdateOperation).Allowed {
				t.Fatalf("loser %q alone does not match %q", tc.loser, tc.path)
			}
		})
	}
}

func TestLowerPriorityIsStrictOrder(t *testing.T) {
	paths := []string{"secret/*", "secret/+/+/foo/*", "foo/a*", "foo/+", "foo/*", "foo/+/bar", "foo/+/ba*",
		"foo/bar/+/baz", "foo/+/+/baz", "+/x/+/y*", "+/+/x/y*", "*", "+", "+/*"}
	pats := make([]pattern, len(paths))
	for i, p := range paths {
		var msg string
		if pats[i], msg = compilePattern(p); msg != "" {
			t.Fatal(msg)
		}
	}
	for i := range pats {
		if lowerPriority(&pats[i], &pats[i]) {
			t.Errorf("%q lower than itself", paths[i])
		}
		for j := range pats {
			if i != j && lowerPriority(&pats[i], &pats[j]) == lowerPriority(&pats[j], &pats[i]) {
				t.Errorf("%q and %q are not ordered", paths[i], paths[j])
			}
		}
	}
}

func TestMergeAndDeny(t *testing.T) {
	tests := []struct {
		name     string
		policies []string
		path     string
		want     []string
	}{
		{"union of same path", []string{rule("secret/foo", "read"), rule("secret/foo", "update", "list")}, "secret/foo",
			[]string{"list", "read", "update"}},
		{"union of same glob", []string{rule("secret/*", "read"), rule("secret/*", "create")}, "secret/x",
			[]string{"create", "read"}},
		{"union within one policy", []string{rule("secret/foo", "read") + rule("secret/foo", "delete")}, "secret/foo",
			[]string{"delete", "read"}},
		{"deny wins on same path", []string{rule("secret/foo", "read", "sudo"), rule("secret/foo", "deny")}, "secret/foo",
			[]string{"deny"}},
		{"deny wins whatever the order", []string{rule("secret/+/x", "deny"), rule("secret/+/x", "read")}, "secret/a/x",
			[]string{"deny"}},
		{"deny with other caps is deny", []string{rule("secret/foo", "deny", "read")}, "secret/foo",
			[]string{"deny"}},
		{"exact deny shadows glob", []string{rule("secret/*", "read"), rule("secret/super-secret", "deny")}, "secret/super-secret",
			[]string{"deny"}},
		{"exact deny does not reach children", []string{rule("secret/*", "read"), rule("secret/super-secret", "deny")}, "secret/super-secret/x",
			[]string{"read"}},
		{"more specific glob deny wins", []string{rule("secret/*", "read"), rule("secret/team-*", "deny")}, "secret/team-a",
			[]string{"deny"}},
		{"more specific allow beats broader deny", []string{rule("secret/*", "deny"), rule("secret/open/*", "read")}, "secret/open/x",
			[]string{"read"}},
		{"different patterns are not merged", []string{rule("secret/*", "read"), rule("secret/foo*", "update")}, "secret/foo",
			[]string{"update"}},
		{"empty capabilities shadow a glob", []string{rule("secret/*", "read"), `path "secret/foo" {}`}, "secret/foo",
			[]string{"deny"}},
		{"nothing matches", []string{rule("secret/*", "read")}, "other/x", []string{"deny"}},
		{"no policies", nil, "secret/x", []string{"deny"}},
		{"sorted names", []string{rule("x", "update", "sudo", "create", "read", "list", "delete", "patch")}, "x",
			[]string{"create", "delete", "list", "patch", "read", "sudo", "update"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := mustACL(t, tc.policies...)
			if got := a.Capabilities(tc.path); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("capabilities(%q) = %v, want %v", tc.path, got, tc.want)
			}
		})
	}
}

func TestAllowedOperations(t *testing.T) {
	a := mustACL(t,
		rule("kv/read", "read")+
			rule("kv/create", "create")+
			rule("kv/update", "update")+
			rule("kv/patch", "patch")+
			rule("kv/delete", "delete")+
			rule("kv/list", "list")+
			rule("kv/sudo", "sudo")+
			rule("kv/admin", "read", "sudo")+
			rule("kv/deny", "deny"),
	)
	ops := []logical.Operation{logical.ReadOperation, logical.CreateOperation, logical.UpdateOperation,
		logical.PatchOperation, logical.DeleteOperation, logical.ListOperation}
	for _, op := range ops {
		for _, path := range []string{"kv/read", "kv/create", "kv/update", "kv/patch", "kv/delete", "kv/list", "kv/deny", "kv/none"} {
			want := path == "kv/"+string(op)
			if got := a.Allowed(path, op); got.Allowed != want || got.Sudo || got.Root {
				t.Errorf("%s %s: %+v, want allowed=%v", op, path, got, want)
			}
		}
	}
	// Sudo is reported whether or not the operation is allowed.
	if got := a.Allowed("kv/sudo", logical.ReadOperation); got.Allowed || !got.Sudo {
		t.Errorf("read kv/sudo: %+v", got)
	}
	if got := a.Allowed("kv/admin", logical.ReadOperation); !got.Allowed || !got.Sudo {
		t.Errorf("read kv/admin: %+v", got)
	}
	// Help needs any capability, and deny is none.
	for path, want := range map[string]bool{"kv/read": true, "kv/sudo": true, "kv/deny": false, "kv/none": false} {
		if got := a.Allowed(path, logical.HelpOperation).Allowed; got != want {
			t.Errorf("help %s: allowed=%v, want %v", path, got, want)
		}
	}
	if a.Allowed("kv/read", logical.Operation("rollback")).Allowed {
		t.Error("unknown operation allowed")
	}
	var nilACL *ACL
	if nilACL.Allowed("kv/read", logical.ReadOperation).Allowed || nilACL.Capabilities("x")[0] != "deny" {
		t.Error("nil ACL allows")
	}
}

// TestListTrailingSlash follows Vault: a list of "x/" is also answered by a
// rule for "x", exact or with "+" (Vault PR 23874), while other operations
// are not.
func TestListTrailingSlash(t *testing.T) {
	a := mustACL(t,
		rule("secret/metadata", "list")+
			rule("sys/policies/acl/", "list")+
			rule("+/sys/leases", "list")+
			rule("auth/*", "read"),
	)
	tests := []struct {
		path string
		op   logical.Operation
		want bool
	}{
		{"secret/metadata/", logical.ListOperation, true},
		{"secret/metadata", logical.ListOperation, true},
		{"sys/policies/acl/", logical.ListOperation, true},
		{"sys/policies/acl", logical.ListOperation, false},
		{"ns1/sys/leases/", logical.ListOperation, true},
		{"ns1/sys/leases", logical.ListOperation, true},
		{"ns1/sys/leases/", logical.ReadOperation, false},
		{"auth/", logical.ListOperation, false},
	}
	for _, tc := range tests {
		if got := a.Allowed(tc.path, tc.op).Allowed; got != tc.want {
			t.Errorf("%s %q: allowed=%v, want %v", tc.op, tc.path, got, tc.want)
		}
	}
	// sys/capabilities answers like a list.
	if got := a.Capabilities("ns1/sys/leases/"); !reflect.DeepEqual(got, []string{"list"}) {
		t.Errorf("capabilities = %v", got)
	}
}

func TestRootACL(t *testing.T) {
	p, err := Parse("p", rule("secret/*", "deny"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ps := range [][]*Policy{{Root()}, {p, Root()}, {nil, Root(), p}} {
		a, err := NewACL(ps...)
		if err != nil {
			t.Fatal(err)
		}
		if !a.IsRoot() {
			t.Fatal("not root")
		}
		if got := a.Capabilities("secret/anything"); !reflect.DeepEqual(got, []string{"root"}) {
			t.Fatalf("capabilities = %v", got)
		}
		for _, op := range []logical.Operation{logical.ReadOperation, logical.DeleteOperation, logical.ListOperation, logical.HelpOperation, "rollback"} {
			if got := a.Allowed("sys/seal", op); got != (Result{Allowed: true, Sudo: true, Root: true}) {
				t.Fatalf("%s: %+v", op, got)
			}
		}
	}
	if mustACL(t, rule("*", "sudo")).IsRoot() {
		t.Fatal("non-root ACL is root")
	}
}

func TestNewACLRejectsHandBuiltNonsense(t *testing.T) {
	for _, r := range []*PathRules{
		{Path: "a/*/b", Capabilities: []string{"read"}},
		{Path: "a", Capabilities: []string{"fly"}},
		{Path: "", Capabilities: []string{"read"}},
	} {
		_, err := NewACL(&Policy{Name: "hand", Paths: []*PathRules{r}})
		if !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("%+v: got %v", *r, err)
		}
	}
}

func TestDefaultPolicyEffect(t *testing.T) {
	p, err := Parse(DefaultName, DefaultPolicy)
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewACL(p)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		op   logical.Operation
		want bool
	}{
		{"auth/token/lookup-self", logical.ReadOperation, true},
		{"auth/token/renew-self", logical.UpdateOperation, true},
		{"auth/token/revoke-self", logical.UpdateOperation, true},
		{"sys/capabilities-self", logical.UpdateOperation, true},
		{"sys/internal/ui/resultant-acl", logical.ReadOperation, true},
		{"cubbyhole/my/secret", logical.CreateOperation, true},
		{"cubbyhole/my/secret", logical.DeleteOperation, true},
		{"cubbyhole/", logical.ListOperation, true},
		{"sys/wrapping/wrap", logical.UpdateOperation, true},
		{"sys/wrapping/lookup", logical.UpdateOperation, true},
		{"sys/wrapping/unwrap", logical.UpdateOperation, true},
		{"sys/wrapping/rewrap", logical.UpdateOperation, false},
		{"sys/leases/renew", logical.UpdateOperation, true},
		{"sys/renew", logical.UpdateOperation, true},
		{"sys/leases/lookup", logical.UpdateOperation, true},
		{"sys/tools/hash/sha2-512", logical.UpdateOperation, true},
		{"identity/oidc/provider/default/authorize", logical.ReadOperation, true},
		{"auth/token/create", logical.UpdateOperation, false},
		{"auth/token/lookup", logical.UpdateOperation, false},
		{"secret/foo", logical.ReadOperation, false},
		{"sys/policies/acl/default", logical.ReadOperation, false},
		{"sys/seal", logical.UpdateOperation, false},
	}
	for _, tc := range tests {
		if got := a.Allowed(tc.path, tc.op); got.Allowed != tc.want || got.Sudo {
			t.Errorf("%s %s: %+v, want allowed=%v", tc.op, tc.path, got, tc.want)
		}
	}
}
