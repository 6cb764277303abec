package database

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// role is a dynamic role, role/<name>.
type role struct {
	DBName               string            `json:"db_name"`
	CreationStatements   []string          `json:"creation_statements"`
	RevocationStatements []string          `json:"revocation_statements"`
	RollbackStatements   []string          `json:"rollback_statements"`
	RenewStatements      []string          `json:"renew_statements"`
	DefaultTTL           int64             `json:"default_ttl"` // seconds
	MaxTTL               int64             `json:"max_ttl"`     // seconds
	CredentialType       string            `json:"credential_type"`
	CredentialConfig     map[string]string `json:"credential_config,omitempty"`
}

func readRole(ctx context.Context, s logical.Storage, name string) (*role, error) {
	e, err := s.Get(ctx, rolePrefix+name)
	if err != nil {
		return nil, fmt.Errorf("database: read role: %w", err)
	}
	if e == nil {
		return nil, nil
	}
	var r role
	if err := json.Unmarshal(e.Value, &r); err != nil {
		return nil, fmt.Errorf("database: decode role %q: %w", name, err)
	}
	return &r, nil
}

var roleFields = map[string]*logical.FieldSchema{
	"name":                  {Type: logical.TypeString, Description: "Name of the role."},
	"db_name":               {Type: logical.TypeString, Description: "Name of the database connection (config/<db_name>)."},
	"creation_statements":   {Type: logical.TypeStringSlice, Description: "Statements creating a user: {{name}}, {{password}}, {{expiration}}."},
	"revocation_statements": {Type: logical.TypeStringSlice, Description: "Statements dropping the user (default: drop it and end its sessions)."},
	"rollback_statements":   {Type: logical.TypeStringSlice, Description: "Statements undoing a failed creation."},
	"renew_statements":      {Type: logical.TypeStringSlice, Description: "Statements run on renewal: {{name}}, {{expiration}}."},
	"default_ttl":           {Type: logical.TypeDurationSecond, Description: "Default lease TTL (default: the mount's)."},
	"max_ttl":               {Type: logical.TypeDurationSecond, Description: "Longest lease life (default: the mount's)."},
	"credential_type":       {Type: logical.TypeString, Default: "password", Description: "Only \"password\"."},
	"credential_config":     {Type: logical.TypeMap, Description: "Options of the credential type: password_policy overrides the config's."},
}

func (b *backend) pathRolesList() *logical.Path {
	return &logical.Path{
		Pattern:    "roles/?",
		Operations: map[logical.Operation]logical.OperationFunc{logical.ListOperation: listPrefix(rolePrefix)},
	}
}

func (b *backend) pathRoles() *logical.Path {
	return &logical.Path{
		Pattern: "roles/" + nameRe,
		Fields:  roleFields,
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   b.readRole,
			logical.UpdateOperation: b.writeRole,
			logical.DeleteOperation: func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
				return nil, req.Storage.Delete(ctx, rolePrefix+d.Get("name").(string))
			},
		},
		ExistenceCheck: existsAt(rolePrefix),
		HelpSynopsis:   "Manage the roles that create database users on demand.",
	}
}

func (b *backend) readRole(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	r, err := readRole(ctx, req.Storage, d.Get("name").(string))
	if err != nil || r == nil {
		return nil, err
	}
	cc := map[string]any{}
	for k, v := range r.CredentialConfig {
		cc[k] = v
	}
	return &logical.Response{Data: map[string]any{
		"db_name":               r.DBName,
		"creation_statements":   nonNil(r.CreationStatements),
		"revocation_statements": nonNil(r.RevocationStatements),
		"rollback_statements":   nonNil(r.RollbackStatements),
		"renew_statements":      nonNil(r.RenewStatements),
		"default_ttl":           r.DefaultTTL,
		"max_ttl":               r.MaxTTL,
		"credential_type":       r.CredentialType,
		"credential_config":     cc,
	}}, nil
}

// writeRole creates or updates a role; fields not sent keep their values.
func (b *backend) writeRole(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	if sr, err := readStaticRole(ctx, req.Storage, name); err != nil {
		return nil, err
	} else if sr != nil {
		return nil, logical.BadRequest("role %q already exists as a static role", name)
	}
	r, err := readRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = &role{CredentialType: "password"}
	}
	if v, ok := d.GetOk("db_name"); ok {
		r.DBName = v.(string)
	}
	if r.DBName == "" {
		return nil, logical.BadRequest("empty database name attribute")
	}
	for k, dst := range map[string]*[]string{
		"creation_statements": &r.CreationStatements, "revocation_statements": &r.RevocationStatements,
		"rollback_statements": &r.RollbackStatements, "renew_statements": &r.RenewStatements,
	} {
		if v, ok := d.GetOk(k); ok {
			*dst = v.([]string)
		}
	}
	if len(r.CreationStatements) == 0 {
		return nil, logical.BadRequest("empty creation statements")
	}
	if v, ok := d.GetOk("default_ttl"); ok {
		r.DefaultTTL = int64(v.(int))
	}
	if v, ok := d.GetOk("max_ttl"); ok {
		r.MaxTTL = int64(v.(int))
	}
	if r.DefaultTTL < 0 || r.MaxTTL < 0 {
		return nil, logical.BadRequest("ttls must not be negative")
	}
	if r.MaxTTL > 0 && r.DefaultTTL > r.MaxTTL {
		return nil, logical.BadRequest("ttl cannot be greater than max_ttl")
	}
	if v, ok := d.GetOk("credential_type"); ok {
		r.CredentialType = v.(string)
	}
	if r.CredentialType != "password" {
		return nil, logical.BadRequest("credential_type %q is not supported: only \"password\"", r.CredentialType)
	}
	if v, ok := d.GetOk("credential_config"); ok {
		r.CredentialConfig = map[string]string{}
		for k, val := range v.(map[string]any) {
			if k != "password_policy" {
				return nil, logical.BadRequest("credential_config: unknown option %q for credential_type password", k)
			}
			r.CredentialConfig[k] = fmt.Sprint(val)
		}
		if p := r.CredentialConfig["password_policy"]; p != "" {
			if _, err := b.generatePassword(ctx, p); err != nil {
				return nil, err
			}
		}
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	if err := req.Storage.Put(ctx, &logical.StorageEntry{Key: rolePrefix + name, Value: raw}); err != nil {
		return nil, fmt.Errorf("database: write role: %w", err)
	}
	return nil, nil
}

// leaseTTL is the TTL and max TTL of a lease for r: the role's, else the
// mount's, the TTL capped by the max.
func (b *backend) leaseTTL(r *role) (ttl, maxTTL time.Duration) {
	ttl = time.Duration(r.DefaultTTL) * time.Second
	if ttl == 0 {
		ttl = b.system.DefaultLeaseTTL()
	}
	maxTTL = time.Duration(r.MaxTTL) * time.Second
	if sysMax := b.system.MaxLeaseTTL(); sysMax > 0 && (maxTTL == 0 || maxTTL > sysMax) {
		maxTTL = sysMax
	}
	if maxTTL > 0 && ttl > maxTTL {
		ttl = maxTTL
	}
	return ttl, maxTTL
}
