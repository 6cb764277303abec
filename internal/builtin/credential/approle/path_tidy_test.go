package approle

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestTidyRemovesExpiredOrphanedAndDangling(t *testing.T) {
	e := newEnv(t)
	rid := e.role("r", map[string]any{"secret_id_ttl": 60})
	expired, _ := e.secretID("r", nil)
	e.advance(30 * time.Second)
	live, _ := e.secretID("r", nil)
	e.advance(40 * time.Second) // the first is expired, the second not

	// A secret ID whose role vanished without its secret IDs (a crash
	// half-way through a delete), and an accessor whose secret ID is gone.
	e.role("gone", nil)
	e.secretID("gone", nil)
	ctx := context.Background()
	if err := e.Storage.Delete(ctx, "role/gone"); err != nil {
		t.Fatal(err)
	}
	if err := e.Storage.Put(ctx, &logical.StorageEntry{Key: accessorPrefix + "dangling", Value: []byte(`{"secret_id_key":"secret_id/x/y"}`)}); err != nil {
		t.Fatal(err)
	}

	resp := e.OK(logical.UpdateOperation, "tidy/secret-id", nil)
	if resp.Data["expired_secret_ids"] != 1 || resp.Data["orphaned_secret_ids"] != 1 || resp.Data["dangling_accessors"] != 2 {
		t.Fatalf("tidy: %v", resp.Data)
	}
	secrets, accessors := 0, 0
	for k := range e.Snapshot() {
		switch {
		case strings.HasPrefix(k, secretIDPrefix):
			secrets++
		case strings.HasPrefix(k, accessorPrefix):
			accessors++
		}
	}
	if secrets != 1 || accessors != 1 {
		t.Fatalf("after tidy: %d secret ids, %d accessors; want 1 and 1", secrets, accessors)
	}
	if _, err := e.login(rid, live); err != nil {
		t.Fatalf("the live secret id after tidy: %v", err)
	}
	e.Fails(logical.UpdateOperation, "login", map[string]any{"role_id": rid, "secret_id": expired}, 400, "invalid role or secret ID")

	// The periodic run tidies too.
	e.advance(time.Hour)
	if _, err := e.Backend.HandleRequest(ctx, &logical.Request{Operation: logical.RollbackOperation, Storage: e.Storage}); err != nil {
		t.Fatal(err)
	}
	for k := range e.Snapshot() {
		if strings.HasPrefix(k, secretIDPrefix) || strings.HasPrefix(k, accessorPrefix) {
			t.Fatalf("periodic tidy left %q", k)
		}
	}
}

// listHook runs once, just before the first listing of prefix.
type listHook struct {
	*logical.InmemStorage
	prefix string
	once   sync.Once
	fn     func()
}

func (l *listHook) List(ctx context.Context, prefix string) ([]string, error) {
	if prefix == l.prefix {
		l.once.Do(l.fn)
	}
	return l.InmemStorage.List(ctx, prefix)
}

// A role made while tidy runs (after tidy read the roles, before it swept
// the secret ID folders) keeps its secret IDs: its folder is not taken
// for an orphan's.
func TestTidySparesARoleMadeMeanwhile(t *testing.T) {
	e := newEnv(t)
	e.role("early", nil)
	e.secretID("early", nil)
	var lateID, lateSecret string
	hook := &listHook{InmemStorage: e.Storage, prefix: secretIDPrefix, fn: func() {
		lateID = e.role("late", nil)
		lateSecret, _ = e.secretID("late", nil)
	}}
	resp, err := e.Backend.HandleRequest(context.Background(), &logical.Request{Operation: logical.UpdateOperation, Path: "tidy/secret-id", Storage: hook})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Data["orphaned_secret_ids"] != 0 {
		t.Fatalf("tidy: %v", resp.Data)
	}
	if _, err := e.login(lateID, lateSecret); err != nil {
		t.Fatalf("the late role's secret id after tidy: %v", err)
	}
}
