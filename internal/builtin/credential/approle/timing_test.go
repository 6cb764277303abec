package approle

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// countingReads counts storage reads.
type countingReads struct {
	*logical.InmemStorage
	gets atomic.Int32
}

func (c *countingReads) Get(ctx context.Context, key string) (*logical.StorageEntry, error) {
	c.gets.Add(1)
	return c.InmemStorage.Get(ctx, key)
}

// An unknown role ID costs the storage reads a known role ID with a wrong
// secret ID costs, so the two failures take about the same time. (The
// timing itself is measured by BenchmarkLogin, not asserted.)
func TestUnknownRoleIDReadsAsMuchAsAWrongSecretID(t *testing.T) {
	e := newEnv(t)
	rid := e.role("r", nil)
	cs := &countingReads{InmemStorage: e.Storage}
	reads := func(roleID string) int32 {
		cs.gets.Store(0)
		_, err := e.Backend.HandleRequest(context.Background(), &logical.Request{Operation: logical.UpdateOperation, Path: "login",
			Data: map[string]any{"role_id": roleID, "secret_id": "wrong"}, Storage: cs,
			Connection: &logical.Connection{RemoteAddr: "127.0.0.1:1"}})
		if st, msg := logical.StatusOf(err); st != 400 || msg != "invalid role or secret ID" {
			t.Fatalf("login: %d %q", st, msg)
		}
		return cs.gets.Load()
	}
	if unknown, wrong := reads("no-such-role"), reads(rid); unknown != wrong {
		t.Fatalf("unknown role id: %d reads, wrong secret id: %d", unknown, wrong)
	}
}

// BenchmarkLogin: a good login, a wrong secret ID and an unknown role ID
// (the two failures should take about the same time).
//
//	go test -run XXX -bench Login -benchtime 2000x ./internal/builtin/credential/approle
func BenchmarkLogin(b *testing.B) {
	be := newBackend(time.Now).framework()
	storage := logical.NewInmemStorage()
	ctx := context.Background()
	call := func(path string, data map[string]any) *logical.Response {
		resp, err := be.HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: path, Storage: storage, Data: data})
		if err != nil {
			b.Fatal(err)
		}
		return resp
	}
	call("role/r", nil)
	call("role/r/role-id", map[string]any{"role_id": "rid"})
	sec := call("role/r/secret-id", nil).Data["secret_id"].(string)
	for _, tc := range []struct {
		name, roleID, secretID string
		status                 int
	}{{"ok", "rid", sec, 0}, {"wrong-secret-id", "rid", "wrong", 400}, {"unknown-role-id", "nope", "wrong", 400}} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				_, err := be.HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: "login",
					Storage: storage, Data: map[string]any{"role_id": tc.roleID, "secret_id": tc.secretID}})
				if err == nil && tc.status != 0 {
					b.Fatal("login succeeded")
				}
				if st := 0; err != nil {
					if st, _ = logical.StatusOf(err); st != tc.status {
						b.Fatalf("login: %v", err)
					}
				}
			}
		})
	}
}
