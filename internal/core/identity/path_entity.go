package identity

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func entityFields() map[string]*logical.FieldSchema {
	return map[string]*logical.FieldSchema{
		"id":       {Type: logical.TypeString, Description: "ID of the entity; set, it updates that entity."},
		"name":     {Type: logical.TypeString, Description: "Name of the entity."},
		"metadata": {Type: logical.TypeKVPairs, Description: "Metadata of the entity (key=value pairs or a map)."},
		"policies": {Type: logical.TypeCommaStringSlice, Description: "Policies the entity's tokens get."},
		"disabled": {Type: logical.TypeBool, Description: "A disabled entity's tokens are refused."},
	}
}

func (s *Store) entityPaths() []*logical.Path {
	return []*logical.Path{
		{
			Pattern:      "entity/?",
			Fields:       entityFields(),
			Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: s.handleEntityRegister},
			HelpSynopsis: "Create an entity, or update the one with the given id or name.",
		},
		{
			Pattern:    "entity/id/?",
			Operations: map[logical.Operation]logical.OperationFunc{logical.ListOperation: s.handleEntityListIDs},
		},
		{
			Pattern: "entity/id/(?P<id>[^/]+)",
			Fields:  entityFields(),
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation:   s.handleEntityReadID,
				logical.UpdateOperation: s.handleEntityUpdateID,
				logical.DeleteOperation: s.handleEntityDeleteID,
			},
			HelpSynopsis: "Read, update or delete an entity by its ID.",
		},
		{
			Pattern:    "entity/name/?",
			Operations: map[logical.Operation]logical.OperationFunc{logical.ListOperation: s.handleEntityListNames},
		},
		{
			Pattern: "entity/name/(?P<name>[^/]+)",
			Fields:  entityFields(),
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation:   s.handleEntityReadName,
				logical.UpdateOperation: s.handleEntityUpdateName,
				logical.DeleteOperation: s.handleEntityDeleteName,
			},
			HelpSynopsis: "Create, read, update or delete an entity by its name.",
		},
		{
			Pattern: "entity/batch-delete/?",
			Fields: map[string]*logical.FieldSchema{
				"entity_ids": {Type: logical.TypeCommaStringSlice, Description: "Entities to delete."},
			},
			Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: s.handleEntityBatchDelete},
			HelpSynopsis: "Delete several entities.",
		},
		{
			Pattern: "entity/merge/?",
			Fields: map[string]*logical.FieldSchema{
				"from_entity_ids":               {Type: logical.TypeCommaStringSlice, Description: "Entities to merge into to_entity_id."},
				"to_entity_id":                  {Type: logical.TypeString, Description: "Entity the others are merged into."},
				"force":                         {Type: logical.TypeBool, Description: "Accepted for compatibility (MFA secrets)."},
				"conflicting_alias_ids_to_keep": {Type: logical.TypeCommaStringSlice, Description: "Of aliases on the same mount, the ones to keep."},
			},
			Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: s.handleEntityMerge},
			HelpSynopsis: "Merge entities into one.",
		},
	}
}

func (s *Store) handleEntityRegister(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if id := d.Get("id").(string); id != "" {
		e := s.idx.entities[id]
		if e == nil {
			return nil, logical.BadRequest("entity not found from id %q", id)
		}
		return s.updateEntityLocked(ctx, e, d, false)
	}
	if name := d.Get("name").(string); name != "" {
		if e := s.idx.entityByNameOf(name); e != nil {
			return s.updateEntityLocked(ctx, e, d, false)
		}
	}
	return s.updateEntityLocked(ctx, nil, d, false)
}

func (s *Store) handleEntityUpdateID(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	id := d.Get("id").(string)
	e := s.idx.entities[id]
	if e == nil {
		return nil, errNotFound("entity", id)
	}
	return s.updateEntityLocked(ctx, e, d, false)
}

func (s *Store) handleEntityUpdateName(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// The name in the path is the entity's; a name in the body is not a
	// rename here.
	return s.updateEntityLocked(ctx, s.idx.entityByNameOf(d.Get("name").(string)), d, true)
}

