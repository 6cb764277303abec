package token

import (
	"strings"
	"sync"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestConcurrentCreateLookupRevoke(t *testing.T) {
	h := newHarness(t)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 15; i++ {
				resp, err := h.call(logical.UpdateOperation, "create", h.rootTok, true, map[string]any{"policies": "a"})
				if err != nil {
					errs <- "create: " + err.Error()
					return
				}
				child := resp.Auth.ClientToken
				resp, err = h.call(logical.UpdateOperation, "create", child, false, nil)
				if err != nil {
					errs <- "create grandchild: " + err.Error()
					return
				}
				grand := resp.Auth.ClientToken
				if _, err := h.call(logical.ReadOperation, "lookup-self", grand, false, nil); err != nil {
					errs <- "lookup: " + err.Error()
					return
				}
				if _, err := h.call(logical.UpdateOperation, "revoke-self", child, false, nil); err != nil {
					errs <- "revoke: " + err.Error()
					return
				}
				if e, err := h.store.Lookup(h.ctx, grand); e != nil || err != nil {
					errs <- "grandchild survived its parent's revocation"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	checkConsistent(t, h)
	if n := len(h.keysUnder("id/")); n != 1 {
		t.Fatalf("%d entries left, want only the root", n)
	}
}

// TestCreateRacingParentRevocation creates children of a token while it is
// being revoked: whatever the interleaving, no child may outlive it.
func TestCreateRacingParentRevocation(t *testing.T) {
	for round := 0; round < 20; round++ {
		h := newHarness(t)
		parent, _ := h.rootCreate(map[string]any{"policies": "a"})
		pe := h.lookup(parent)
		var mu sync.Mutex
		var made []string
		var wg sync.WaitGroup
		for w := 0; w < 6; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 5; i++ {
					resp, err := h.call(logical.UpdateOperation, "create", parent, false, nil)
					if err != nil {
						if statusOf(err) != 400 {
							t.Errorf("create during revocation: %v", err)
						}
						continue
					}
					mu.Lock()
					made = append(made, resp.Auth.ClientToken)
					mu.Unlock()
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.store.RevokeTree(h.ctx, pe); err != nil {
				t.Errorf("RevokeTree: %v", err)
			}
		}()
		wg.Wait()
		for _, tok := range made {
			if h.lookup(tok) != nil {
				t.Fatalf("round %d: a child outlived its revoked parent", round)
			}
		}
		checkConsistent(t, h)
	}
}

// checkConsistent asserts the storage invariants: every child's parent
// exists and indexes it, every index entry points at a live entry.
func checkConsistent(t *testing.T, h *harness) {
	t.Helper()
	dump := h.dump()
	for k := range dump {
		switch {
		case strings.HasPrefix(k, "id/"):
			id := strings.TrimPrefix(k, "id/")
			e, err := h.store.load(h.ctx, id)
			if err != nil || e == nil {
				t.Fatalf("entry %s unreadable: %v", id, err)
			}
			if e.NumUses < 0 {
				t.Errorf("entry %s left pending", id)
			}
			if e.Parent != "" {
				if _, ok := dump["id/"+e.Parent]; !ok {
					t.Errorf("entry %s has a missing parent", id)
				}
				if _, ok := dump["parent/"+e.Parent+"/"+id]; !ok {
					t.Errorf("entry %s missing from its parent's index", id)
				}
			}
			if v, ok := dump["accessor/"+h.store.keys.hashAccessor(e.Accessor)]; !ok || string(v) != id {
				t.Errorf("entry %s has no accessor index", id)
			}
		case strings.HasPrefix(k, "parent/"):
			parts := strings.Split(strings.TrimPrefix(k, "parent/"), "/")
			e, _ := h.store.load(h.ctx, parts[1])
			if e == nil || e.Parent != parts[0] {
				t.Errorf("parent index %s points nowhere", k)
			}
		case strings.HasPrefix(k, "accessor/"):
			if _, ok := dump["id/"+string(dump[k])]; !ok {
				t.Errorf("accessor index %s points nowhere", k)
			}
		}
	}
}
