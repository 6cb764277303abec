package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseAuditStanza(t *testing.T) {
	hcl := `
audit "file" "to-file" {
  description = "main log"
  local       = true
  options {
    file_path = "/var/log/sb.log"
    log_raw   = true
    Mode      = "0640"
  }
}
audit "socket" "sock/" {
  options = { address = "127.0.0.1:9090", write_timeout = "1s" }
}
disable_api_audit_creation = true
`
	json := `{
  "audit": {"file": {"to-file": {"description": "main log", "local": true,
     "options": {"file_path": "/var/log/sb.log", "log_raw": true, "Mode": "0640"}}},
   "socket": {"sock/": {"options": {"address": "127.0.0.1:9090", "write_timeout": "1s"}}}},
  "disable_api_audit_creation": true
}`
	want := []Audit{
		{Type: "file", Path: "to-file", Description: "main log", Local: true,
			Options: map[string]string{"file_path": "/var/log/sb.log", "log_raw": "true", "Mode": "0640"}},
		{Type: "socket", Path: "sock/", Options: map[string]string{"address": "127.0.0.1:9090", "write_timeout": "1s"}},
	}
	for name, src := range map[string]string{"a.hcl": hcl, "a.json": json} {
		c, err := Parse(name, []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !c.DisableAPIAuditCreation {
			t.Errorf("%s: disable_api_audit_creation not set", name)
		}
		if len(c.Audits) != len(want) {
			t.Fatalf("%s: %d audit stanzas, want %d", name, len(c.Audits), len(want))
		}
		for i, a := range c.Audits {
			got := *a
			got.File, got.Line = "", 0
			if !reflect.DeepEqual(got, want[i]) {
				t.Errorf("%s: audit %d = %+v, want %+v", name, i, got, want[i])
			}
		}
	}
}

func TestParseAuditStanzaErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{`audit "file" { options { file_path = "x" } }`, "needs a type and a path"},
		{`audit { }`, "needs a type and a path"},
		{`audit "file" "p" { descriptoin = "x" }`, "descriptoin"},
		{`audit "file" "p" { options { nested { a = 1 } } }`, "options"},
		{`audit "file" "p" { local = "maybe" }`, "local"},
	}
	for _, tc := range tests {
		_, err := Parse("a.hcl", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", tc.src, err, tc.want)
		}
	}
}
