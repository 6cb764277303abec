package token

import (
	"sync"
	"testing"
)

// TestCacheNeverResurrects: a fill that raced a write is dropped, so the
// cache never serves an entry older than the last write.
func TestCacheNeverResurrects(t *testing.T) {
	var c entryCache
	old := &Entry{ID: "a", NumUses: 2}
	_, gen := c.get("a") // a reader snapshots, then reads old from storage
	c.invalidate("a")    // a writer deletes the entry
	c.fill("a", old, gen)
	if e, _ := c.get("a"); e != nil {
		t.Fatal("a stale fill resurrected a deleted entry")
	}
	c.set(&Entry{ID: "a", NumUses: 1})
	_, gen = c.get("b")
	c.set(&Entry{ID: "a", NumUses: 0})
	c.fill("a", old, gen)
	if e, _ := c.get("a"); e == nil || e.NumUses != 0 {
		t.Fatalf("cache holds %+v, want the last write", e)
	}
	// Returned entries are copies.
	e, _ := c.get("a")
	e.Policies = append(e.Policies, "root")
	if again, _ := c.get("a"); len(again.Policies) != 0 {
		t.Fatal("a caller's change leaked into the cache")
	}
}

func TestCachedStoreConcurrent(t *testing.T) {
	h := newHarness(t)
	s, err := New(h.ctx, h.storage, Options{Now: h.clock.Now, CacheEntries: true})
	if err != nil {
		t.Fatal(err)
	}
	root, err := s.Lookup(h.ctx, h.rootTok)
	if err != nil || root == nil {
		t.Fatal("root lookup")
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				tok, _, err := s.Create(h.ctx, CreateRequest{Parent: root, Policies: []string{"a"}})
				if err != nil {
					t.Error(err)
					return
				}
				e, err := s.Lookup(h.ctx, tok)
				if err != nil || e == nil {
					t.Error("created token not found")
					return
				}
				if err := s.RevokeTree(h.ctx, e); err != nil {
					t.Error(err)
					return
				}
				if e, _ := s.Lookup(h.ctx, tok); e != nil {
					t.Error("revoked token still found through the cache")
					return
				}
			}
		}()
	}
	wg.Wait()
}
