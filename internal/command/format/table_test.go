package format

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

func TestTable(t *testing.T) {
	got := Table([][]string{
		{"Path", "Type", "Description"},
		{"file/", "file", ""},
		{"syslog-long/", "syslog", "with\ttab"},
	})
	want := "" +
		"Path            Type      Description\n" +
		"----            ----      -----------\n" +
		"file/           file      n/a\n" +
		"syslog-long/    syslog    with\ttab"
	if got != want {
		t.Errorf("Table:\n%q\nwant:\n%q", got, want)
	}
	if Table(nil) != "" {
		t.Error("empty table should be empty")
	}
}

func TestColumns(t *testing.T) {
	got := Columns([][]string{{"Key Term", "1"}, {"Encryption Count", "  7 "}})
	want := "Key Term            1\nEncryption Count    7"
	if got != want {
		t.Errorf("Columns:\n%q\nwant:\n%q", got, want)
	}
}

func TestSecretRowsGolden(t *testing.T) {
	s := &api.Secret{
		LeaseDuration: 2764800,
		Data: map[string]any{
			"foo":     "bar",
			"ttl":     json.Number("3600"),
			"list":    []any{"a", "b"},
			"nested":  map[string]any{"x": json.Number("1")},
			"missing": nil,
			"empty":   "",
		},
	}
	got := Table(SecretRows(s))
	want := strings.Join([]string{
		"Key                 Value",
		"---                 -----",
		"refresh_interval    768h",
		"empty               n/a",
		"foo                 bar",
		"list                [a b]",
		"missing             <nil>",
		"nested              map[x:1]",
		"ttl                 1h",
	}, "\n")
	if got != want {
		t.Errorf("SecretRows:\n%s\nwant:\n%s", got, want)
	}
}

func TestSecretRowsAuthAndWrap(t *testing.T) {
	s := &api.Secret{
		Auth: &api.SecretAuth{
			ClientToken:   "hvs.abc",
			Accessor:      "acc",
			Policies:      []string{"default", "ops"},
			TokenPolicies: []string{"default", "ops"},
			Metadata:      map[string]string{"user": "alice", "a": "b"},
			LeaseDuration: 3600,
			Renewable:     true,
		},
	}
	got := Table(SecretRows(s))
	want := strings.Join([]string{
		"Key                  Value",
		"---                  -----",
		"token                hvs.abc",
		"token_accessor       acc",
		"token_duration       1h",
		"token_renewable      true",
		`token_policies       ["default" "ops"]`,
		"identity_policies    []",
		`policies             ["default" "ops"]`,
		"token_meta_a         b",
		"token_meta_user      alice",
	}, "\n")
	if got != want {
		t.Errorf("auth rows:\n%s\nwant:\n%s", got, want)
	}

	root := Table(SecretRows(&api.Secret{Auth: &api.SecretAuth{ClientToken: "r"}}))
	if !strings.Contains(root, "token_duration       ∞") {
		t.Errorf("root token should show an infinite duration:\n%s", root)
	}

	wrapped := Table(SecretRows(&api.Secret{WrapInfo: &api.SecretWrapInfo{
		Token: "wt", Accessor: "wa", TTL: 300, CreationPath: "auth/token/create",
		CreationTime: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	}}))
	for _, line := range []string{"wrapping_token:                  wt", "wrapping_token_ttl:              5m", "wrapping_token_creation_path:    auth/token/create"} {
		if !strings.Contains(wrapped, line) {
			t.Errorf("wrapped output lacks %q:\n%s", line, wrapped)
		}
	}
	if SecretRows(&api.Secret{}) != nil || SecretRows(nil) != nil {
		t.Error("an empty secret has no rows")
	}
}

func TestListRows(t *testing.T) {
	got := Table(ListRows([]string{"b/", "a"}, nil))
	if got != "Keys\n----\na\nb/" {
		t.Errorf("plain list:\n%q", got)
	}
	info := map[string]any{
		"a":  map[string]any{"ttl": json.Number("60"), "name": "first"},
		"b/": map[string]any{"name": "second"},
	}
	got = Table(ListRows([]string{"b/", "a"}, info))
	want := strings.Join([]string{
		"Keys    name      ttl",
		"----    ----      ---",
		"a       first     1m",
		"b/      second    n/a",
	}, "\n")
	if got != want {
		t.Errorf("detailed list:\n%s\nwant:\n%s", got, want)
	}
}
