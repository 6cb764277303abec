package identity

import (
	"maps"
	"slices"
	"time"
)

// Group types.
const (
	GroupInternal = "internal"
	GroupExternal = "external"
)

// Alias is an entity alias (a name in an auth mount tied to an entity) or
// a group alias (a group name in an auth mount tied to an external group).
// Values held by the Store are never modified: writes replace them.
type Alias struct {
	ID string `json:"id"`
	// CanonicalID is the entity's (or the group's) ID.
	CanonicalID    string            `json:"canonical_id"`
	MountAccessor  string            `json:"mount_accessor"`
	Name           string            `json:"name"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	CustomMetadata map[string]string `json:"custom_metadata,omitempty"`
	CreationTime   time.Time         `json:"creation_time"`
	LastUpdateTime time.Time         `json:"last_update_time"`
	// MergedFromCanonicalIDs are the entities the alias belonged to
	// before merges moved it.
	MergedFromCanonicalIDs []string `json:"merged_from_canonical_ids,omitempty"`
}

func (a *Alias) clone() *Alias {
	if a == nil {
		return nil
	}
	c := *a
	c.Metadata = maps.Clone(a.Metadata)
	c.CustomMetadata = maps.Clone(a.CustomMetadata)
	c.MergedFromCanonicalIDs = slices.Clone(a.MergedFromCanonicalIDs)
	return &c
}

// Entity is a person or a machine, known by its aliases. Values held by
// the Store are never modified: writes replace them.
type Entity struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Policies []string          `json:"policies,omitempty"`
	// Disabled entities' tokens are refused, and so are their logins.
	Disabled bool     `json:"disabled,omitempty"`
	Aliases  []*Alias `json:"aliases,omitempty"`
	// MergedEntityIDs are the entities merged into this one: tokens that
	// name them act as this entity.
	MergedEntityIDs []string  `json:"merged_entity_ids,omitempty"`
	CreationTime    time.Time `json:"creation_time"`
	LastUpdateTime  time.Time `json:"last_update_time"`
}

func (e *Entity) clone() *Entity {
	c := *e
	c.Metadata = maps.Clone(e.Metadata)
	c.Policies = slices.Clone(e.Policies)
	c.MergedEntityIDs = slices.Clone(e.MergedEntityIDs)
	c.Aliases = make([]*Alias, len(e.Aliases))
	for i, a := range e.Aliases {
		c.Aliases[i] = a.clone()
	}
	return &c
}

// aliasFor returns the entity's alias on a mount, nil when none.
func (e *Entity) aliasFor(accessor string) *Alias {
	for _, a := range e.Aliases {
		if a.MountAccessor == accessor {
			return a
		}
	}
	return nil
}

// Group is a set of entities and groups sharing policies. An internal
// group lists its members; an external group's entity members come from
// logins whose auth method names the group's alias. Values held by the
// Store are never modified: writes replace them.
type Group struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Policies []string          `json:"policies,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// MemberEntityIDs are the group's entities.
	MemberEntityIDs []string `json:"member_entity_ids,omitempty"`
	// MemberGroupIDs are the groups whose members are members of this
	// group too (they inherit its policies).
	MemberGroupIDs []string `json:"member_group_ids,omitempty"`
	// Alias maps an external group to a group of an auth mount.
	Alias          *Alias    `json:"alias,omitempty"`
	CreationTime   time.Time `json:"creation_time"`
	LastUpdateTime time.Time `json:"last_update_time"`
	ModifyIndex    uint64    `json:"modify_index"`
}

func (g *Group) clone() *Group {
	c := *g
	c.Policies = slices.Clone(g.Policies)
	c.Metadata = maps.Clone(g.Metadata)
	c.MemberEntityIDs = slices.Clone(g.MemberEntityIDs)
	c.MemberGroupIDs = slices.Clone(g.MemberGroupIDs)
	c.Alias = g.Alias.clone()
	return &c
}
