package policy

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	storage := logical.NewInmemStorage()
	s := NewStore(storage)

	if err := s.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	e, err := storage.Get(ctx, "policy/default")
	if err != nil || e == nil {
		t.Fatalf("default not written by Setup: %v %v", e, err)
	}

	raw := rule("secret/*", "read", "list")
	if err := s.Set(ctx, " Dev-Team ", raw); err != nil {
		t.Fatal(err)
	}
	p, err := s.Get(ctx, "DEV-TEAM")
	if err != nil || p == nil {
		t.Fatalf("get: %v %v", p, err)
	}
	if p.Name != "dev-team" || p.Raw != raw {
		t.Fatalf("got %q %q", p.Name, p.Raw)
	}

	// A fresh store over the same storage sees it (nothing only in memory).
	s2 := NewStore(storage)
	p2, err := s2.Get(ctx, "dev-team")
	if err != nil || p2 == nil || p2.Raw != raw || !reflect.DeepEqual(p2.Paths, p.Paths) {
		t.Fatalf("reload: %+v %v", p2, err)
	}

	// Names with slashes are kept and listed whole.
	if err := s.Set(ctx, "apps/web", rule("apps/web/*", "read")); err != nil {
		t.Fatal(err)
	}
	names, err := s2.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"apps/web", "default", "dev-team", "root"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("list = %v, want %v", names, want)
	}

	// Update replaces, and the cache follows.
	raw2 := rule("secret/*", "deny")
	if err := s.Set(ctx, "dev-team", raw2); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Get(ctx, "dev-team"); p.Raw != raw2 {
		t.Fatalf("update not visible: %q", p.Raw)
	}

	// Delete, and deleting again is fine.
	for range 2 {
		if err := s.Delete(ctx, "Dev-Team"); err != nil {
			t.Fatal(err)
		}
	}
	if p, err := s.Get(ctx, "dev-team"); p != nil || err != nil {
		t.Fatalf("after delete: %v %v", p, err)
	}
	if e, _ := storage.Get(ctx, "policy/dev-team"); e != nil {
		t.Fatal("still in storage")
	}
	if p, err := s.Get(ctx, "never-existed"); p != nil || err != nil {
		t.Fatalf("missing: %v %v", p, err)
	}
}

func TestStoreBuiltins(t *testing.T) {
	ctx := context.Background()
	s := NewStore(logical.NewInmemStorage())

	// Both exist before anything is written.
	names, err := s.List(ctx)
	if err != nil || !reflect.DeepEqual(names, []string{"default", "root"}) {
		t.Fatalf("list = %v %v", names, err)
	}
	root, err := s.Get(ctx, "ROOT")
	if err != nil || root == nil || root.Name != "root" {
		t.Fatalf("root: %v %v", root, err)
	}
	def, err := s.Get(ctx, "default")
	if err != nil || def == nil || def.Raw != DefaultPolicy {
		t.Fatalf("default: %v %v", def, err)
	}

	// root cannot be written or deleted; default cannot be deleted.
	if err := s.Set(ctx, "root", rule("*", "read")); !errors.Is(err, ErrImmutablePolicy) || err.Error() != `cannot update "root" policy` {
		t.Fatalf("set root: %v", err)
	}
	for name, msg := range map[string]string{"root": `cannot delete "root" policy`, " Default": "cannot delete default policy"} {
		err := s.Delete(ctx, name)
		if !errors.Is(err, ErrCannotDelete) || err.Error() != msg {
			t.Fatalf("delete %q: %v", name, err)
		}
		if code, _ := logical.StatusOf(err); code != 400 {
			t.Fatalf("delete %q: status %d", name, code)
		}
	}

	// default can be rewritten, and the rewrite survives.
	custom := rule("auth/token/lookup-self", "read")
	if err := s.Set(ctx, "default", custom); err != nil {
		t.Fatal(err)
	}
	if err := s.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Get(ctx, "default"); p.Raw != custom {
		t.Fatal("Setup overwrote the modified default policy")
	}
}

func TestStoreSetRejects(t *testing.T) {
	ctx := context.Background()
	storage := logical.NewInmemStorage()
	s := NewStore(storage)
	tests := []struct {
		name, raw string
		want      error
	}{
		{"bad", `path "secret/*" { capabilities = ["fly"] }`, ErrInvalidPolicy},
		{"bad", `path "secret/*" {`, ErrInvalidPolicy},
		{"empty", "  ", ErrInvalidPolicy},
		{"", rule("a", "read"), ErrInvalidPolicy},
		{"a//b", rule("a", "read"), ErrInvalidPolicy},
		{"a/", rule("a", "read"), ErrInvalidPolicy},
		{"tab\tname", rule("a", "read"), ErrInvalidPolicy},
		{"Root", rule("a", "read"), ErrImmutablePolicy},
	}
	for _, tc := range tests {
		err := s.Set(ctx, tc.name, tc.raw)
		if !errors.Is(err, tc.want) || !errors.Is(err, logical.ErrInvalidRequest) {
			t.Errorf("set %q: got %v, want %v", tc.name, err, tc.want)
		}
	}
	keys, err := storage.List(ctx, "policy/")
	if err != nil || len(keys) != 0 {
		t.Fatalf("rejected policies were stored: %v %v", keys, err)
	}
	// A failed update keeps the previous version.
	good := rule("a", "read")
	if err := s.Set(ctx, "keep", good); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "keep", `path "a" { capabilities = ["fly"] }`); err == nil {
		t.Fatal("bad update accepted")
	}
	if p, _ := NewStore(storage).Get(ctx, "keep"); p == nil || p.Raw != good {
		t.Fatalf("previous version lost: %+v", p)
	}
}

