package server

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

// TestAuditFailsClosed: with one device failing among two, requests go on;
// when every device fails, requests fail and nothing is served unaudited.
func TestAuditFailsClosed(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Fatalf("this test needs /dev/full (writes to it fail with ENOSPC): %v", err)
	}
	_, c := startDev(t)
	ctx := context.Background()
	good := filepath.Join(t.TempDir(), "audit.log")
	if err := c.Sys().EnableAuditWithOptions("good", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": good}}); err != nil {
		t.Fatal(err)
	}
	// The test write fails: refused, unless skip_test (as in Vault).
	err := c.Sys().EnableAuditWithOptions("full", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": "/dev/full", "mode": "0000"}})
	assertStatus(t, err, http.StatusBadRequest)
	if err := c.Sys().EnableAuditWithOptions("full", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": "/dev/full", "mode": "0000", "skip_test": "true"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVv2("secret").Put(ctx, "a", map[string]any{"v": "1"}); err != nil {
		t.Fatalf("one failing device of two blocked a request: %v", err)
	}
	if err := c.Sys().DisableAudit("good"); err != nil {
		t.Fatal(err)
	}
	_, err = c.KVv2("secret").Put(ctx, "b", map[string]any{"v": "2"})
	assertStatus(t, err, http.StatusInternalServerError)
	_, err = c.KVv2("secret").Get(ctx, "a")
	assertStatus(t, err, http.StatusInternalServerError)

	// Every line of the good log is JSON with a type; requests and
	// responses pair up.
	f, err := os.Open(good)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	counts := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e struct {
			Type    string `json:"type"`
			Request struct {
				Path string `json:"path"`
			} `json:"request"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line is not JSON: %q", sc.Text())
		}
		if e.Request.Path == "sys/audit/test" {
			continue // the test write at enable time has no response
		}
		counts[e.Type]++
	}
	if counts["request"] == 0 || counts["request"] != counts["response"] {
		t.Fatalf("audit entries: %v", counts)
	}
}
