package token

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

var errStorage = errors.New("storage down")

// flakyStorage fails the chosen operations on demand.
type flakyStorage struct {
	logical.Storage
	failGet, failPut, failDelete, failList atomic.Bool
}

func (f *flakyStorage) Get(ctx context.Context, k string) (*logical.StorageEntry, error) {
	if f.failGet.Load() {
		return nil, errStorage
	}
	return f.Storage.Get(ctx, k)
}

func (f *flakyStorage) Put(ctx context.Context, e *logical.StorageEntry) error {
	if f.failPut.Load() {
		return errStorage
	}
	return f.Storage.Put(ctx, e)
}

func (f *flakyStorage) Delete(ctx context.Context, k string) error {
	if f.failDelete.Load() {
		return errStorage
	}
	return f.Storage.Delete(ctx, k)
}

func (f *flakyStorage) List(ctx context.Context, p string) ([]string, error) {
	if f.failList.Load() {
		return nil, errStorage
	}
	return f.Storage.List(ctx, p)
}

func TestStorageFailures(t *testing.T) {
	h := newHarness(t)
	fs := &flakyStorage{Storage: h.storage}
	s, err := New(h.ctx, fs, Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	root, err := s.Lookup(h.ctx, h.rootTok)
	if err != nil || root == nil {
		t.Fatal("root not found through the wrapper")
	}

	fs.failPut.Store(true)
	if _, _, err := s.Create(h.ctx, CreateRequest{Parent: root, Policies: []string{"a"}}); !errors.Is(err, errStorage) {
		t.Fatalf("Create with failing Put = %v", err)
	}
	fs.failPut.Store(false)
	if n := len(h.keysUnder("id/")); n != 1 {
		t.Fatalf("a failed create left %d entries", n)
	}

	fs.failGet.Store(true)
	if _, err := s.Lookup(h.ctx, h.rootTok); !errors.Is(err, errStorage) {
		t.Fatalf("Lookup with failing Get = %v", err)
	}
	resp, err := s.Backend().HandleRequest(h.ctx, &logical.Request{Operation: logical.ReadOperation, Path: "lookup-self", ClientToken: h.rootTok})
	if resp != nil || statusOf(err) != 500 {
		t.Fatalf("lookup-self with failing storage = %v, %v", resp, err)
	}
	fs.failGet.Store(false)

	tok, _, err := s.Create(h.ctx, CreateRequest{Parent: root, Policies: []string{"a"}, Renewable: true})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := s.Lookup(h.ctx, tok)
	fs.failDelete.Store(true)
	if err := s.RevokeTree(h.ctx, e); !errors.Is(err, errStorage) {
		t.Fatalf("RevokeTree with failing Delete = %v", err)
	}
	if got, _ := s.Lookup(h.ctx, tok); got != nil {
		t.Fatal("token valid after a half-done revocation")
	}
	fs.failList.Store(true)
	if err := s.Tidy(h.ctx); !errors.Is(err, errStorage) {
		t.Fatalf("Tidy with failing List = %v", err)
	}
	fs.failList.Store(false)
	fs.failDelete.Store(false)
	if err := s.Tidy(h.ctx); err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, h)
	if n := len(h.keysUnder("id/")); n != 1 {
		t.Fatalf("%d entries after tidy, want the root only", n)
	}
}

func TestStaleParentIndexSparesOrphan(t *testing.T) {
	h := newHarness(t)
	parent, _ := h.rootCreate(map[string]any{"policies": "a"})
	child, _ := h.create(parent, false, nil)
	// A crash between orphaning the entry and dropping its index.
	c := h.lookup(child)
	c.Parent = ""
	if err := h.store.save(h.ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := h.store.RevokeTree(h.ctx, h.lookup(parent)); err != nil {
		t.Fatal(err)
	}
	if e := h.lookup(child); e == nil || !e.Orphan {
		t.Fatal("an orphan was revoked through a stale index")
	}
	checkConsistent(t, h)
}

func TestAccessorSealBoundToEntry(t *testing.T) {
	h := newHarness(t)
	a, _ := h.rootCreate(nil)
	b, _ := h.rootCreate(nil)
	ea, eb := h.lookup(a), h.lookup(b)
	// Moving a's stored value under b's key must not make it readable.
	se, _ := h.storage.Get(h.ctx, "id/"+ea.ID)
	_ = h.storage.Put(h.ctx, &logical.StorageEntry{Key: "id/" + eb.ID, Value: se.Value})
	if _, err := h.store.Lookup(h.ctx, b); err == nil {
		t.Fatal("an entry moved to another key was accepted")
	}
}

func TestLookupDataOptionalFields(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.rootCreate(map[string]any{"policies": "a", "period": "1h"})
	h.clock.Advance(10 * time.Minute)
	if _, err := h.call(logical.UpdateOperation, "renew-self", tok, false, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := h.call(logical.ReadOperation, "lookup-self", tok, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := resp.Data
	want(t, "period", d["period"], any(int64(3600)))
	want(t, "last_renewal_time", d["last_renewal_time"], any(h.clock.Now().Unix()))
	want(t, "ttl", d["ttl"], any(int64(3600)))
	if e, err := h.store.Lookup(h.ctx, ""); e != nil || err != nil {
		t.Fatal("empty token looked up")
	}
}
