package core

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestAutoConfigValidation(t *testing.T) {
	dir := t.TempDir()
	base := func() map[string]any {
		return map[string]any{"interval": "1h", "path_prefix": dir, "storage_type": "local"}
	}
	with := func(k string, v any) map[string]any {
		m := base()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	s3 := map[string]any{"interval": 60, "path_prefix": "p/", "storage_type": "aws-s3", "aws_s3_bucket": "b", "aws_s3_region": "r"}
	cases := []struct {
		name string
		raw  map[string]any
		ok   bool
	}{
		{"local", base(), true},
		{"integer seconds", with("interval", 30), true},
		{"no interval", with("interval", nil), false},
		{"zero interval", with("interval", 0), false},
		{"relative directory", with("path_prefix", "snaps"), false},
		{"no path", with("path_prefix", nil), false},
		{"zero retain", with("retain", 0), false},
		{"file prefix with slash", with("file_prefix", "a/b"), false},
		{"hidden file prefix", with("file_prefix", ".x"), false},
		{"negative space", with("local_max_space", -1), false},
		{"no storage type", with("storage_type", nil), false},
		{"azure", with("storage_type", "azure-blob"), false},
		{"s3", s3, true},
		{"s3 without bucket", func() map[string]any { m := cloneMap(s3); delete(m, "aws_s3_bucket"); return m }(), false},
		{"s3 half a key", func() map[string]any { m := cloneMap(s3); m["aws_access_key_id"] = "x"; return m }(), false},
		{"s3 two encryptions", func() map[string]any {
			m := cloneMap(s3)
			m["aws_s3_enable_kms"], m["aws_s3_server_side_encryption"] = true, true
			return m
		}(), false},
	}
	for _, c := range cases {
		d := &logical.FieldData{Raw: c.raw, Schema: autoConfigFields}
		cfg := &autoConfig{Name: "x", Retain: 1, FilePrefix: defaultFilePrefix}
		err := d.Validate()
		if err == nil {
			cfg.apply(d)
			err = cfg.validate()
		}
		if (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok=%v", c.name, err, c.ok)
		}
	}
	// An update keeps what it does not send.
	cfg := &autoConfig{Name: "x", Retain: 1, FilePrefix: defaultFilePrefix}
	cfg.apply(&logical.FieldData{Raw: base(), Schema: autoConfigFields})
	cfg.apply(&logical.FieldData{Raw: map[string]any{"retain": 5}, Schema: autoConfigFields})
	if cfg.Retain != 5 || cfg.Interval != 3600 || cfg.PathPrefix != dir || cfg.FilePrefix != defaultFilePrefix {
		t.Fatalf("merged config %+v", cfg)
	}
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// status reads a configuration's status through the API.
func (r *raftCore) autoStatus(t *testing.T, name string) map[string]any {
	t.Helper()
	resp := r.must(t, logical.ReadOperation, "sys/storage/raft/snapshot-auto/status/"+name, nil)
	if resp == nil {
		t.Fatalf("no status for %s", name)
	}
	return resp.Data
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAutoScheduleResumesFromStoredState: a node that becomes active
// schedules the next snapshot from the last start another node recorded,
// not from its own start.
func TestAutoScheduleResumesFromStoredState(t *testing.T) {
	r := newRaftCore(t)
	ctx := context.Background()
	dir := t.TempDir()
	recorded := time.Now().UTC()
	if err := putJSON(ctx, r.c.barrier, autoStatusPrefix+"daily", &autoStatus{LastStart: recorded}); err != nil {
		t.Fatal(err)
	}
	r.must(t, logical.UpdateOperation, "sys/storage/raft/snapshot-auto/config/daily", map[string]any{
		"interval": 2, "path_prefix": dir, "storage_type": "local",
	})
	var st map[string]any
	waitUntil(t, "a snapshot", func() bool {
		st = r.autoStatus(t, "daily")
		return st["snapshot_start"] != ""
	})
	start, err := time.Parse(time.RFC3339Nano, st["snapshot_start"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if start.Before(recorded.Add(2 * time.Second)) {
		t.Fatalf("snapshot started at %s, before the recorded start %s + interval", start, recorded)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "vault-snapshot-*.snap")); len(files) != 1 {
		t.Fatalf("files %v", files)
	}
}

// TestAutoSnapshotFailuresRecorded: a destination that cannot be written
// (over local_max_space) is recorded in the status, and counted.
func TestAutoSnapshotFailuresRecorded(t *testing.T) {
	r := newRaftCore(t)
	dir := t.TempDir()
	r.must(t, logical.UpdateOperation, "sys/storage/raft/snapshot-auto/config/tiny", map[string]any{
		"interval": 1, "path_prefix": dir, "storage_type": "local", "local_max_space": 100,
	})
	var st map[string]any
	waitUntil(t, "two failed attempts", func() bool {
		st = r.autoStatus(t, "tiny")
		n, _ := st["consecutive_errors"].(int)
		return n >= 2
	})
	if msg, _ := st["last_snapshot_error"].(string); !strings.Contains(msg, "space") || st["snapshot_url"] != "" {
		t.Fatalf("status %v", st)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("files left by failed snapshots: %v", left)
	}
}

// TestAutoSchedulerStopsWithActivation: sealing ends the scheduler.
func TestAutoSchedulerStopsWithActivation(t *testing.T) {
	r := newRaftCore(t)
	r.must(t, logical.UpdateOperation, "sys/storage/raft/snapshot-auto/config/s", map[string]any{
		"interval": 1, "path_prefix": t.TempDir(), "storage_type": "local",
	})
	running := func() bool {
		r.c.snaps.auto.mu.Lock()
		defer r.c.snaps.auto.mu.Unlock()
		return r.c.snaps.auto.cancel != nil
	}
	if !running() {
		t.Fatal("no scheduler on the active node")
	}
	if err := r.c.Seal(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the scheduler to stop", func() bool { return !running() })
	if err := r.c.Unseal(context.Background(), r.key); err != nil {
		t.Fatal(err)
	}
	r.waitActive(t)
	waitUntil(t, "a scheduler for the new activation", running)
}
