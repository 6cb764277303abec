package token

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrTidyInProgress is returned by Tidy while another Tidy runs.
var ErrTidyInProgress = errors.New("token: tidy already in progress")

// Tidy revokes expired tokens, finishes revocations a crash interrupted,
// revokes tokens whose parent is gone, and deletes index entries that point
// nowhere. One Tidy runs at a time; it returns every error it met, joined.
func (s *Store) Tidy(ctx context.Context) error {
	if !s.tidying.CompareAndSwap(false, true) {
		return ErrTidyInProgress
	}
	defer s.tidying.Store(false)

	var errs []error
	var revoked, dropped int
	ids, err := s.storage.List(ctx, idPrefix)
	if err != nil {
		return fmt.Errorf("token: tidy: list entries: %w", err)
	}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		dead, err := s.isDead(ctx, id)
		if err == nil && dead {
			err = s.revokeTreeID(ctx, id)
			revoked++
		}
		if err != nil {
			errs = append(errs, err)
		}
	}

	parents, err := s.storage.List(ctx, parentPrefix)
	if err != nil {
		errs = append(errs, fmt.Errorf("token: tidy: list parent index: %w", err))
	}
	for _, p := range parents {
		p = strings.TrimSuffix(p, "/")
		kids, err := s.storage.List(ctx, parentPrefix+p+"/")
		if err != nil {
			errs = append(errs, fmt.Errorf("token: tidy: list children: %w", err))
			continue
		}
		for _, k := range kids {
			n, err := s.dropIndexUnless(ctx, k, parentPrefix+p+"/"+k, func(e *Entry) bool { return e.Parent == p })
			dropped += n
			if err != nil {
				errs = append(errs, err)
			}
		}
	}

	accs, err := s.storage.List(ctx, accessorPrefix)
	if err != nil {
		errs = append(errs, fmt.Errorf("token: tidy: list accessor index: %w", err))
	}
	for _, a := range accs {
		se, err := s.storage.Get(ctx, accessorPrefix+a)
		if err != nil || se == nil {
			if err != nil {
				errs = append(errs, fmt.Errorf("token: tidy: read accessor index: %w", err))
			}
			continue
		}
		n, err := s.dropIndexUnless(ctx, string(se.Value), accessorPrefix+a, func(e *Entry) bool {
			return s.keys.hashAccessor(e.Accessor) == a
		})
		dropped += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	s.logger.Info("token tidy finished", "entries", len(ids), "revoked", revoked, "index_entries_dropped", dropped)
	return errors.Join(errs...)
}

// isDead reports whether the entry must go: expired, left pending, or
// hanging under a parent that no longer exists.
func (s *Store) isDead(ctx context.Context, id string) (bool, error) {
	e, err := s.load(ctx, id)
	if err != nil || e == nil {
		return false, err
	}
	if e.NumUses < 0 || e.Expired(s.now()) {
		return true, nil
	}
	if e.Parent == "" {
		return false, nil
	}
	p, err := s.load(ctx, e.Parent)
	if err != nil || p != nil {
		return false, err
	}
	// Read again under the lock: a revoke-orphan clears Parent before it
	// deletes the parent, so a fresh read tells orphaned from dangling.
	mu := s.lockFor(id)
	mu.RLock()
	defer mu.RUnlock()
	e, err = s.load(ctx, id)
	if err != nil || e == nil || e.Parent == "" {
		return false, err
	}
	p, err = s.load(ctx, e.Parent)
	return err == nil && p == nil, err
}

// dropIndexUnless deletes key unless the entry id exists and keep(entry).
// It holds the entry's lock, so an index written by a create in progress
// (indexes go first) is never mistaken for a dangling one.
func (s *Store) dropIndexUnless(ctx context.Context, id, key string, keep func(*Entry) bool) (int, error) {
	mu := s.lockFor(id)
	mu.Lock()
	defer mu.Unlock()
	e, err := s.load(ctx, id)
	if err != nil {
		return 0, err
	}
	if e != nil && keep(e) {
		return 0, nil
	}
	return 1, s.deleteKey(ctx, key)
}
