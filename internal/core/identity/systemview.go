package identity

import (
	"maps"
	"slices"

	"github.com/strongbox/strongbox/internal/logical"
)

// EntityInfo is an entity as engines see it through their SystemView
// (copies: the caller may keep them); nil when there is none.
func (s *Store) EntityInfo(entityID string) *logical.Entity {
	r := s.Resolve(entityID)
	if r == nil {
		return nil
	}
	e := r.Entity
	out := &logical.Entity{
		ID: e.ID, Name: e.Name, Metadata: maps.Clone(e.Metadata), Disabled: e.Disabled,
		Policies: slices.Clone(e.Policies),
	}
	for _, a := range e.Aliases {
		info, _ := s.host.AuthMount(a.MountAccessor)
		path := ""
		if info.Path != "" {
			path = "auth/" + info.Path
		}
		out.Aliases = append(out.Aliases, &logical.EntityAlias{
			ID: a.ID, Name: a.Name, MountAccessor: a.MountAccessor, MountType: info.Type, MountPath: path,
			Metadata: maps.Clone(a.Metadata), CustomMetadata: maps.Clone(a.CustomMetadata),
		})
	}
	return out
}

// GroupsForEntity are the entity's groups, direct and inherited, as
// engines see them.
func (s *Store) GroupsForEntity(entityID string) []*logical.Group {
	r := s.Resolve(entityID)
	if r == nil {
		return nil
	}
	var out []*logical.Group
	for _, g := range r.Groups() {
		out = append(out, &logical.Group{ID: g.ID, Name: g.Name, Metadata: maps.Clone(g.Metadata), Policies: slices.Clone(g.Policies)})
	}
	return out
}
