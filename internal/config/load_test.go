package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadMergesFilesInOrder(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.hcl", `
storage "raft" {
  path = "/raft"
}
listener "tcp" {
  address = "127.0.0.1:8200"
  tls_disable = true
}
ui = true
log_level = "info"
default_lease_ttl = "1h"
seal "transit" {
  key_name = "k"
}
telemetry {
  statsd_address = "a:8125"
}
service_registration "consul" {}
`)
	b := writeFile(t, dir, "b.json", `{
  "listener": {"tcp": {"address": "10.0.0.1:8200", "tls_disable": true}},
  "ui": false,
  "api_addr": "https://b:8200",
  "storage": {"raft": {"path": "/raft"}},
  "telemetry": {"statsite_address": "b:8125"}
}`)
	c, err := Load(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if c.UI {
		t.Error("ui = false in the later file did not override ui = true")
	}
	if c.LogLevel != "info" || c.DefaultLeaseTTL != time.Hour {
		t.Errorf("settings only in the first file were lost: log_level %q, default_lease_ttl %s", c.LogLevel, c.DefaultLeaseTTL)
	}
	if c.APIAddr != "https://b:8200" {
		t.Errorf("APIAddr = %q", c.APIAddr)
	}
	if len(c.Listeners) != 2 || c.Listeners[0].Address != "127.0.0.1:8200" || c.Listeners[1].Address != "10.0.0.1:8200" {
		t.Errorf("listeners did not accumulate in order: %s", dump(t, c))
	}
	if c.Listeners[0].File != a || c.Listeners[0].Line != 5 || c.Listeners[1].File != b {
		t.Errorf("listener positions: %s:%d and %s", c.Listeners[0].File, c.Listeners[0].Line, c.Listeners[1].File)
	}
	if len(c.Seals) != 1 || c.Seals[0].Type != "transit" {
		t.Errorf("seals: %s", dump(t, c))
	}
	if c.Telemetry == nil || c.Telemetry.StatsiteAddress != "b:8125" || c.Telemetry.StatsdAddress != "" {
		t.Errorf("the later telemetry stanza should replace the earlier: %+v", c.Telemetry)
	}
	if c.Storage == nil || c.Storage.Type != "raft" || c.Storage.File != a {
		t.Errorf("identical storage stanzas should merge into the first: %+v", c.Storage)
	}
	if len(c.Ignored) != 1 || !strings.Contains(c.Ignored[0], "service_registration") {
		t.Errorf("Ignored = %q", c.Ignored)
	}
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "20-listener.hcl", "listener \"tcp\" {\n tls_disable = true\n}\nlog_level = \"warn\"\n")
	writeFile(t, dir, "10-storage.json", `{"storage": {"file": {"path": "/data"}}, "log_level": "debug"}`)
	writeFile(t, dir, "30-ignored.txt", "this is not config")
	writeFile(t, dir, "40-backup.hcl~", "garbage {")
	writeFile(t, dir, "#50-emacs.hcl#", "garbage {")
	writeFile(t, dir, ".#60-lock.hcl", "garbage {")
	if err := os.Mkdir(filepath.Join(dir, "sub.hcl"), 0o700); err != nil {
		t.Fatal(err)
	}
	extra := writeFile(t, t.TempDir(), "extra.hcl", "log_level = \"error\"\n")

	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Files are read in name order: 10-storage.json, then 20-listener.hcl.
	if c.Storage == nil || c.Storage.Type != "file" || len(c.Listeners) != 1 || c.LogLevel != "warn" {
		t.Fatalf("directory load: %s", dump(t, c))
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	// A file after the directory overrides it.
	c, err = Load(dir, extra)
	if err != nil {
		t.Fatal(err)
	}
	if c.LogLevel != "error" {
		t.Fatalf("LogLevel = %q, want the last file's", c.LogLevel)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	raft := writeFile(t, dir, "raft.hcl", "storage \"raft\" {\n path = \"/a\"\n}\n")
	other := writeFile(t, dir, "other.hcl", "\n\nstorage \"raft\" {\n path = \"/b\"\n}\n")
	bad := writeFile(t, dir, "bad.hcl", "ui = true\nlistner {}\n")
	empty := t.TempDir()
	writeFile(t, empty, "notes.txt", "")
	tests := []struct {
		name  string
		paths []string
		want  []string
	}{
		{"no paths", nil, []string{"no configuration path"}},
		{"missing path", []string{filepath.Join(dir, "nope.hcl")}, []string{"nope.hcl"}},
		{"conflicting storage", []string{raft, other}, []string{other + ":3:", `storage "raft" conflicts with storage "raft" at ` + raft + ":1"}},
		{"bad file", []string{raft, bad}, []string{bad + `:2: unknown key "listner"`}},
		{"directory without config", []string{empty}, []string{"holds no .hcl or .json files"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.paths...)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadHAStorageConflict(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.hcl", "ha_storage \"postgresql\" {\n connection_url = \"a\"\n}\n")
	b := writeFile(t, dir, "b.hcl", "ha_storage \"postgresql\" {\n connection_url = \"b\"\n}\n")
	if _, err := Load(a, b); err == nil || !strings.Contains(err.Error(), "ha_storage") {
		t.Fatalf("Load = %v, want an ha_storage conflict", err)
	}
	if _, err := Load(a, a); err != nil {
		t.Fatalf("the same ha_storage twice: %v", err)
	}
}
