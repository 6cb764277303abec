package approle

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// secretIDFields are what secret-id and custom-secret-id take.
func secretIDFields(custom bool) map[string]*logical.FieldSchema {
	f := map[string]*logical.FieldSchema{
		"role_name": roleNameField(),
		"metadata": {Type: logical.TypeRaw,
			Description: "Key-value pairs tied to the secret ID (a JSON object, or a string holding one); they become the login token's metadata."},
		"cidr_list": {Type: logical.TypeCommaStringSlice,
			Description: "CIDR blocks or addresses the secret ID may log in from; within the role's secret_id_bound_cidrs."},
		"token_bound_cidrs": {Type: logical.TypeCommaStringSlice,
			Description: "CIDR blocks or addresses the login's token may be used from; within the role's token_bound_cidrs."},
		"num_uses": {Type: logical.TypeInt,
			Description: "Logins the secret ID allows (0: unlimited); not above the role's secret_id_num_uses."},
		"ttl": {Type: logical.TypeDurationSecond,
			Description: "The secret ID's life (0: forever); not above the role's secret_id_ttl."},
	}
	if custom {
		f["secret_id"] = &logical.FieldSchema{Type: logical.TypeString, Description: "The secret ID to register."}
	}
	return f
}

func (b *backend) pathSecretID() *logical.Path {
	return &logical.Path{
		Pattern: "role/" + nameRe + "/secret-id/?",
		Fields:  secretIDFields(false),
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.UpdateOperation: b.generateSecretID,
			logical.ListOperation:   b.listSecretIDs,
		},
		HelpSynopsis: "Generate a secret ID for a role, or list the accessors of its secret IDs.",
	}
}

func (b *backend) pathCustomSecretID() *logical.Path {
	return &logical.Path{
		Pattern:      "role/" + nameRe + "/custom-secret-id",
		Fields:       secretIDFields(true),
		Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: b.customSecretID},
		HelpSynopsis: "Register a secret ID of the caller's choosing for a role.",
	}
}

func (b *backend) generateSecretID(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	id, err := newID()
	if err != nil {
		return nil, err
	}
	return b.registerSecretID(ctx, req, d, id)
}

func (b *backend) customSecretID(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	id := d.Get("secret_id").(string)
	if id == "" {
		return nil, logical.BadRequest("missing secret_id")
	}
	return b.registerSecretID(ctx, req, d, id)
}

// registerSecretID checks the request against the role and stores the
// secret ID's entry (under its HMAC) and its accessor.
func (b *backend) registerSecretID(ctx context.Context, req *logical.Request, d *logical.FieldData, secretID string) (*logical.Response, error) {
	name := roleName(d)
	r, err := b.role(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errNoRole(name)
	}
	if !r.BindSecretID {
		return nil, logical.BadRequest("bind_secret_id is not set on the role")
	}
	meta, err := parseMetadata(d.Get("metadata"))
	if err != nil {
		return nil, err
	}
	cidrs, err := parseCIDRs("cidr_list", d.Get("cidr_list").([]string))
	if err != nil {
		return nil, err
	}
	if c, ok := cidrsWithin(cidrs, r.SecretIDBoundCIDRs); !ok {
		return nil, logical.BadRequest("failed to verify the CIDR restrictions set on the secret ID: %q is not within the role's secret_id_bound_cidrs", c)
	}
	tokenCIDRs, err := parseCIDRs("token_bound_cidrs", d.Get("token_bound_cidrs").([]string))
	if err != nil {
		return nil, err
	}
	if c, ok := cidrsWithin(tokenCIDRs, r.BoundCIDRs); !ok {
		return nil, logical.BadRequest("failed to verify the CIDR restrictions set on the secret ID: token_bound_cidrs entry %q is not within the role's token_bound_cidrs", c)
	}
	numUses := r.SecretIDNumUses
	if v, ok := d.GetOk("num_uses"); ok {
		n := v.(int)
		switch {
		case n < 0:
			return nil, logical.BadRequest("num_uses cannot be negative")
		case r.SecretIDNumUses > 0 && (n == 0 || n > r.SecretIDNumUses):
			return nil, logical.BadRequest("num_uses cannot be higher than the role's secret_id_num_uses")
		}
		numUses = n
	}
	ttl := r.SecretIDTTL
	if v, ok := d.GetOk("ttl"); ok {
		t := time.Duration(v.(int)) * time.Second
		switch {
		case t < 0:
			return nil, logical.BadRequest("ttl cannot be negative")
		case r.SecretIDTTL > 0 && (t == 0 || t > r.SecretIDTTL):
			return nil, logical.BadRequest("ttl cannot be longer than the role's secret_id_ttl")
		}
		ttl = t
	}
	accessor, err := newID()
	if err != nil {
		return nil, err
	}
	h, err := b.hasher(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	now := b.now().UTC()
	e := &secretIDEntry{
		Accessor: accessor, NumUses: numUses, TTL: ttl,
		CreationTime: now, LastUpdatedTime: now,
		Metadata: meta, CIDRList: cidrs, TokenBoundCIDRs: tokenCIDRs,
	}
	if ttl > 0 {
		e.ExpirationTime = now.Add(ttl)
	}
	key := r.secretKey(h, secretID)
	unlock := b.lockSecret(key)
	defer unlock()
	if old, err := readSecretID(ctx, req.Storage, key); err != nil {
		return nil, err
	} else if old != nil {
		return nil, logical.BadRequest("SecretID is already registered")
	}
	if err := putJSON(ctx, req.Storage, r.accessorKey(h, accessor), accessorEntry{SecretIDKey: key}); err != nil {
		return nil, err
	}
	if err := putJSON(ctx, req.Storage, key, e); err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"secret_id":          secretID,
		"secret_id_accessor": accessor,
		"secret_id_ttl":      int64(ttl / time.Second),
		"secret_id_num_uses": numUses,
	}}, nil
}

