package core

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
)

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
	// The status another active node recorded, as stored.
	raw, err := json.Marshal(map[string]any{"last_snapshot_start": recorded})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.c.barrier.Put(ctx, &physical.Entry{Key: "core/snapshot-auto/status/daily", Value: raw}); err != nil {
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
		return r.c.raftops.AutoSnapshotsRunning()
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
