package token

import (
	"context"
	"fmt"
	"strings"
)

// RevokeTree revokes the token and all its descendants, children before
// parents. Every token of the tree stops being valid as soon as the walk
// reaches it; OnRevoke runs once for each.
func (s *Store) RevokeTree(ctx context.Context, e *Entry) error {
	if e == nil {
		return nil
	}
	if e.Type == TypeBatch {
		return errBatchRevoke
	}
	return s.revokeTreeID(ctx, e.ID)
}

// RevokeTreeByID is RevokeTree for the token with store ID id (its
// lease's expiry). A token that no longer exists is not an error.
func (s *Store) RevokeTreeByID(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	return s.revokeTreeID(ctx, id)
}

// Exists reports whether an entry with store ID id is stored, valid or
// not (pending revocation, expired).
func (s *Store) Exists(ctx context.Context, id string) (bool, error) {
	e, err := s.load(ctx, id)
	return e != nil, err
}

// RevokeOrphan revokes the token alone; its children become orphans.
func (s *Store) RevokeOrphan(ctx context.Context, e *Entry) error {
	if e == nil {
		return nil
	}
	if e.Type == TypeBatch {
		return errBatchRevoke
	}
	id := e.ID
	if _, err := s.markPending(ctx, id, ""); err != nil {
		return err
	}
	kids, err := s.storage.List(ctx, parentPrefix+id+"/")
	if err != nil {
		return fmt.Errorf("token: list children: %w", err)
	}
	for _, k := range kids {
		if strings.HasSuffix(k, "/") {
			continue
		}
		if err := s.orphan(ctx, k, id); err != nil {
			return err
		}
	}
	return s.finish(ctx, id)
}

// orphan detaches child from parent: the entry first, then the index, so a
// crash leaves an index Tidy drops rather than a child of a dead parent.
func (s *Store) orphan(ctx context.Context, child, parent string) error {
	mu := s.lockFor(child)
	mu.Lock()
	c, err := s.load(ctx, child)
	if err == nil && c != nil && c.Parent == parent {
		c.Parent = ""
		c.Orphan = true
		err = s.save(ctx, c)
	}
	mu.Unlock()
	if err != nil {
		return fmt.Errorf("token: orphan child: %w", err)
	}
	return s.deleteKey(ctx, parentPrefix+parent+"/"+child)
}

type frame struct {
	id, parent string
	expanded   bool
}

// revokeTreeID walks the tree depth first without recursion. A node is
// marked pending before its children are listed: a child created
// concurrently either is listed, or finds its parent pending and revokes
// itself (see create).
func (s *Store) revokeTreeID(ctx context.Context, root string) error {
	stack := []frame{{id: root}}
	seen := map[string]bool{root: true}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		id, parent := top.id, top.parent
		if !top.expanded {
			top.expanded = true
			ok, err := s.markPending(ctx, id, parent)
			if err != nil {
				return err
			}
			if !ok {
				// A stale index: the entry left this parent (orphaned).
				stack = stack[:len(stack)-1]
				if err := s.deleteKey(ctx, parentPrefix+parent+"/"+id); err != nil {
					return err
				}
				continue
			}
			kids, err := s.storage.List(ctx, parentPrefix+id+"/")
			if err != nil {
				return fmt.Errorf("token: list children: %w", err)
			}
			for _, k := range kids {
				if strings.HasSuffix(k, "/") {
					continue
				}
				if seen[k] {
					// A cycle can only come from corrupt storage; cut it.
					if err := s.deleteKey(ctx, parentPrefix+id+"/"+k); err != nil {
						return err
					}
					continue
				}
				seen[k] = true
				stack = append(stack, frame{id: k, parent: id})
			}
			continue
		}
		if err := s.finish(ctx, id); err != nil {
			return err
		}
		if parent != "" {
			if err := s.deleteKey(ctx, parentPrefix+parent+"/"+id); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
	}
	return nil
}

// markPending makes the entry invalid from now on. It reports false when
// wantParent is set and the entry no longer names that parent; a missing
// entry is true (only its indexes are left to clean).
func (s *Store) markPending(ctx context.Context, id, wantParent string) (bool, error) {
	mu := s.lockFor(id)
	mu.Lock()
	defer mu.Unlock()
	e, err := s.load(ctx, id)
	if err != nil {
		return false, err
	}
	if e == nil {
		return true, nil
	}
	if wantParent != "" && e.Parent != wantParent {
		return false, nil
	}
	if e.NumUses == pendingUses {
		return true, nil
	}
	e.NumUses = pendingUses
	return true, s.save(ctx, e)
}

// finish deletes one pending token whose children are dealt with: OnRevoke
// first (outside the lock: the hook may call back into the store), then the
// indexes, the entry last so a failure can be retried.
func (s *Store) finish(ctx context.Context, id string) error {
	if _, busy := s.finishing.LoadOrStore(id, struct{}{}); busy {
		return nil
	}
	defer s.finishing.Delete(id)
	e, err := s.load(ctx, id)
	if err != nil || e == nil {
		return err
	}
	if s.onRevoke != nil {
		if err := s.onRevoke(ctx, e.clone()); err != nil {
			return fmt.Errorf("token: revoke hook: %w", err)
		}
	}
	mu := s.lockFor(id)
	mu.Lock()
	defer mu.Unlock()
	// Reload: the entry may have been orphaned meanwhile.
	if e, err = s.load(ctx, id); err != nil || e == nil {
		return err
	}
	if e.Parent != "" {
		if err := s.deleteKey(ctx, parentPrefix+e.Parent+"/"+id); err != nil {
			return err
		}
	}
	if err := s.deleteKey(ctx, accessorPrefix+s.keys.hashAccessor(e.Accessor)); err != nil {
		return err
	}
	s.cache.Invalidate(id)
	err = s.deleteKey(ctx, idPrefix+id)
	s.cache.Invalidate(id)
	return err
}

func (s *Store) deleteKey(ctx context.Context, key string) error {
	if err := s.storage.Delete(ctx, key); err != nil {
		return fmt.Errorf("token: delete %s: %w", strings.SplitN(key, "/", 2)[0], err)
	}
	return nil
}
