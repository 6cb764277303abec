package identity

import (
	"context"
	"slices"

	"github.com/strongbox/strongbox/internal/logical"
)

func entityAliasFields() map[string]*logical.FieldSchema {
	return map[string]*logical.FieldSchema{
		"id":              {Type: logical.TypeString, Description: "ID of the alias; set, it updates that alias."},
		"name":            {Type: logical.TypeString, Description: "Name of the caller in the auth method (a username, a role ID)."},
		"canonical_id":    {Type: logical.TypeString, Description: "ID of the entity the alias belongs to."},
		"mount_accessor":  {Type: logical.TypeString, Description: "Accessor of the auth mount the alias is on."},
		"custom_metadata": {Type: logical.TypeKVPairs, Description: "Metadata set through the API (logins never change it)."},
	}
}

func (s *Store) entityAliasPaths() []*logical.Path {
	return []*logical.Path{
		{
			Pattern:      "entity-alias/?",
			Fields:       entityAliasFields(),
			Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: s.handleEntityAliasRegister},
			HelpSynopsis: "Create an entity alias.",
		},
		{
			Pattern:    "entity-alias/id/?",
			Operations: map[logical.Operation]logical.OperationFunc{logical.ListOperation: s.handleEntityAliasList},
		},
		{
			Pattern: "entity-alias/id/(?P<id>[^/]+)",
			Fields:  entityAliasFields(),
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation:   s.handleEntityAliasRead,
				logical.UpdateOperation: s.handleEntityAliasUpdate,
				logical.DeleteOperation: s.handleEntityAliasDelete,
			},
			HelpSynopsis: "Read, update or delete an entity alias by its ID.",
		},
	}
}

func (s *Store) handleEntityAliasRegister(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if id := d.Get("id").(string); id != "" {
		a := s.idx.aliases[id]
		if a == nil {
			return nil, logical.BadRequest("entity alias not found from id %q", id)
		}
		return s.updateEntityAliasLocked(ctx, a, d)
	}
	// Registering an alias that exists is an update of it, as Vault's,
	// unless it names another entity.
	name, acc := d.Get("name").(string), d.Get("mount_accessor").(string)
	if id, ok := s.idx.aliasByKey[aliasKey(acc, name)]; ok {
		a := s.idx.aliases[id]
		if cid := d.Get("canonical_id").(string); cid != "" && cid != a.CanonicalID {
			return nil, logical.BadRequest("alias already exists for requested combination of name and mount accessor, on another entity")
		}
		return s.updateEntityAliasLocked(ctx, a, d)
	}
	return s.updateEntityAliasLocked(ctx, nil, d)
}

func (s *Store) handleEntityAliasUpdate(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	id := d.Get("id").(string)
	a := s.idx.aliases[id]
	if a == nil {
		return nil, errNotFound("entity alias", id)
	}
	return s.updateEntityAliasLocked(ctx, a, d)
}

// updateEntityAliasLocked creates an alias (old nil) or updates old; an
// update may move it to another entity (canonical_id). An entity has at
// most one alias per mount, and a mount's alias names are unique. The
// caller holds wmu.
func (s *Store) updateEntityAliasLocked(ctx context.Context, old *Alias, d *logical.FieldData) (*logical.Response, error) {
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
	if v, ok := d.GetOk("custom_metadata"); ok {
		m, err := checkMetadata("custom_metadata", v.(map[string]string))
		if err != nil {
			return nil, err
		}
		a.CustomMetadata = m
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
	to := s.idx.entities[a.CanonicalID]
	if to == nil {
		return nil, logical.BadRequest("invalid canonical ID %q: no such entity", a.CanonicalID)
	}
	if other, ok := s.idx.aliasByKey[aliasKey(a.MountAccessor, a.Name)]; ok && other != a.ID {
		return nil, logical.BadRequest("alias with combination of mount accessor and name already exists")
	}
	if same := to.aliasFor(a.MountAccessor); same != nil && same.ID != a.ID {
		return nil, logical.BadRequest("alias %q is already tied to entity %q on mount accessor %q: an entity has one alias per mount", same.ID, to.ID, a.MountAccessor)
	}
	a.LastUpdateTime = now
	if old != nil && old.CanonicalID != a.CanonicalID {
		// Moving: off the old entity first, so no reader finds the alias
		// on two entities.
		if from := s.idx.entities[old.CanonicalID]; from != nil {
			n := from.clone()
			n.Aliases = slices.DeleteFunc(n.Aliases, func(x *Alias) bool { return x.ID == old.ID })
			n.LastUpdateTime = now
			if err := s.putEntity(ctx, n); err != nil {
				return nil, err
			}
		}
		to = s.idx.entities[a.CanonicalID]
	}
	n := to.clone()
	n.Aliases = slices.DeleteFunc(n.Aliases, func(x *Alias) bool { return x.ID == a.ID })
	n.Aliases = append(n.Aliases, a)
	n.LastUpdateTime = now
	if err := s.putEntity(ctx, n); err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"id": a.ID, "canonical_id": a.CanonicalID}}, nil
}

func (s *Store) handleEntityAliasRead(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.idx.aliases[d.Get("id").(string)]
	if a == nil {
		return nil, nil
	}
	return &logical.Response{Data: s.aliasData(a)}, nil
}

func (s *Store) handleEntityAliasDelete(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	a := s.idx.aliases[d.Get("id").(string)]
	if a == nil {
		return nil, nil
	}
	e := s.idx.entities[a.CanonicalID]
	if e == nil {
		return nil, nil
	}
	n := e.clone()
	n.Aliases = slices.DeleteFunc(n.Aliases, func(x *Alias) bool { return x.ID == a.ID })
	n.LastUpdateTime = s.now().UTC()
	return nil, s.putEntity(ctx, n)
}

func (s *Store) handleEntityAliasList(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.idx.aliases))
	info := map[string]any{}
	for id, a := range s.idx.aliases {
		keys = append(keys, id)
		m, _ := s.host.AuthMount(a.MountAccessor)
		info[id] = map[string]any{
			"canonical_id": a.CanonicalID, "name": a.Name, "mount_accessor": a.MountAccessor,
			"mount_path": mountPath(m), "mount_type": m.Type,
		}
	}
	return listResponse(keys, info), nil
}
