package identity

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/strongbox/strongbox/internal/logical"
)

func groupFields() map[string]*logical.FieldSchema {
	return map[string]*logical.FieldSchema{
		"id":                {Type: logical.TypeString, Description: "ID of the group; set, it updates that group."},
		"name":              {Type: logical.TypeString, Description: "Name of the group."},
		"type":              {Type: logical.TypeLowerCaseString, Description: `"internal" (default) or "external".`},
		"metadata":          {Type: logical.TypeKVPairs, Description: "Metadata of the group."},
		"policies":          {Type: logical.TypeCommaStringSlice, Description: "Policies the group's members get."},
		"member_entity_ids": {Type: logical.TypeCommaStringSlice, Description: "Entities in the group (internal groups)."},
		"member_group_ids":  {Type: logical.TypeCommaStringSlice, Description: "Groups whose members belong to this group too."},
	}
}

func (s *Store) groupPaths() []*logical.Path {
	return []*logical.Path{
		{
			Pattern:      "group/?",
			Fields:       groupFields(),
			Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: s.handleGroupRegister},
			HelpSynopsis: "Create a group, or update the one with the given id or name.",
		},
		{
			Pattern:    "group/id/?",
			Operations: map[logical.Operation]logical.OperationFunc{logical.ListOperation: s.handleGroupListIDs},
		},
		{
			Pattern: "group/id/(?P<id>[^/]+)",
			Fields:  groupFields(),
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation:   s.handleGroupReadID,
				logical.UpdateOperation: s.handleGroupUpdateID,
				logical.DeleteOperation: s.handleGroupDeleteID,
			},
			HelpSynopsis: "Read, update or delete a group by its ID.",
		},
		{
			Pattern:    "group/name/?",
			Operations: map[logical.Operation]logical.OperationFunc{logical.ListOperation: s.handleGroupListNames},
		},
		{
			Pattern: "group/name/(?P<name>[^/]+)",
			Fields:  groupFields(),
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation:   s.handleGroupReadName,
				logical.UpdateOperation: s.handleGroupUpdateName,
				logical.DeleteOperation: s.handleGroupDeleteName,
			},
			HelpSynopsis: "Create, read, update or delete a group by its name.",
		},
	}
}

func (s *Store) handleGroupRegister(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if id := d.Get("id").(string); id != "" {
		g := s.idx.groups[id]
		if g == nil {
			return nil, logical.BadRequest("group not found from id %q", id)
		}
		return s.updateGroupLocked(ctx, g, d, false)
	}
	if name := d.Get("name").(string); name != "" {
		if g := s.idx.groupByNameOf(name); g != nil {
			return s.updateGroupLocked(ctx, g, d, false)
		}
	}
	return s.updateGroupLocked(ctx, nil, d, false)
}

func (s *Store) handleGroupUpdateID(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	id := d.Get("id").(string)
	g := s.idx.groups[id]
	if g == nil {
		return nil, errNotFound("group", id)
	}
	return s.updateGroupLocked(ctx, g, d, false)
}

func (s *Store) handleGroupUpdateName(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.updateGroupLocked(ctx, s.idx.groupByNameOf(d.Get("name").(string)), d, true)
}

