package token

import (
	"github.com/strongbox/strongbox/internal/logical"
)

// Backend returns the auth/token/ API as a logical backend. Request paths
// are relative to "auth/token/"; req.ClientToken is the caller's raw token,
// req.Sudo whether its ACL grants sudo on the path, req.MountConfig the
// token mount's TTLs (zero: the store's defaults).
//
// A create response carries a token that already exists: the core must
// hand resp.Auth to the client as is, not create another token from it.
func (s *Store) Backend() logical.Backend {
	s.backendOnce.Do(func() { s.backend = s.newBackend() })
	return s.backend
}

func (s *Store) newBackend() *logical.FrameworkBackend {
	tokenField := map[string]*logical.FieldSchema{
		"token": {Type: logical.TypeString, Description: "Token to act on (request body)"},
	}
	accessorField := map[string]*logical.FieldSchema{
		"accessor": {Type: logical.TypeString, Description: "Accessor of the token (request body)"},
	}
	increment := &logical.FieldSchema{
		Type:        logical.TypeDurationSecond,
		Description: "The desired increment in seconds to the token expiration",
	}
	update := logical.UpdateOperation
	b := &logical.FrameworkBackend{
		AuthRenew: s.authRenew,
		PathsSpecial: &logical.Paths{
			Root: []string{"revoke-orphan*", "accessors*"},
		},
		Paths: []*logical.Path{
			{
				Pattern:      "accessors/?",
				Operations:   map[logical.Operation]logical.OperationFunc{logical.ListOperation: s.handleListAccessors},
				HelpSynopsis: "List token accessors (sudo).",
			},
			{
				Pattern:      "create-orphan",
				Fields:       createFields(),
				Operations:   map[logical.Operation]logical.OperationFunc{update: s.handleCreate(true)},
				HelpSynopsis: "Create an orphan token.",
			},
			{
				Pattern:      "create/(?P<role_name>.+)",
				Fields:       createFields(),
				Operations:   map[logical.Operation]logical.OperationFunc{update: s.handleCreateRole},
				HelpSynopsis: "Create a token against a role.",
			},
			{
				Pattern:      "create",
				Fields:       createFields(),
				Operations:   map[logical.Operation]logical.OperationFunc{update: s.handleCreate(false)},
				HelpSynopsis: "Create a child token.",
			},
			{
				Pattern: "lookup",
				Fields:  tokenField,
				Operations: map[logical.Operation]logical.OperationFunc{
					logical.ReadOperation: s.handleLookup,
					update:                s.handleLookup,
				},
				HelpSynopsis: "Look up a token.",
			},
			{
				Pattern: "lookup-self",
				Fields:  tokenField,
				Operations: map[logical.Operation]logical.OperationFunc{
					logical.ReadOperation: s.handleLookupSelf,
					update:                s.handleLookupSelf,
				},
				HelpSynopsis: "Look up the calling token.",
			},
			{
				Pattern:      "lookup-accessor",
				Fields:       accessorField,
				Operations:   map[logical.Operation]logical.OperationFunc{update: s.handleLookupAccessor},
				HelpSynopsis: "Look up a token by its accessor.",
			},
			{
				Pattern:      "renew",
				Fields:       map[string]*logical.FieldSchema{"token": tokenField["token"], "increment": increment},
				Operations:   map[logical.Operation]logical.OperationFunc{update: s.handleRenew},
				HelpSynopsis: "Renew a token.",
			},
			{
				Pattern:      "renew-self",
				Fields:       map[string]*logical.FieldSchema{"token": tokenField["token"], "increment": increment},
				Operations:   map[logical.Operation]logical.OperationFunc{update: s.handleRenewSelf},
				HelpSynopsis: "Renew the calling token.",
			},
			{
				Pattern:      "renew-accessor",
				Fields:       map[string]*logical.FieldSchema{"accessor": accessorField["accessor"], "increment": increment},
				Operations:   map[logical.Operation]logical.OperationFunc{update: s.handleRenewAccessor},
				HelpSynopsis: "Renew a token by its accessor.",
			},
			{
				Pattern:      "revoke",
				Fields:       tokenField,
				Operations:   map[logical.Operation]logical.OperationFunc{update: s.handleRevoke},
				HelpSynopsis: "Revoke a token and its children.",
			},
			{
				Pattern:      "revoke-self",
				Operations:   map[logical.Operation]logical.OperationFunc{update: s.handleRevokeSelf},
				HelpSynopsis: "Revoke the calling token and its children.",
			},
			{
				Pattern:      "revoke-accessor",
				Fields:       accessorField,
				Operations:   map[logical.Operation]logical.OperationFunc{update: s.handleRevokeAccessor},
				HelpSynopsis: "Revoke a token and its children by accessor.",
			},
			{
				Pattern:      "revoke-orphan",
				Fields:       tokenField,
				Operations:   map[logical.Operation]logical.OperationFunc{update: s.handleRevokeOrphan},
				HelpSynopsis: "Revoke a token, leaving its children as orphans (sudo).",
			},
			{
				Pattern:      "tidy",
				Operations:   map[logical.Operation]logical.OperationFunc{update: s.handleTidy},
				HelpSynopsis: "Clean up expired tokens and dangling index entries.",
			},
		},
	}
	b.Paths = append(b.Paths, s.rolePaths()...)
	return b
}

func createFields() map[string]*logical.FieldSchema {
	return map[string]*logical.FieldSchema{
		"role_name":         {Type: logical.TypeString, Description: "Name of the role"},
		"id":                {Type: logical.TypeString, Description: "Value for the token (root/sudo only)"},
		"policies":          {Type: logical.TypeCommaStringSlice, Description: "List of policies for the token"},
		"meta":              {Type: logical.TypeKVPairs, Description: "Metadata for the token"},
		"metadata":          {Type: logical.TypeKVPairs, Description: "Metadata for the token (alias of meta)"},
		"no_parent":         {Type: logical.TypeBool, Description: "Create the token with no parent (root/sudo only)"},
		"no_default_policy": {Type: logical.TypeBool, Description: "Do not include the default policy"},
		"renewable":         {Type: logical.TypeBool, Default: true, Description: "Allow the token to be renewed"},
		"ttl":               {Type: logical.TypeDurationSecond, Description: "Time to live for this token"},
		"lease":             {Type: logical.TypeDurationSecond, Description: "Deprecated: use ttl"},
		"explicit_max_ttl":  {Type: logical.TypeDurationSecond, Description: "Explicit max TTL of this token"},
		"period":            {Type: logical.TypeDurationSecond, Description: "Renew period (root/sudo only)"},
		"display_name":      {Type: logical.TypeString, Description: "Name to associate with this token"},
		"num_uses":          {Type: logical.TypeInt, Description: "Max number of uses for this token"},
		"type":              {Type: logical.TypeLowerCaseString, Description: "Token type (service only)"},
		"entity_alias":      {Type: logical.TypeString, Description: "Entity alias on the token mount the token is tied to (needs a role allowing it)"},
		"format":            {Type: logical.TypeString, Description: "Return json formatted output"},
	}
}
