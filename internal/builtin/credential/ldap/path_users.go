package ldap

import (
	"context"
	"slices"
	"strings"

	"github.com/strongbox/strongbox/internal/logical"
)

// user maps an LDAP user to policies and to extra groups (whose policies
// the user gets as if the directory listed them).
type user struct {
	Groups   []string `json:"groups"`
	Policies []string `json:"policies"`
}

func (b *backend) user(ctx context.Context, s logical.Storage, name string) (*user, error) {
	var u user
	ok, err := getJSON(ctx, s, userPrefix+name, &u)
	if err != nil || !ok {
		return nil, err
	}
	return &u, nil
}

func (b *backend) pathUsersList() *logical.Path {
	return &logical.Path{
		Pattern:      "users/?",
		Operations:   map[logical.Operation]logical.OperationFunc{logical.ListOperation: b.listPrefix(userPrefix)},
		HelpSynopsis: "List the LDAP users mapped to policies or groups.",
	}
}

func (b *backend) pathUsers() *logical.Path {
	return &logical.Path{
		Pattern: "users/(?P<name>.+)",
		Fields: map[string]*logical.FieldSchema{
			"name":     {Type: logical.TypeString, Description: "The LDAP user's name."},
			"groups":   {Type: logical.TypeCommaStringSlice, Description: "Extra groups of the user (list or comma-separated string)."},
			"policies": {Type: logical.TypeCommaStringSlice, Description: "Policies of the user (list or comma-separated string)."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   b.readUser,
			logical.UpdateOperation: b.writeUser,
			logical.DeleteOperation: b.deleteEntry(userPrefix),
		},
		ExistenceCheck: b.entryExists(userPrefix),
		HelpSynopsis:   "Map an LDAP user to policies and extra groups.",
	}
}

func (b *backend) readUser(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name, err := b.name(ctx, req, d)
	if err != nil {
		return nil, err
	}
	u, err := b.user(ctx, req.Storage, name)
	if err != nil || u == nil {
		return nil, err
	}
	// Vault reads groups back as one comma-separated string.
	return &logical.Response{Data: map[string]any{
		"groups": strings.Join(u.Groups, ","), "policies": nonNil(u.Policies),
	}}, nil
}

// writeUser replaces the user's mapping with the fields given (as Vault:
// a field left out becomes empty).
func (b *backend) writeUser(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	cs, err := b.caseSensitive(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	name := canonical(d.Get("name").(string), cs)
	var groups []string
	for _, g := range d.Get("groups").([]string) {
		if g = canonical(strings.TrimSpace(g), cs); g != "" && !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	if groups == nil {
		groups = []string{}
	}
	defer b.lock(userPrefix + name)()
	return nil, putJSON(ctx, req.Storage, userPrefix+name, &user{Groups: groups, Policies: policiesField(d)})
}