// updateGroupLocked creates a group (old nil) or updates old; every field
// is checked before anything is written. The caller holds wmu.
func (s *Store) updateGroupLocked(ctx context.Context, old *Group, d *logical.FieldData, nameFromPath bool) (*logical.Response, error) {
	now := s.now().UTC()
	var g *Group
	if old == nil {
		id := newID()
		g = &Group{ID: id, Name: "group_" + strings.Split(id, "-")[0], Type: GroupInternal, CreationTime: now}
		if s.idx.groupByNameOf(g.Name) != nil {
			g.Name = "group_" + id
		}
	} else {
		g = old.clone()
	}
	if v, ok := d.GetOk("type"); ok && v.(string) != "" {
		t := v.(string)
		if t != GroupInternal && t != GroupExternal {
			return nil, logical.BadRequest("invalid group type %q: must be %q or %q", t, GroupInternal, GroupExternal)
		}
		if old != nil && t != old.Type {
			return nil, logical.BadRequest("group type cannot be changed")
		}
		g.Type = t
	}
	if v, ok := d.GetOk("name"); ok && v.(string) != "" && (old == nil || !nameFromPath) {
		name := v.(string)
		if strings.Contains(name, "/") {
			return nil, logical.BadRequest("group name %q must not contain \"/\"", name)
		}
		if other := s.idx.groupByNameOf(name); other != nil && other.ID != g.ID {
			return nil, logical.BadRequest("group name is already in use")
		}
		g.Name = name
	}
	if v, ok := d.GetOk("metadata"); ok {
		m, err := checkMetadata("metadata", v.(map[string]string))
		if err != nil {
			return nil, err
		}
		g.Metadata = m
	}
	if v, ok := d.GetOk("policies"); ok {
		p, err := identityPolicies(v.([]string))
		if err != nil {
			return nil, err
		}
		g.Policies = p
	}
	if v, ok := d.GetOk("member_entity_ids"); ok {
		if g.Type == GroupExternal {
			return nil, logical.BadRequest("member entities can't be set manually for external groups")
		}
		ids := cleanPolicies(v.([]string))
		for _, id := range ids {
			if s.idx.entities[id] == nil {
				return nil, logical.BadRequest("invalid member entity ID %q: no such entity", id)
			}
		}
		g.MemberEntityIDs = ids
	}
	if v, ok := d.GetOk("member_group_ids"); ok {
		if g.Type == GroupExternal {
			return nil, logical.BadRequest("member groups can't be set for external groups")
		}
		ids := cleanPolicies(v.([]string))
		above := append(s.idx.ancestors([]string{g.ID}), g.ID)
		for _, id := range ids {
			if s.idx.groups[id] == nil {
				return nil, logical.BadRequest("invalid member group ID %q: no such group", id)
			}
			if slices.Contains(above, id) {
				return nil, logical.BadRequest("member group ID %q would make a cycle: it is this group or holds it", id)
			}
		}
		g.MemberGroupIDs = ids
	}
	g.LastUpdateTime = now
	if err := s.putGroup(ctx, g); err != nil {
		return nil, err
	}
	if old != nil {
		return nil, nil
	}
	return &logical.Response{Data: map[string]any{"id": g.ID, "name": g.Name}}, nil
}

func (s *Store) handleGroupReadID(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	g := s.idx.groups[d.Get("id").(string)]
	if g == nil {
		return nil, nil
	}
	return &logical.Response{Data: s.groupData(g)}, nil
}

func (s *Store) handleGroupReadName(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	g := s.idx.groupByNameOf(d.Get("name").(string))
	if g == nil {
		return nil, nil
	}
	return &logical.Response{Data: s.groupData(g)}, nil
}

func (s *Store) handleGroupDeleteID(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return nil, s.deleteGroupFully(ctx, s.idx.groups[d.Get("id").(string)])
}

func (s *Store) handleGroupDeleteName(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return nil, s.deleteGroupFully(ctx, s.idx.groupByNameOf(d.Get("name").(string)))
}

// deleteGroupFully takes the group out of the groups that list it, then
// deletes it with its alias. The caller holds wmu.
func (s *Store) deleteGroupFully(ctx context.Context, g *Group) error {
	if g == nil {
		return nil
	}
	now := s.now().UTC()
	for p := range maps.Clone(s.idx.parentsOf[g.ID]) {
		n := s.idx.groups[p].clone()
		n.MemberGroupIDs = slices.DeleteFunc(n.MemberGroupIDs, func(m string) bool { return m == g.ID })
		n.LastUpdateTime = now
		if err := s.putGroup(ctx, n); err != nil {
			return err
		}
	}
	return s.deleteGroupLocked(ctx, g)
}

func (s *Store) handleGroupListIDs(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.idx.groups))
	info := map[string]any{}
	for id, g := range s.idx.groups {
		keys = append(keys, id)
		i := map[string]any{"name": g.Name, "num_member_entities": len(g.MemberEntityIDs), "num_parent_groups": len(s.idx.parentsOf[id])}
		if g.Alias != nil {
			m, _ := s.host.AuthMount(g.Alias.MountAccessor)
			i["alias"] = map[string]any{"id": g.Alias.ID, "name": g.Alias.Name, "mount_accessor": g.Alias.MountAccessor, "mount_path": mountPath(m), "mount_type": m.Type}
		}
		info[id] = i
	}
	return listResponse(keys, info), nil
}

func (s *Store) handleGroupListNames(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.idx.groups))
	for _, g := range s.idx.groups {
		keys = append(keys, g.Name)
	}
	return listResponse(keys, nil), nil
}
