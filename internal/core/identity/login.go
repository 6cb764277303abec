package identity

import (
	"context"
	"maps"
	"slices"

	"github.com/strongbox/strongbox/internal/logical"
)

// LoginEntity returns the entity of a login on the auth mount with the
// given accessor whose method named alias: the entity holding the alias
// (the alias's metadata refreshed when it changed), or a new entity named
// "entity_<id prefix>" with the alias. It then sets the entity's
// memberships of external groups mapped on that mount to groupAliases
// (the method's groups for the caller: LDAP groups), joining the ones
// listed and leaving the others. A disabled entity is ErrDisabled.
func (s *Store) LoginEntity(ctx context.Context, accessor string, alias *logical.Alias, groupAliases []*logical.Alias) (*Entity, error) {
	if alias == nil || alias.Name == "" {
		return nil, logical.BadRequest("missing alias name")
	}
	s.mu.RLock()
	e := s.loginLookup(accessor, alias)
	current := e != nil && s.groupsInStep(e.ID, accessor, groupAliases)
	s.mu.RUnlock()
	if !current {
		var err error
		if e, err = s.loginWrite(ctx, accessor, alias, groupAliases); err != nil {
			return nil, err
		}
	}
	if e.Disabled {
		return nil, ErrDisabled
	}
	return e, nil
}

// loginLookup returns the entity holding the alias when nothing about the
// alias needs writing. The caller holds mu.
func (s *Store) loginLookup(accessor string, alias *logical.Alias) *Entity {
	aid, ok := s.idx.aliasByKey[aliasKey(accessor, alias.Name)]
	if !ok {
		return nil
	}
	a := s.idx.aliases[aid]
	e := s.idx.entities[a.CanonicalID]
	if e == nil || !metadataEqual(a.Metadata, alias.Metadata) {
		return nil
	}
	return e
}

func metadataEqual(a, b map[string]string) bool {
	return len(a) == len(b) && maps.Equal(a, b)
}

func (s *Store) loginWrite(ctx context.Context, accessor string, alias *logical.Alias, groupAliases []*logical.Alias) (*Entity, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	now := s.now().UTC()
	var e *Entity
	if aid, ok := s.idx.aliasByKey[aliasKey(accessor, alias.Name)]; ok {
		e = s.idx.entities[s.idx.aliases[aid].CanonicalID]
	}
	switch {
	case e == nil:
		id := newID()
		e = &Entity{
			ID: id, Name: s.idx.freeEntityName(id),
			CreationTime: now, LastUpdateTime: now,
		}
		e.Aliases = []*Alias{{
			ID: newID(), CanonicalID: id, MountAccessor: accessor, Name: alias.Name,
			Metadata: maps.Clone(alias.Metadata), CreationTime: now, LastUpdateTime: now,
		}}
		if err := s.putEntity(ctx, e); err != nil {
			return nil, err
		}
		s.logger.Info("created entity at login", "entity_id", id, "mount_accessor", accessor)
	case !metadataEqual(e.aliasFor(accessor).Metadata, alias.Metadata):
		n := e.clone()
		a := n.aliasFor(accessor)
		a.Metadata, a.LastUpdateTime = maps.Clone(alias.Metadata), now
		if err := s.putEntity(ctx, n); err != nil {
			return nil, err
		}
		e = n
	}
	if err := s.refreshExternalLocked(ctx, e.ID, accessor, groupAliases); err != nil {
		return nil, err
	}
	return e, nil
}

// externalTargets are the external groups on the mount the group aliases
// name. The caller holds mu or wmu.
func (s *Store) externalTargets(accessor string, groupAliases []*logical.Alias) map[string]struct{} {
	want := map[string]struct{}{}
	for _, ga := range groupAliases {
		if ga == nil {
			continue
		}
		if aid, ok := s.idx.groupAliasByKey[aliasKey(accessor, ga.Name)]; ok {
			want[s.idx.groupAliases[aid].CanonicalID] = struct{}{}
		}
	}
	return want
}

// groupsInStep reports whether the entity's memberships of the mount's
// external groups are what the group aliases say. The caller holds mu or
// wmu.
func (s *Store) groupsInStep(entityID, accessor string, groupAliases []*logical.Alias) bool {
	want := s.externalTargets(accessor, groupAliases)
	for gid := range s.idx.groupsOfEntity[entityID] {
		g := s.idx.groups[gid]
		if g.Type != GroupExternal || g.Alias == nil || g.Alias.MountAccessor != accessor {
			continue
		}
		if _, ok := want[gid]; !ok {
			return false
		}
		delete(want, gid)
	}
	return len(want) == 0
}

// RefreshExternalGroups sets the entity's memberships of the external
// groups mapped on the mount to the group aliases a renewal reported.
func (s *Store) RefreshExternalGroups(ctx context.Context, entityID, accessor string, groupAliases []*logical.Alias) error {
	s.mu.RLock()
	e := s.idx.entity(entityID)
	inStep := e == nil || s.groupsInStep(e.ID, accessor, groupAliases)
	s.mu.RUnlock()
	if inStep {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.refreshExternalLocked(ctx, e.ID, accessor, groupAliases)
}

func (s *Store) refreshExternalLocked(ctx context.Context, entityID, accessor string, groupAliases []*logical.Alias) error {
	want := s.externalTargets(accessor, groupAliases)
	now := s.now().UTC()
	for gid := range maps.Clone(s.idx.groupsOfEntity[entityID]) {
		g := s.idx.groups[gid]
		if g.Type != GroupExternal || g.Alias == nil || g.Alias.MountAccessor != accessor {
			continue
		}
		if _, ok := want[gid]; ok {
			delete(want, gid)
			continue
		}
		n := g.clone()
		n.MemberEntityIDs = slices.DeleteFunc(n.MemberEntityIDs, func(m string) bool { return m == entityID })
		n.LastUpdateTime = now
		if err := s.putGroup(ctx, n); err != nil {
			return err
		}
	}
	for gid := range want {
		n := s.idx.groups[gid].clone()
		n.MemberEntityIDs = append(n.MemberEntityIDs, entityID)
		slices.Sort(n.MemberEntityIDs)
		n.LastUpdateTime = now
		if err := s.putGroup(ctx, n); err != nil {
			return err
		}
	}
	return nil
}
