package identity

import (
	"context"

	"github.com/strongbox/strongbox/internal/logical"
)

func groupAliasFields() map[string]*logical.FieldSchema {
	return map[string]*logical.FieldSchema{
		"id":             {Type: logical.TypeString, Description: "ID of the group alias; set, it updates that alias."},
		"name":           {Type: logical.TypeString, Description: "Name of the group in the auth method (an LDAP group)."},
		"mount_accessor": {Type: logical.TypeString, Description: "Accessor of the auth mount the group is in."},
		"canonical_id":   {Type: logical.TypeString, Description: "ID of the external group the alias maps to."},
	}
}

func (s *Store) groupAliasPaths() []*logical.Path {
	return []*logical.Path{
		{
			Pattern:      "group-alias/?",
			Fields:       groupAliasFields(),
			Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: s.handleGroupAliasRegister},
			HelpSynopsis: "Create a group alias.",
		},
		{
			Pattern:    "group-alias/id/?",
			Operations: map[logical.Operation]logical.OperationFunc{logical.ListOperation: s.handleGroupAliasList},
		},
		{
			Pattern: "group-alias/id/(?P<id>[^/]+)",
			Fields:  groupAliasFields(),
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation:   s.handleGroupAliasRead,
				logical.UpdateOperation: s.handleGroupAliasUpdate,
				logical.DeleteOperation: s.handleGroupAliasDelete,
			},
			HelpSynopsis: "Read, update or delete a group alias by its ID.",
		},
	}
}

func (s *Store) handleGroupAliasRegister(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if id := d.Get("id").(string); id != "" {
		a := s.idx.groupAliases[id]
		if a == nil {
			return nil, logical.BadRequest("group alias not found from id %q", id)
		}
		return s.updateGroupAliasLocked(ctx, a, d)
	}
	return s.updateGroupAliasLocked(ctx, nil, d)
}

func (s *Store) handleGroupAliasUpdate(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	id := d.Get("id").(string)
	a := s.idx.groupAliases[id]
	if a == nil {
		return nil, errNotFound("group alias", id)
	}
	return s.updateGroupAliasLocked(ctx, a, d)
}

// updateGroupAliasLocked creates a group alias (old nil) or updates old;
// only an external group has one, and only one. The caller holds wmu.
func (s *Store) updateGroupAliasLocked(ctx context.Context, old *Alias, d *logical.FieldData) (*logical.Response, error) {
	now := s.now().UTC()
	var a *Alias
	if old == nil {
		a = &Alias{ID: newID(), CreationTime: now}
	} else {
		a = old.clone()
	}
	if v, ok := d.GetOk("name"); ok {
		a.Name = v.(string)
	}
	if v, ok := d.GetOk("mount_accessor"); ok {
		a.MountAccessor = v.(string)
	}
	if v, ok := d.GetOk("canonical_id"); ok {
		a.CanonicalID = v.(string)
	}
	switch {
	case a.Name == "":
		return nil, logical.BadRequest("missing alias name")
	case a.MountAccessor == "":
		return nil, logical.BadRequest("missing mount_accessor")
	case a.CanonicalID == "":
		return nil, logical.BadRequest("missing canonical_id")
	}
	if _, ok := s.host.AuthMount(a.MountAccessor); !ok {
		return nil, logical.BadRequest("invalid mount accessor %q", a.MountAccessor)
	}
	g := s.idx.groups[a.CanonicalID]
	switch {
	case g == nil:
		return nil, logical.BadRequest("invalid canonical ID %q: no such group", a.CanonicalID)
	case g.Type != GroupExternal:
		return nil, logical.BadRequest("alias can't be set on an internal group")
	case g.Alias != nil && g.Alias.ID != a.ID:
		return nil, logical.BadRequest("group %q already has an alias", g.ID)
	}
	if other, ok := s.idx.groupAliasByKey[aliasKey(a.MountAccessor, a.Name)]; ok && other != a.ID {
		return nil, logical.BadRequest("combination of mount accessor and name is already in use")
	}
	a.LastUpdateTime = now
	if old != nil && old.CanonicalID != a.CanonicalID {
		if from := s.idx.groups[old.CanonicalID]; from != nil {
			n := from.clone()
			n.Alias, n.MemberEntityIDs, n.LastUpdateTime = nil, nil, now
			if err := s.putGroup(ctx, n); err != nil {
				return nil, err
			}
		}
		g = s.idx.groups[a.CanonicalID]
	}
	n := g.clone()
	n.Alias, n.LastUpdateTime = a, now
	if err := s.putGroup(ctx, n); err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"id": a.ID, "canonical_id": a.CanonicalID}}, nil
}

func (s *Store) handleGroupAliasRead(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.idx.groupAliases[d.Get("id").(string)]
	if a == nil {
		return nil, nil
	}
	return &logical.Response{Data: s.aliasData(a)}, nil
}

func (s *Store) handleGroupAliasDelete(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	a := s.idx.groupAliases[d.Get("id").(string)]
	if a == nil {
		return nil, nil
	}
	g := s.idx.groups[a.CanonicalID]
	if g == nil {
		return nil, nil
	}
	// Without its alias no login can keep the memberships up to date.
	n := g.clone()
	n.Alias, n.MemberEntityIDs, n.LastUpdateTime = nil, nil, s.now().UTC()
	return nil, s.putGroup(ctx, n)
}

func (s *Store) handleGroupAliasList(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.idx.groupAliases))
	info := map[string]any{}
	for id, a := range s.idx.groupAliases {
		keys = append(keys, id)
		m, _ := s.host.AuthMount(a.MountAccessor)
		info[id] = map[string]any{
			"canonical_id": a.CanonicalID, "name": a.Name, "mount_accessor": a.MountAccessor,
			"mount_path": mountPath(m), "mount_type": m.Type,
		}
	}
	return listResponse(keys, info), nil
}
