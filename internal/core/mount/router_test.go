package mount

import (
	"context"
	"net/http"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

// TestRouterMatch: the longest mount prefix wins, a path naming a mount
// without its slash matches it, and an unmounted path matches nothing.
func TestRouterMatch(t *testing.T) {
	m := newTestMounts(t, nil, nil)
	do(t, m, logical.UpdateOperation, "sys/mounts/a", map[string]any{"type": "kv"})
	do(t, m, logical.UpdateOperation, "sys/mounts/ab/c", map[string]any{"type": "kv"})
	for _, tc := range []struct{ path, mount, rel string }{
		{"a/x/y", "a/", "x/y"},
		{"a", "a/", ""},
		{"a/", "a/", ""},
		{"ab/c/d", "ab/c/", "d"},
		{"auth/token/lookup-self", "auth/token/", "lookup-self"},
		{"sys/mounts", "sys/", "mounts"},
		{"ab/d", "", ""},
		{"nope", "", ""},
	} {
		rt, rel := m.Router().Match(tc.path)
		got := ""
		if rt != nil {
			got = rt.Mount
		}
		if got != tc.mount || rel != tc.rel {
			t.Errorf("Match(%q) = %q, %q; want %q, %q", tc.path, got, rel, tc.mount, tc.rel)
		}
	}
	if _, err := try(m, logical.UpdateOperation, "sys/mounts/a/b", map[string]any{"type": "kv"}); !isBadRequest(err) {
		t.Fatalf("nested mount under a/: %v, want a 400", err)
	}
	m.Teardown(context.Background())
	if m.Router() != nil {
		t.Fatal("router outlives Teardown")
	}
}

// TestViewAndCubbyhole: a view refuses keys that climb out of it, and
// destroying a token's cubbyhole removes that token's entries only.
func TestViewAndCubbyhole(t *testing.T) {
	ctx := context.Background()
	m := newTestMounts(t, nil, nil)
	rt, _ := m.Router().Match("cubbyhole/x")
	if rt == nil || !rt.IsCubby {
		t.Fatalf("cubbyhole route %+v", rt)
	}
	if err := rt.Storage.Put(ctx, &logical.StorageEntry{Key: "../escape", Value: []byte("v")}); !isBadRequest(err) {
		t.Fatalf("put ../escape: %v, want a 400", err)
	}
	for _, id := range []string{"t1", "t2"} {
		s := rt.Storage.Sub(id + "/")
		for _, k := range []string{"a", "dir/b"} {
			if err := s.Put(ctx, &logical.StorageEntry{Key: k, Value: []byte(id)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := m.DestroyCubbyhole(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"t1": false, "t2": true} {
		for _, k := range []string{"a", "dir/b"} {
			e, err := rt.Storage.Sub(id+"/").Get(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if (e != nil) != want {
				t.Errorf("%s/%s present=%v after destroying t1's cubbyhole", id, k, e != nil)
			}
		}
	}
}

func isBadRequest(err error) bool {
	code, _ := logical.StatusOf(err)
	return err != nil && code == http.StatusBadRequest
}
