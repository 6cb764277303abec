package database

import (
	"regexp"
	"strings"
	"testing"

	"github.com/strongbox/strongbox/internal/builtin/secrets/database/mysql"
	"github.com/strongbox/strongbox/internal/builtin/secrets/database/postgres"
)

// TestDefaultUsernameTemplates: each plugin's default renders Vault's
// shape within its database's name limit, and two renders differ.
func TestDefaultUsernameTemplates(t *testing.T) {
	long := strings.Repeat("x", 40)
	cases := []struct {
		tmpl string
		max  int
		re   string
	}{
		{postgres.DefaultUsernameTemplate, 63, `^v-token-readonly-[A-Za-z0-9]{20}-\d+$`},
		{mysql.DefaultUsernameTemplate, 32, `^v-token-readonly-[A-Za-z0-9]{15}$`},
		{mysql.DefaultLegacyUsernameTemplate, 16, `^v-read-toke-[A-Za-z0-9]{4}$`},
	}
	for _, c := range cases {
		tmpl, err := parseUsernameTemplate(c.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		a, err := render(tmpl, usernameData{DisplayName: "token", RoleName: "readonly"})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := render(tmpl, usernameData{DisplayName: "token", RoleName: "readonly"})
		if !regexp.MustCompile(c.re).MatchString(a) || a == b {
			t.Errorf("%s: %q then %q, want %s and different", c.tmpl, a, b, c.re)
		}
		if l, _ := render(tmpl, usernameData{DisplayName: long, RoleName: long}); len(l) > c.max {
			t.Errorf("%s: %d chars, more than %d", c.tmpl, len(l), c.max)
		}
	}
	for _, bad := range []string{"{{ .Nope", "{{ .Missing }}", "{{ truncate -1 .RoleName }}", "   "} {
		if _, err := parseUsernameTemplate(bad); err == nil {
			t.Errorf("template %q accepted", bad)
		}
	}
}