func TestStoreACL(t *testing.T) {
	ctx := context.Background()
	s := NewStore(logical.NewInmemStorage())
	if err := s.Set(ctx, "reader", rule("secret/*", "read")); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "writer", rule("secret/*", "update")+rule("secret/locked", "deny")); err != nil {
		t.Fatal(err)
	}

	a, err := s.ACL(ctx, "reader", "WRITER", "missing", "reader", "default")
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Capabilities("secret/x"); !reflect.DeepEqual(got, []string{"read", "update"}) {
		t.Fatalf("secret/x: %v", got)
	}
	if got := a.Capabilities("secret/locked"); !reflect.DeepEqual(got, []string{"deny"}) {
		t.Fatalf("secret/locked: %v", got)
	}
	if !a.Allowed("auth/token/lookup-self", logical.ReadOperation).Allowed {
		t.Fatal("default policy not applied")
	}

	none, err := s.ACL(ctx, "missing")
	if err != nil || none.Allowed("secret/x", logical.ReadOperation).Allowed {
		t.Fatalf("ACL of missing policy allows: %v", err)
	}

	root, err := s.ACL(ctx, "reader", "root")
	if err != nil || !root.IsRoot() {
		t.Fatalf("root ACL: %v %v", root, err)
	}

	// The ACL follows updates and deletes.
	if err := s.Set(ctx, "reader", rule("secret/*", "list")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "writer"); err != nil {
		t.Fatal(err)
	}
	a, err = s.ACL(ctx, "reader", "writer")
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Capabilities("secret/x"); !reflect.DeepEqual(got, []string{"list"}) {
		t.Fatalf("after update: %v", got)
	}
}

func TestStoreInvalidate(t *testing.T) {
	ctx := context.Background()
	storage := logical.NewInmemStorage()
	s := NewStore(storage)
	if err := s.Set(ctx, "p", rule("a", "read")); err != nil {
		t.Fatal(err)
	}
	// Another writer (say, the active node) changes storage underneath.
	if err := NewStore(storage).Set(ctx, "p", rule("b", "read")); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Get(ctx, "p"); p.Paths[0].Path != "a" {
		t.Fatal("expected the cached version before invalidation")
	}
	s.Invalidate("P")
	if p, _ := s.Get(ctx, "p"); p.Paths[0].Path != "b" {
		t.Fatal("invalidation did not reload")
	}
}

type failingStorage struct{ logical.Storage }

func (failingStorage) Put(context.Context, *logical.StorageEntry) error {
	return errors.New("disk on fire")
}

func TestStoreStorageErrors(t *testing.T) {
	ctx := context.Background()
	s := NewStore(failingStorage{logical.NewInmemStorage()})
	if err := s.Set(ctx, "p", rule("a", "read")); err == nil || errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("storage failure: %v", err)
	}
	if _, err := s.Get(ctx, "default"); err == nil {
		t.Fatal("default creation failure not reported")
	}
	if p, _ := s.Get(ctx, "p"); p != nil {
		t.Fatal("failed write is visible")
	}
}

// TestStoreConcurrent runs readers, writers and ACL builds at once; run with
// -race. Each writer's final state must be what it wrote last.
func TestStoreConcurrent(t *testing.T) {
	ctx := context.Background()
	s := NewStore(logical.NewInmemStorage())
	const workers, rounds = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*3)
	for w := range workers {
		name := fmt.Sprintf("p%d", w)
		wg.Add(3)
		go func() {
			defer wg.Done()
			for i := range rounds {
				if err := s.Set(ctx, name, rule(fmt.Sprintf("secret/%d", i), "read")); err != nil {
					errs <- err
					return
				}
				if i%10 == 0 {
					if err := s.Delete(ctx, name); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range rounds {
				if _, err := s.ACL(ctx, name, "default", "p0"); err != nil {
					errs <- err
					return
				}
				if _, err := s.List(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range rounds {
				if _, err := s.Get(ctx, name); err != nil {
					errs <- err
					return
				}
				s.Invalidate(name)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for w := range workers {
		p, err := s.Get(ctx, fmt.Sprintf("p%d", w))
		if err != nil || p == nil || p.Paths[0].Path != fmt.Sprintf("secret/%d", rounds-1) {
			t.Fatalf("p%d final state: %+v %v", w, p, err)
		}
		fresh, _ := NewStore(s.storage).Get(ctx, p.Name)
		if fresh.Raw != p.Raw {
			t.Fatalf("p%d: cache %q differs from storage %q", w, p.Raw, fresh.Raw)
		}
	}
}
