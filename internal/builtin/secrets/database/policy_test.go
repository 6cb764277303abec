package database_test

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestPasswordPolicy: sys/policies/password stores, lists, generates and
// refuses a bad policy; a config's password_policy shapes the passwords
// of its users; a config naming a missing policy is refused.
func TestPasswordPolicy(t *testing.T) {
	c := startCore(t, 0)
	policy := `length = 24
rule "charset" {
  charset = "abcdef"
  min-chars = 4
}
rule "charset" {
  charset = "789"
  min-chars = 4
}`
	write(t, c, "sys/policies/password/hexish", map[string]any{"policy": policy})
	if got := read(t, c, "sys/policies/password/hexish"); str(got, "policy") != policy {
		t.Fatalf("read back %v", got.Data)
	}
	check := func(pw string) {
		t.Helper()
		if len(pw) != 24 || strings.Trim(pw, "abcdef789") != "" {
			t.Fatalf("password %q does not follow the policy", pw)
		}
	}
	check(str(read(t, c, "sys/policies/password/hexish/generate"), "password"))
	l, err := c.Logical().List("sys/policies/password")
	if err != nil || l == nil || len(l.Data["keys"].([]any)) != 1 {
		t.Fatalf("list: %v %v", l, err)
	}
	_, err = c.Logical().Write("sys/policies/password/bad", map[string]any{"policy": `length = 2`})
	wantStatus(t, err, 400, "password policy")
	if s, err := c.Logical().Read("sys/policies/password/bad"); err != nil || s != nil {
		t.Fatalf("bad policy stored: %v %v", s, err)
	}
	// A base64-encoded document is accepted too (Vault's, to avoid escaping).
	write(t, c, "sys/policies/password/b64", map[string]any{"policy": base64.StdEncoding.EncodeToString([]byte(policy))})
	check(str(read(t, c, "sys/policies/password/b64/generate"), "password"))
	_, err = c.Logical().Write("sys/policies/password/aug", map[string]any{"policy": policy, "entropy_source": "platform"})
	wantStatus(t, err, 400, "entropy")
	_, err = c.Logical().Read("sys/policies/password/missing/generate")
	wantStatus(t, err, 400, "does not exist")

	_, table, _, _ := pgSetup(t, c, "pg")
	_, err = c.Logical().Write("database/config/pg", map[string]any{"password_policy": "missing"})
	wantStatus(t, err, 400, "missing")
	write(t, c, "database/config/pg", map[string]any{"password_policy": "hexish"})
	write(t, c, "database/roles/ro", map[string]any{"db_name": "pg",
		"creation_statements": `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'; GRANT SELECT ON ` + table + ` TO "{{name}}"`})
	s := read(t, c, "database/creds/ro")
	check(str(s, "password"))
	if err := canLogin(pg.Open, str(s, "username"), str(s, "password")); err != nil {
		t.Fatal(err)
	}
	// A role's credential_config password_policy overrides the config's.
	write(t, c, "sys/policies/password/digits", map[string]any{"policy": `length = 30
rule "charset" {
  charset = "0123456789"
}`})
	write(t, c, "database/roles/digits", map[string]any{"db_name": "pg", "credential_config": map[string]any{"password_policy": "digits"},
		"creation_statements": `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'`})
	if pw := str(read(t, c, "database/creds/digits"), "password"); len(pw) != 30 || strings.Trim(pw, "0123456789") != "" {
		t.Fatalf("role policy password %q", pw)
	}
	_, err = c.Logical().Write("database/roles/bad", map[string]any{"db_name": "pg", "credential_config": map[string]any{"password_policy": "missing"},
		"creation_statements": `SELECT 1`})
	wantStatus(t, err, 400, "missing")
	if _, err := c.Logical().Delete("sys/policies/password/hexish"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Logical().Read("database/creds/ro")
	wantStatus(t, err, 400, "hexish")
}
