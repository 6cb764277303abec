package barrier

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// newUnsealed returns an initialized, unsealed barrier, its raw backend and
// its root key.
func newUnsealed(t testing.TB) (*Barrier, *inmem.Backend, []byte) {
	t.Helper()
	raw := inmem.New()
	b := New(raw)
	root, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Initialize(context.Background(), root); err != nil {
		t.Fatal(err)
	}
	if err := b.Unseal(context.Background(), root); err != nil {
		t.Fatal(err)
	}
	return b, raw, root
}

func mustPut(t testing.TB, b physical.Backend, key, value string) {
	t.Helper()
	if err := b.Put(context.Background(), &physical.Entry{Key: key, Value: []byte(value)}); err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
}

func mustGet(t testing.TB, b physical.Backend, key, want string) {
	t.Helper()
	e, err := b.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	if e == nil {
		t.Fatalf("get %q: no entry", key)
	}
	if string(e.Value) != want || e.Key != key {
		t.Fatalf("get %q = {%q, %q}, want value %q", key, e.Key, e.Value, want)
	}
}

// plainBackend hides inmem's Transaction method, to exercise the barrier's
// op-by-op fallback.
type plainBackend struct{ physical.Backend }

// flakyBackend fails Puts while failPuts is set.
type flakyBackend struct {
	physical.Backend
	failPuts atomic.Bool
}

var errInjected = errors.New("injected storage failure")

func (f *flakyBackend) Put(ctx context.Context, e *physical.Entry) error {
	if f.failPuts.Load() {
		return errInjected
	}
	return f.Backend.Put(ctx, e)
}
