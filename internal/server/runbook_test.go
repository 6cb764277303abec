package server

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

// TestRunbook is the production runbook on one node, through the official
// client: init 5/3, unseal, KV v2 and v1, audit to a file, seal, restart,
// unseal again, every secret intact; and the raw storage holds no secret.
func TestRunbook(t *testing.T) {
	dir := t.TempDir()
	cfgPath := fileConfig(t, dir, `cluster_name = "runbook"`)
	srv := startServer(t, Options{ConfigPaths: []string{cfgPath}})
	c := srv.client("")

	st, err := c.Sys().SealStatus()
	if err != nil || st.Initialized || !st.Sealed {
		t.Fatalf("fresh node seal-status = %+v, %v; want uninitialized and sealed", st, err)
	}
	keys, root := initUnseal(t, c)
	if len(keys) != 5 || !strings.HasPrefix(root, "hvs.") {
		t.Fatalf("init gave %d keys and root %q", len(keys), root)
	}
	c.SetToken(root)

	if err := c.Sys().Mount("secret", &vault.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatalf("mount kv-v2: %v", err)
	}
	if err := c.Sys().Mount("kv1", &vault.MountInput{Type: "kv"}); err != nil {
		t.Fatalf("mount kv v1: %v", err)
	}
	auditPath := filepath.Join(dir, "audit.log")
	if err := c.Sys().EnableAuditWithOptions("file", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": auditPath}}); err != nil {
		t.Fatalf("enable audit: %v", err)
	}

	ctx := context.Background()
	const secretValue = "s3cr3t-plaintext-value-7f1c"
	if _, err := c.KVv2("secret").Put(ctx, "creds", map[string]any{"admin": secretValue}); err != nil {
		t.Fatalf("kv put: %v", err)
	}
	if _, err := c.KVv2("secret").Put(ctx, "creds", map[string]any{"admin": "second"}); err != nil {
		t.Fatalf("kv put 2: %v", err)
	}
	if _, err := c.KVv1("kv1").Get(ctx, "missing"); !errors.Is(err, vault.ErrSecretNotFound) {
		t.Fatalf("kv1 missing: want ErrSecretNotFound, got %v", err)
	}
	if err := c.KVv1("kv1").Put(ctx, "app", map[string]any{"user": "app", "pass": "pw"}); err != nil {
		t.Fatalf("kv1 put: %v", err)
	}
	got, err := c.KVv2("secret").GetVersion(ctx, "creds", 1)
	if err != nil || got.Data["admin"] != secretValue || got.VersionMetadata.Version != 1 {
		t.Fatalf("kv get v1 = %+v, %v", got, err)
	}

	// The audit log has both entries for the put, with the secret HMAC'd.
	raw, err := os.ReadFile(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(secretValue)) || bytes.Contains(raw, []byte(root)) {
		t.Fatal("audit log contains a secret or the root token in the clear")
	}
	if !bytes.Contains(raw, []byte(`"type":"request"`)) || !bytes.Contains(raw, []byte(`"type":"response"`)) || !bytes.Contains(raw, []byte("hmac-sha256:")) {
		t.Fatalf("audit log lacks request/response entries or HMACs:\n%s", raw)
	}
	hash, err := c.Sys().AuditHash("file", secretValue)
	if err != nil || !bytes.Contains(raw, []byte(hash)) {
		t.Fatalf("audit-hash %q not found in the log (err %v)", hash, err)
	}

	// Seal: every secret path answers 503; unseal status resets.
	if err := c.Sys().Seal(); err != nil {
		t.Fatalf("seal: %v", err)
	}
	_, err = c.KVv2("secret").Get(ctx, "creds")
	assertStatus(t, err, http.StatusServiceUnavailable)

	// Restart on the same storage, unseal with a different 3 of the 5 keys.
	srv.stop()
	srv = startServer(t, Options{ConfigPaths: []string{cfgPath}})
	c = srv.client(root)
	unseal(t, c, keys[2:])
	got, err = c.KVv2("secret").Get(ctx, "creds")
	if err != nil || got.Data["admin"] != "second" || got.VersionMetadata.Version != 2 {
		t.Fatalf("after restart kv get = %+v, %v", got, err)
	}
	v1, err := c.KVv1("kv1").Get(ctx, "app")
	if err != nil || v1.Data["pass"] != "pw" {
		t.Fatalf("after restart kv1 get = %+v, %v", v1, err)
	}
	audits, err := c.Sys().ListAudit()
	if err != nil || audits["file/"] == nil {
		t.Fatalf("audit devices after restart = %v, %v", audits, err)
	}
	srv.stop()

	// The raw bbolt file holds no plaintext secret, no token, no keys.
	db, err := os.ReadFile(filepath.Join(dir, "data", "strongbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, needle := range append([]string{secretValue, root, "admin", strings.TrimPrefix(root, "hvs.")}, keys...) {
		if bytes.Contains(db, []byte(needle)) {
			t.Errorf("storage file contains %q in the clear", needle)
		}
	}
}

func assertStatus(t *testing.T, err error, status int) {
	t.Helper()
	var re *vault.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want HTTP %d error, got %v", status, err)
	}
	if re.StatusCode != status {
		t.Fatalf("want HTTP %d, got %d: %v", status, re.StatusCode, re.Errors)
	}
}
