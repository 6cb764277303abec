package token

import (
	"sync"
	"testing"
)

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