// parseMetadata reads metadata given as a JSON object or as a string
// holding one (Vault's documented form); values must be strings.
func parseMetadata(v any) (map[string]string, error) {
	switch m := v.(type) {
	case nil:
		return map[string]string{}, nil
	case string:
		if m == "" {
			return map[string]string{}, nil
		}
		out := map[string]string{}
		if err := json.Unmarshal([]byte(m), &out); err != nil {
			return nil, logical.BadRequest("failed to parse metadata: %v", err)
		}
		return out, nil
	case map[string]any:
		out := make(map[string]string, len(m))
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				return nil, logical.BadRequest("failed to parse metadata: the value of %q is not a string", k)
			}
			out[k] = s
		}
		return out, nil
	}
	return nil, logical.BadRequest("failed to parse metadata: want a JSON object of strings")
}

func (b *backend) listSecretIDs(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := roleName(d)
	r, err := b.role(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errNoRole(name)
	}
	prefix := r.secretPrefix()
	keys, err := req.Storage.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("approle: list secret ids: %w", err)
	}
	now := b.now()
	var accessors []string
	for _, k := range keys {
		e, err := readSecretID(ctx, req.Storage, prefix+k)
		if err != nil {
			return nil, err
		}
		if e != nil && !e.expired(now) {
			accessors = append(accessors, e.Accessor)
		}
	}
	if len(accessors) == 0 {
		return nil, nil
	}
	return &logical.Response{Data: map[string]any{"keys": accessors}}, nil
}

func (b *backend) pathSecretIDLookup() *logical.Path {
	return &logical.Path{
		Pattern: "role/" + nameRe + "/secret-id/lookup/?",
		Fields: map[string]*logical.FieldSchema{
			"role_name": roleNameField(),
			"secret_id": {Type: logical.TypeString, Description: "The secret ID to look up."},
		},
		Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: b.lookupSecretID},
		HelpSynopsis: "Read what is known of a secret ID (never the secret ID itself).",
	}
}

