package mount

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/testlog"
)

// TestSystemViewAndStorageFlags: the system view a mount's engine gets
// follows the mount through tuning and a remount (same UUID and accessor,
// tuned TTLs), reports replication disabled; an engine flagging
// seal-wrapped storage is mounted with a warning saying the entries are
// protected by the barrier only, and its flags show in sys/mounts/<path>.
func TestSystemViewAndStorageFlags(t *testing.T) {
	var (
		mu  sync.Mutex
		sys logical.SystemView
	)
	wrapped := func(_ context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
		mu.Lock()
		sys = conf.System
		mu.Unlock()
		return &logical.FrameworkBackend{PathsSpecial: &logical.Paths{SealWrapStorage: []string{"keys/"}, LocalStorage: []string{"wal/"}}}, nil
	}
	logs := &testlog.Buffer{}
	m := newTestMounts(t, logs, map[string]logical.Factory{"wrapped": wrapped})
	do(t, m, logical.UpdateOperation, "sys/mounts/w", map[string]any{"type": "wrapped", "local": true})
	info := do(t, m, logical.ReadOperation, "sys/mounts/w", nil).Data

	if !strings.Contains(logs.String(), "protected by the barrier only") || !strings.Contains(logs.String(), "keys/") {
		t.Fatalf("no warning about seal-wrapped storage; log:\n%s", logs.String())
	}
	if got, _ := info["seal_wrap_storage_paths"].([]string); len(got) != 1 || got[0] != "keys/" {
		t.Fatalf("seal_wrap_storage_paths %v", info["seal_wrap_storage_paths"])
	}
	if got, _ := info["local_storage_paths"].([]string); len(got) != 1 || got[0] != "wal/" {
		t.Fatalf("local_storage_paths %v", info["local_storage_paths"])
	}

	mu.Lock()
	v := sys
	mu.Unlock()
	check := func(when string, def time.Duration) {
		t.Helper()
		if v.MountUUID() != info["uuid"] || v.MountAccessor() != info["accessor"] || !v.LocalMount() ||
			v.ReplicationState() != logical.ReplicationUnknown || v.DefaultLeaseTTL() != def {
			t.Fatalf("%s: uuid %s accessor %s local %v replication %s default ttl %s; mount %v",
				when, v.MountUUID(), v.MountAccessor(), v.LocalMount(), v.ReplicationState(), v.DefaultLeaseTTL(), info)
		}
	}
	check("mounted", 768*time.Hour)
	do(t, m, logical.UpdateOperation, "sys/mounts/w/tune", map[string]any{"default_lease_ttl": "1h"})
	check("tuned", time.Hour)
	do(t, m, logical.UpdateOperation, "sys/remount", map[string]any{"from": "w", "to": "moved"})
	check("remounted", time.Hour)
}

// TestUnsupportedMountFlagsRefused: seal_wrap and external_entropy_access
// would be accepted and do nothing; true is refused with a 400 naming the
// flag and no mount is made. false, what clients send by default, is fine.
func TestUnsupportedMountFlagsRefused(t *testing.T) {
	m := newTestMounts(t, io.Discard, nil)
	for _, base := range []string{"sys/mounts/", "sys/auth/"} {
		for _, flag := range []string{"seal_wrap", "external_entropy_access"} {
			typ := "kv"
			if base == "sys/auth/" {
				typ = "userpass"
			}
			_, err := try(m, logical.UpdateOperation, base+"x", map[string]any{"type": typ, flag: true})
			st, msg := logical.StatusOf(err)
			if st != http.StatusBadRequest || !strings.Contains(msg, flag) {
				t.Fatalf("%sx %s=true: %d %q, want a 400 naming it", base, flag, st, msg)
			}
		}
	}
	if rt, _ := m.Router().Match("x/y"); rt != nil && rt.Mount == "x/" {
		t.Fatal("a refused mount was made at x/")
	}
	do(t, m, logical.UpdateOperation, "sys/mounts/ok", map[string]any{"type": "kv", "seal_wrap": false, "external_entropy_access": false})
}