// updateEntityLocked creates an entity (old nil) or updates old from the
// request's fields; all input is checked before anything is written. A
// creation answers the new id and name, an update nothing (204). The
// caller holds wmu.
func (s *Store) updateEntityLocked(ctx context.Context, old *Entity, d *logical.FieldData, nameFromPath bool) (*logical.Response, error) {
	now := s.now().UTC()
	var e *Entity
	if old == nil {
		id := newID()
		e = &Entity{ID: id, Name: s.idx.freeEntityName(id), CreationTime: now}
	} else {
		e = old.clone()
	}
	if v, ok := d.GetOk("name"); ok && v.(string) != "" && (old == nil || !nameFromPath) {
		name := v.(string)
		if strings.Contains(name, "/") {
			return nil, logical.BadRequest("entity name %q must not contain \"/\"", name)
		}
		if other := s.idx.entityByNameOf(name); other != nil && other.ID != e.ID {
			return nil, logical.BadRequest("entity name is already in use")
		}
		e.Name = name
	}
	if v, ok := d.GetOk("metadata"); ok {
		m, err := checkMetadata("metadata", v.(map[string]string))
		if err != nil {
			return nil, err
		}
		e.Metadata = m
	}
	if v, ok := d.GetOk("policies"); ok {
		p, err := identityPolicies(v.([]string))
		if err != nil {
			return nil, err
		}
		e.Policies = p
	}
	if v, ok := d.GetOk("disabled"); ok {
		e.Disabled = v.(bool)
	}
	e.LastUpdateTime = now
	if err := s.putEntity(ctx, e); err != nil {
		return nil, err
	}
	if old != nil {
		return nil, nil
	}
	return &logical.Response{Data: map[string]any{"id": e.ID, "name": e.Name, "aliases": nil}}, nil
}

func (s *Store) handleEntityReadID(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.idx.entities[d.Get("id").(string)]
	if e == nil {
		return nil, nil
	}
	return &logical.Response{Data: s.entityData(e)}, nil
}

func (s *Store) handleEntityReadName(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.idx.entityByNameOf(d.Get("name").(string))
	if e == nil {
		return nil, nil
	}
	return &logical.Response{Data: s.entityData(e)}, nil
}

func (s *Store) handleEntityDeleteID(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return nil, s.deleteEntityFully(ctx, s.idx.entities[d.Get("id").(string)])
}

func (s *Store) handleEntityDeleteName(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return nil, s.deleteEntityFully(ctx, s.idx.entityByNameOf(d.Get("name").(string)))
}

// deleteEntityFully takes the entity out of every group, then deletes it
// with its aliases. A nil entity is nothing to do. The caller holds
// wmu.
func (s *Store) deleteEntityFully(ctx context.Context, e *Entity) error {
	if e == nil {
		return nil
	}
	if err := s.replaceMemberLocked(ctx, e.ID, ""); err != nil {
		return err
	}
	return s.deleteEntityLocked(ctx, e)
}