func (b *backend) pathSecretIDDestroy() *logical.Path {
	return &logical.Path{
		Pattern: "role/" + nameRe + "/secret-id/destroy/?",
		Fields: map[string]*logical.FieldSchema{
			"role_name": roleNameField(),
			"secret_id": {Type: logical.TypeString, Description: "The secret ID to destroy."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.UpdateOperation: b.destroySecretIDByValue,
			logical.DeleteOperation: b.destroySecretIDByValue,
		},
		HelpSynopsis: "Destroy a secret ID.",
	}
}

// roleAndHasher loads an existing role (400 when there is none) and the
// mount's secret ID hasher.
func (b *backend) roleAndHasher(ctx context.Context, req *logical.Request, name string) (*role, hasher, error) {
	r, err := b.role(ctx, req.Storage, name)
	if err != nil {
		return nil, hasher{}, err
	}
	if r == nil {
		return nil, hasher{}, errNoRole(name)
	}
	h, err := b.hasher(ctx, req.Storage)
	if err != nil {
		return nil, hasher{}, err
	}
	return r, h, nil
}

// secretIDTarget resolves role_name and secret_id to the role and the
// secret ID's storage key.
func (b *backend) secretIDTarget(ctx context.Context, req *logical.Request, d *logical.FieldData) (*role, string, error) {
	name := roleName(d)
	id := d.Get("secret_id").(string)
	if id == "" {
		return nil, "", logical.BadRequest("missing secret_id")
	}
	r, h, err := b.roleAndHasher(ctx, req, name)
	if err != nil {
		return nil, "", err
	}
	return r, r.secretKey(h, id), nil
}

func (b *backend) lookupSecretID(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	_, key, err := b.secretIDTarget(ctx, req, d)
	if err != nil {
		return nil, err
	}
	e, err := readSecretID(ctx, req.Storage, key)
	if err != nil || e == nil || e.expired(b.now()) {
		return nil, err
	}
	return &logical.Response{Data: e.data()}, nil
}

func (b *backend) destroySecretIDByValue(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	r, key, err := b.secretIDTarget(ctx, req, d)
	if err != nil {
		return nil, err
	}
	defer b.lockSecret(key)()
	return nil, b.destroyLocked(ctx, req.Storage, r, key)
}

func (b *backend) pathAccessorLookup() *logical.Path {
	return &logical.Path{
		Pattern:      "role/" + nameRe + "/secret-id-accessor/lookup/?",
		Fields:       accessorFields(),
		Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: b.lookupByAccessor},
		HelpSynopsis: "Read what is known of a secret ID, by its accessor.",
	}
}

func (b *backend) pathAccessorDestroy() *logical.Path {
	return &logical.Path{
		Pattern: "role/" + nameRe + "/secret-id-accessor/destroy/?",
		Fields:  accessorFields(),
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.UpdateOperation: b.destroyByAccessor,
			logical.DeleteOperation: b.destroyByAccessor,
		},
		HelpSynopsis: "Destroy a secret ID, by its accessor.",
	}
}

func accessorFields() map[string]*logical.FieldSchema {
	return map[string]*logical.FieldSchema{
		"role_name":          roleNameField(),
		"secret_id_accessor": {Type: logical.TypeString, Description: "The accessor of the secret ID."},
	}
}

// accessorTarget resolves an accessor of the named role to its role and
// its secret ID's storage key; an accessor of another role is not found.
func (b *backend) accessorTarget(ctx context.Context, req *logical.Request, d *logical.FieldData) (*role, string, error) {
	name := roleName(d)
	accessor := d.Get("secret_id_accessor").(string)
	if accessor == "" {
		return nil, "", logical.BadRequest("missing secret_id_accessor")
	}
	r, h, err := b.roleAndHasher(ctx, req, name)
	if err != nil {
		return nil, "", err
	}
	var a accessorEntry
	ok, err := getJSON(ctx, req.Storage, r.accessorKey(h, accessor), &a)
	if err != nil {
		return nil, "", err
	}
	prefix := r.secretPrefix()
	if !ok || len(a.SecretIDKey) <= len(prefix) || a.SecretIDKey[:len(prefix)] != prefix {
		return nil, "", logical.Errorf(http.StatusNotFound, "failed to find accessor entry for secret_id_accessor: %q", accessor)
	}
	return r, a.SecretIDKey, nil
}

func (b *backend) lookupByAccessor(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	_, key, err := b.accessorTarget(ctx, req, d)
	if err != nil {
		return nil, err
	}
	e, err := readSecretID(ctx, req.Storage, key)
	if err != nil {
		return nil, err
	}
	if e == nil || e.expired(b.now()) {
		return nil, logical.Errorf(http.StatusNotFound, "failed to find accessor entry for secret_id_accessor: %q", d.Get("secret_id_accessor"))
	}
	return &logical.Response{Data: e.data()}, nil
}

func (b *backend) destroyByAccessor(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	r, key, err := b.accessorTarget(ctx, req, d)
	if err != nil {
		return nil, err
	}
	defer b.lockSecret(key)()
	if err := b.destroyLocked(ctx, req.Storage, r, key); err != nil {
		return nil, err
	}
	// A dangling accessor (its secret ID already gone) goes too.
	h, err := b.hasher(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if err := req.Storage.Delete(ctx, r.accessorKey(h, d.Get("secret_id_accessor").(string))); err != nil {
		return nil, fmt.Errorf("approle: delete secret id accessor: %w", err)
	}
	return nil, nil
}
