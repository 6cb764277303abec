package server

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

// TestAuditDeclaredInConfig: an `audit "file" "PATH" { … }` stanza enables
// the device at unseal, with its description and options; with
// disable_api_audit_creation the API refuses new devices (400) and
// changes nothing; after a restart with a changed description the device
// keeps its salt (same audit-hash).
func TestAuditDeclaredInConfig(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "audit.log")
	stanza := func(desc string) string {
		return fmt.Sprintf(`
audit "file" "to-file" {
  description = %q
  local       = true
  options {
    file_path = %q
    prefix    = "sb:"
  }
}
disable_api_audit_creation = true
`, desc, logPath)
	}
	srv := startServer(t, Options{ConfigPaths: []string{fileConfig(t, dir, stanza("first"))}})
	c := srv.client("")
	keys, root := initUnseal(t, c)
	c.SetToken(root)

	audits, err := c.Sys().ListAudit()
	if err != nil {
		t.Fatal(err)
	}
	a, ok := audits["to-file/"]
	if !ok || a.Type != "file" || a.Description != "first" || !a.Local || a.Options["file_path"] != logPath || a.Options["prefix"] != "sb:" {
		t.Fatalf("sys/audit = %+v", audits)
	}
	if _, err := c.Logical().Write("sys/mounts/kv", map[string]any{"type": "kv"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `sb:{"time"`) || !strings.Contains(string(data), `"path":"sys/mounts/kv"`) {
		t.Fatalf("the declared device did not log the request:\n%s", data)
	}

	err = c.Sys().EnableAuditWithOptions("other", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": filepath.Join(dir, "other.log")}})
	assertStatus(t, err, http.StatusBadRequest)
	if audits, _ := c.Sys().ListAudit(); len(audits) != 1 {
		t.Fatalf("refused creation changed the table: %+v", audits)
	}
	if _, err := os.Stat(filepath.Join(dir, "other.log")); !os.IsNotExist(err) {
		t.Fatalf("refused device created its file: %v", err)
	}
	hash := func(c *vault.Client) string {
		s, err := c.Logical().Write("sys/audit-hash/to-file", map[string]any{"input": "x"})
		if err != nil {
			t.Fatal(err)
		}
		return s.Data["hash"].(string)
	}
	before := hash(c)
	srv.stop()

	srv = startServer(t, Options{ConfigPaths: []string{fileConfig(t, dir, stanza("second"))}})
	c = srv.client(root)
	unseal(t, c, keys[:3])
	audits, err = c.Sys().ListAudit()
	if err != nil {
		t.Fatal(err)
	}
	if a := audits["to-file/"]; a == nil || a.Description != "second" || len(audits) != 1 {
		t.Fatalf("after restart sys/audit = %+v", audits)
	}
	if after := hash(c); after != before {
		t.Errorf("audit-hash changed across the restart: %s then %s", before, after)
	}
}
