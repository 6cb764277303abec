package identity

import (
	"context"

	"github.com/strongbox/strongbox/internal/logical"
)

func lookupFields() map[string]*logical.FieldSchema {
	return map[string]*logical.FieldSchema{
		"id":                   {Type: logical.TypeString, Description: "ID to look up."},
		"name":                 {Type: logical.TypeString, Description: "Name to look up."},
		"alias_id":             {Type: logical.TypeString, Description: "ID of an alias."},
		"alias_name":           {Type: logical.TypeString, Description: "Name of an alias; needs alias_mount_accessor."},
		"alias_mount_accessor": {Type: logical.TypeString, Description: "Mount accessor of alias_name."},
	}
}

func (s *Store) lookupPaths() []*logical.Path {
	return []*logical.Path{
		{
			Pattern:      "lookup/entity/?",
			Fields:       lookupFields(),
			Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: s.handleLookupEntity},
			HelpSynopsis: "Find an entity by id, name, alias_id, or alias_name and alias_mount_accessor.",
		},
		{
			Pattern:      "lookup/group/?",
			Fields:       lookupFields(),
			Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: s.handleLookupGroup},
			HelpSynopsis: "Find a group by id, name, alias_id, or alias_name and alias_mount_accessor.",
		},
	}
}

// lookupKey checks that exactly one criterion is given and returns which.
func lookupKey(d *logical.FieldData) (string, error) {
	var given []string
	for _, k := range []string{"id", "name", "alias_id", "alias_name"} {
		if d.Get(k).(string) != "" {
			given = append(given, k)
		}
	}
	acc := d.Get("alias_mount_accessor").(string)
	switch {
	case len(given) == 0:
		return "", logical.BadRequest("one of id, name, alias_id, or alias_name and alias_mount_accessor must be given")
	case len(given) > 1:
		return "", logical.BadRequest("only one of id, name, alias_id, or alias_name and alias_mount_accessor may be given")
	case given[0] == "alias_name" && acc == "":
		return "", logical.BadRequest("alias_mount_accessor must be given with alias_name")
	case given[0] != "alias_name" && acc != "":
		return "", logical.BadRequest("alias_mount_accessor goes only with alias_name")
	}
	return given[0], nil
}

func (s *Store) handleLookupEntity(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	key, err := lookupKey(d)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var e *Entity
	switch key {
	case "id":
		e = s.idx.entities[d.Get("id").(string)]
	case "name":
		e = s.idx.entityByNameOf(d.Get("name").(string))
	case "alias_id":
		if a := s.idx.aliases[d.Get("alias_id").(string)]; a != nil {
			e = s.idx.entities[a.CanonicalID]
		}
	case "alias_name":
		if id, ok := s.idx.aliasByKey[aliasKey(d.Get("alias_mount_accessor").(string), d.Get("alias_name").(string))]; ok {
			e = s.idx.entities[s.idx.aliases[id].CanonicalID]
		}
	}
	if e == nil {
		return nil, nil
	}
	return &logical.Response{Data: s.entityData(e)}, nil
}

func (s *Store) handleLookupGroup(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	key, err := lookupKey(d)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var g *Group
	switch key {
	case "id":
		g = s.idx.groups[d.Get("id").(string)]
	case "name":
		g = s.idx.groupByNameOf(d.Get("name").(string))
	case "alias_id":
		if a := s.idx.groupAliases[d.Get("alias_id").(string)]; a != nil {
			g = s.idx.groups[a.CanonicalID]
		}
	case "alias_name":
		if id, ok := s.idx.groupAliasByKey[aliasKey(d.Get("alias_mount_accessor").(string), d.Get("alias_name").(string))]; ok {
			g = s.idx.groups[s.idx.groupAliases[id].CanonicalID]
		}
	}
	if g == nil {
		return nil, nil
	}
	return &logical.Response{Data: s.groupData(g)}, nil
}