// replaceMemberLocked replaces an entity in every group's members by
// another ("" removes it). The caller holds wmu.
func (s *Store) replaceMemberLocked(ctx context.Context, from, to string) error {
	now := s.now().UTC()
	for _, gid := range s.idx.directGroups(from) {
		n := s.idx.groups[gid].clone()
		n.MemberEntityIDs = slices.DeleteFunc(n.MemberEntityIDs, func(m string) bool { return m == from })
		if to != "" && !slices.Contains(n.MemberEntityIDs, to) {
			n.MemberEntityIDs = append(n.MemberEntityIDs, to)
			slices.Sort(n.MemberEntityIDs)
		}
		n.LastUpdateTime = now
		if err := s.putGroup(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) handleEntityBatchDelete(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	ids := d.Get("entity_ids").([]string)
	if len(ids) == 0 {
		return nil, logical.BadRequest("missing entity_ids")
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// Unknown IDs are skipped, as a delete of a missing entity is.
	for _, id := range ids {
		if err := s.deleteEntityFully(ctx, s.idx.entities[id]); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (s *Store) handleEntityListIDs(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.idx.entities))
	info := map[string]any{}
	for id, e := range s.idx.entities {
		keys = append(keys, id)
		aliases := make([]map[string]any, 0, len(e.Aliases))
		for _, a := range e.Aliases {
			m, _ := s.host.AuthMount(a.MountAccessor)
			aliases = append(aliases, map[string]any{
				"id": a.ID, "name": a.Name, "mount_accessor": a.MountAccessor,
				"mount_path": mountPath(m), "mount_type": m.Type,
			})
		}
		info[id] = map[string]any{"name": e.Name, "aliases": aliases}
	}
	return listResponse(keys, info), nil
}

func (s *Store) handleEntityListNames(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.idx.entities))
	for _, e := range s.idx.entities {
		keys = append(keys, e.Name)
	}
	return listResponse(keys, nil), nil
}

// listResponse answers keys sorted; none is a 404, as Vault's lists.
func listResponse(keys []string, info map[string]any) *logical.Response {
	if len(keys) == 0 {
		return nil
	}
	slices.Sort(keys)
	data := map[string]any{"keys": keys}
	if info != nil {
		data["key_info"] = info
	}
	return &logical.Response{Data: data}
}

func (s *Store) handleEntityMerge(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	toID := d.Get("to_entity_id").(string)
	fromIDs := slices.Compact(slices.Sorted(slices.Values(d.Get("from_entity_ids").([]string))))
	keep := d.Get("conflicting_alias_ids_to_keep").([]string)
	if toID == "" {
		return nil, logical.BadRequest("missing entity id to merge to")
	}
	if len(fromIDs) == 0 {
		return nil, logical.BadRequest("missing entity ids to merge from")
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	to := s.idx.entities[toID]
	if to == nil {
		return nil, logical.BadRequest("entity id to merge to is invalid")
	}
	var froms []*Entity
	for _, id := range fromIDs {
		if id == toID {
			return nil, logical.BadRequest("to_entity_id should not be present in from_entity_ids")
		}
		e := s.idx.entities[id]
		if e == nil {
			return nil, logical.BadRequest("entity id to merge from %q is invalid", id)
		}
		froms = append(froms, e)
	}
	merged, err := mergeEntities(to, froms, keep, s.now().UTC())
	if err != nil {
		return nil, err
	}
	// Group memberships follow the entity before the old ones go, so no
	// reader sees a member that does not exist.
	for _, f := range froms {
		if err := s.replaceMemberLocked(ctx, f.ID, to.ID); err != nil {
			return nil, err
		}
	}
	// The merged entity is stored before the old ones go: a crash in
	// between leaves the aliases on both, never on neither.
	if err := s.putEntity(ctx, merged); err != nil {
		return nil, err
	}
	for _, f := range froms {
		if err := s.deleteEntityLocked(ctx, f); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// mergeEntities builds to with the aliases of froms moved onto it and
// their IDs recorded as merged. Two aliases on one mount conflict: only
// those named in keep survive, and a conflict keep does not settle is a
// 400 (nothing changes).
func mergeEntities(to *Entity, froms []*Entity, keep []string, now time.Time) (*Entity, error) {
	n := to.clone()
	byMount := map[string][]*Alias{}
	for _, a := range n.Aliases {
		byMount[a.MountAccessor] = append(byMount[a.MountAccessor], a)
	}
	for _, f := range froms {
		for _, a := range f.Aliases {
			m := a.clone()
			m.CanonicalID = n.ID
			m.MergedFromCanonicalIDs = append(m.MergedFromCanonicalIDs, f.ID)
			m.LastUpdateTime = now
			byMount[a.MountAccessor] = append(byMount[a.MountAccessor], m)
		}
		n.MergedEntityIDs = append(n.MergedEntityIDs, f.ID)
		n.MergedEntityIDs = append(n.MergedEntityIDs, f.MergedEntityIDs...)
	}
	n.Aliases = nil
	for _, acc := range slices.Sorted(maps.Keys(byMount)) {
		list := byMount[acc]
		if len(list) > 1 {
			var kept []*Alias
			for _, a := range list {
				if slices.Contains(keep, a.ID) {
					kept = append(kept, a)
				}
			}
			if len(kept) != 1 {
				ids := make([]string, len(list))
				for i, a := range list {
					ids[i] = a.ID
				}
				return nil, logical.Errorf(http.StatusBadRequest,
					"conflicting aliases on mount accessor %q: %s; name the one to keep in conflicting_alias_ids_to_keep",
					acc, strings.Join(ids, ", "))
			}
			list = kept
		}
		n.Aliases = append(n.Aliases, list...)
	}
	slices.Sort(n.MergedEntityIDs)
	n.MergedEntityIDs = slices.Compact(n.MergedEntityIDs)
	n.LastUpdateTime = now
	return n, nil
}
