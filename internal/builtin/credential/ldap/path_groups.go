package ldap

import (
	"context"
	"fmt"
	"strings"

	"github.com/strongbox/strongbox/internal/logical"
)

// group maps an LDAP group to policies.
type group struct {
	Policies []string `json:"policies"`
}

func (b *backend) group(ctx context.Context, s logical.Storage, name string) (*group, error) {
	var g group
	ok, err := getJSON(ctx, s, groupPrefix+name, &g)
	if err != nil || !ok {
		return nil, err
	}
	return &g, nil
}

func (b *backend) pathGroupsList() *logical.Path {
	return &logical.Path{
		Pattern:      "groups/?",
		Operations:   map[logical.Operation]logical.OperationFunc{logical.ListOperation: b.listPrefix(groupPrefix)},
		HelpSynopsis: "List the LDAP groups mapped to policies.",
	}
}

func (b *backend) pathGroups() *logical.Path {
	return &logical.Path{
		Pattern: "groups/(?P<name>.+)",
		Fields: map[string]*logical.FieldSchema{
			"name":     {Type: logical.TypeString, Description: "The LDAP group's name."},
			"policies": {Type: logical.TypeCommaStringSlice, Description: "Policies of the group's members (list or comma-separated string)."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   b.readGroup,
			logical.UpdateOperation: b.writeGroup,
			logical.DeleteOperation: b.deleteEntry(groupPrefix),
		},
		ExistenceCheck: b.entryExists(groupPrefix),
		HelpSynopsis:   "Map an LDAP group to policies.",
	}
}

func (b *backend) readGroup(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name, err := b.name(ctx, req, d)
	if err != nil {
		return nil, err
	}
	g, err := b.group(ctx, req.Storage, name)
	if err != nil || g == nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"policies": nonNil(g.Policies)}}, nil
}

func (b *backend) writeGroup(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name, err := b.name(ctx, req, d)
	if err != nil {
		return nil, err
	}
	defer b.lock(groupPrefix + name)()
	return nil, putJSON(ctx, req.Storage, groupPrefix+name, &group{Policies: policiesField(d)})
}

// policiesField is the request's policies as Vault's policyutil parses
// them: trimmed, lowercased, sorted, deduplicated.
func policiesField(d *logical.FieldData) []string {
	p := mergePolicies(nil, lower(d.Get("policies").([]string)))
	if p == nil {
		p = []string{}
	}
	return p
}

// name is the path's name as stored: lowercased unless the config says
// names are case sensitive.
func (b *backend) name(ctx context.Context, req *logical.Request, d *logical.FieldData) (string, error) {
	cs, err := b.caseSensitive(ctx, req.Storage)
	if err != nil {
		return "", err
	}
	return canonical(d.Get("name").(string), cs), nil
}

func (b *backend) listPrefix(prefix string) logical.OperationFunc {
	return func(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
		keys, err := req.Storage.List(ctx, prefix)
		if err != nil {
			return nil, fmt.Errorf("ldap: list %s: %w", prefix, err)
		}
		if len(keys) == 0 {
			return nil, nil
		}
		return &logical.Response{Data: map[string]any{"keys": keys}}, nil
	}
}

func (b *backend) deleteEntry(prefix string) logical.OperationFunc {
	return func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		name, err := b.name(ctx, req, d)
		if err != nil {
			return nil, err
		}
		defer b.lock(prefix + name)()
		if err := req.Storage.Delete(ctx, prefix+name); err != nil {
			return nil, fmt.Errorf("ldap: delete %s: %w", prefix+name, err)
		}
		return nil, nil
	}
}

func (b *backend) entryExists(prefix string) logical.ExistenceFunc {
	return func(ctx context.Context, req *logical.Request, d *logical.FieldData) (bool, error) {
		name, err := b.name(ctx, req, d)
		if err != nil {
			return false, err
		}
		e, err := req.Storage.Get(ctx, prefix+name)
		return e != nil, err
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func lower(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(strings.TrimSpace(s))
	}
	return out
}
