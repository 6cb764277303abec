package identity

import (
	"maps"
	"slices"
)

// Resolved is what a request of a token tied to an entity needs: the
// entity, its groups and the policies they give.
type Resolved struct {
	Entity *Entity
	// DirectGroups list the entity in member_entity_ids; InheritedGroups
	// hold those groups (member_group_ids), transitively.
	DirectGroups    []*Group
	InheritedGroups []*Group
	// Policies are the entity's and its groups' policies, sorted and
	// deduplicated: the token's identity_policies.
	Policies []string
}

// Groups are the direct and inherited groups.
func (r *Resolved) Groups() []*Group {
	return append(slices.Clone(r.DirectGroups), r.InheritedGroups...)
}

// Resolve returns the entity an ID names (following merges) with its
// groups and policies; nil when no entity has that ID. Values are shared:
// treat them as read-only.
//
// Every request of a token with an entity asks, so answers are kept until
// the next write to the store.
func (s *Store) Resolve(entityID string) *Resolved {
	if entityID == "" {
		return nil
	}
	if v, ok := s.resolved.Load(entityID); ok {
		if c := v.(resolvedEntry); c.gen == s.gen.Load() {
			return c.r
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	// Writers change the index and the generation under mu: read under
	// it, the generation is the index's.
	gen := s.gen.Load()
	r := s.resolveLocked(entityID)
	if r == nil {
		s.resolved.Delete(entityID)
		return nil
	}
	s.resolved.Store(entityID, resolvedEntry{gen: gen, r: r})
	return r
}

type resolvedEntry struct {
	gen uint64
	r   *Resolved
}

func (s *Store) resolveLocked(entityID string) *Resolved {
	e := s.idx.entity(entityID)
	if e == nil {
		return nil
	}
	r := &Resolved{Entity: e}
	direct := s.idx.directGroups(e.ID)
	inherited := s.idx.ancestors(direct)
	set := map[string]struct{}{}
	for _, p := range e.Policies {
		set[p] = struct{}{}
	}
	for _, id := range direct {
		g := s.idx.groups[id]
		r.DirectGroups = append(r.DirectGroups, g)
		for _, p := range g.Policies {
			set[p] = struct{}{}
		}
	}
	for _, id := range inherited {
		if slices.Contains(direct, id) {
			continue
		}
		g := s.idx.groups[id]
		r.InheritedGroups = append(r.InheritedGroups, g)
		for _, p := range g.Policies {
			set[p] = struct{}{}
		}
	}
	r.Policies = slices.Sorted(maps.Keys(set))
	return r
}
