package mount

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// TestIdentityMountAddedToOlderTable: a barrier initialized before the
// identity mount existed gets it at the next Load, once; it is served by
// the host's backend and cannot be disabled or moved.
func TestIdentityMountAddedToOlderTable(t *testing.T) {
	ctx := context.Background()
	storage := inmem.New()
	h := &fakeHost{}
	m := New(h, Options{
		Storage: storage, SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods(),
		DefaultLeaseTTL: time.Hour, MaxLeaseTTL: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	h.m = m
	if err := m.SetupDefaults(ctx); err != nil {
		t.Fatal(err)
	}
	// The older table: drop the identity row.
	keys, err := storage.List(ctx, mountTableKey)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := LoadTable(ctx, storage, mountTableKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tbl.List() {
		if e.Type == "identity" {
			if err := tbl.Remove(ctx, e.UUID); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 2 {
		if err := m.Load(ctx); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range m.mounts.List() {
			if e.Type == "identity" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d identity rows after Load", n)
		}
		m.Teardown(ctx)
	}
	if after, _ := storage.List(ctx, mountTableKey); len(after) != len(keys) {
		t.Fatalf("table has %d rows, want %d", len(after), len(keys))
	}
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Teardown(ctx)
	if rt, _ := m.Router().Match("identity/entity"); rt == nil || rt.Entry.Type != "identity" {
		t.Fatalf("identity/ not routed: %+v", rt)
	}
	for _, path := range []string{"sys/mounts/identity"} {
		if _, err := try(m, logical.DeleteOperation, path, nil); err == nil {
			t.Fatalf("%s: disabling identity/ succeeded", path)
		}
	}
	if _, err := try(m, logical.UpdateOperation, "sys/remount", map[string]any{"from": "identity", "to": "other"}); err == nil {
		t.Fatal("moving identity/ succeeded")
	}
}
