package ldap

import (
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// FuzzUserFilter: whatever the username, the default user filter renders
// to one equality match of userattr against exactly that username (no
// filter injection), and the group filter likewise stays an OR of three
// equality matches.
//
//	go test -run XXX -fuzz FuzzUserFilter -fuzztime 30s ./internal/builtin/credential/ldap
func FuzzUserFilter(f *testing.F) {
	for _, s := range []string{"alice", "*", "a)(uid=*", `\2a`, "(", "é\x00", "a*b", "cn=x,dc=y"} {
		f.Add(s)
	}
	c := defaultConfig()
	c.UserAttr = "uid"
	f.Fuzz(func(t *testing.T, username string) {
		// Rendering is linear in the input; megabyte inputs only make the
		// fuzzer's minimization crawl, so a long input is checked on its
		// first 4 KiB rather than passed over.
		if len(username) > 4096 {
			username = username[:4096]
		}
		filter, err := c.userFilter(username)
		if err != nil {
			t.Fatalf("userFilter(%q): %v", username, err)
		}
		p, err := ldap.CompileFilter(filter)
		if err != nil {
			t.Fatalf("%q does not compile: %v", filter, err)
		}
		if p.Tag != ldap.FilterEqualityMatch || len(p.Children) != 2 ||
			p.Children[0].Value != "uid" || p.Children[1].Data.String() != username {
			t.Fatalf("username %q rendered %q: not one equality match on it", username, filter)
		}
		g, err := renderFilter(c.GroupFilter, groupFilterVars{UserDN: ldap.EscapeFilter("uid=" + username), Username: ldap.EscapeFilter(username)})
		if err != nil {
			t.Fatalf("group filter for %q: %v", username, err)
		}
		gp, err := ldap.CompileFilter(g)
		if err != nil || gp.Tag != ldap.FilterOr || len(gp.Children) != 3 {
			t.Fatalf("group filter for %q: %q %v", username, g, err)
		}
	})
}
