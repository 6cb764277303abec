package approle

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/tokenutil"
)

// tokenAliases are the pre-1.2 names AppRole roles take for token_*
// settings. bound_cidr_list is not one: in AppRole it always meant the
// secret ID's source addresses (secret_id_bound_cidrs).
var tokenAliases = []string{"policies", "period", "ttl", "max_ttl", "num_uses", "bound_cidrs"}

// roleSchema is the schema of role/<name>, shared by the per-field
// endpoints.
func roleSchema() map[string]*logical.FieldSchema {
	f := map[string]*logical.FieldSchema{
		"role_name": roleNameField(),
		"role_id": {Type: logical.TypeString,
			Description: "A custom role ID for the role (unique across the mount's roles); generated when not given."},
		"bind_secret_id": {Type: logical.TypeBool, Default: true,
			Description: "Require a secret ID at login."},
		"secret_id_bound_cidrs": {Type: logical.TypeCommaStringSlice,
			Description: "CIDR blocks or IP addresses the role's logins may come from."},
		"bound_cidr_list": {Type: logical.TypeCommaStringSlice,
			Description: "Deprecated: use \"secret_id_bound_cidrs\". When both are given, \"secret_id_bound_cidrs\" wins."},
		"secret_id_num_uses": {Type: logical.TypeInt,
			Description: "How many logins a secret ID of this role allows; 0 is unlimited."},
		"secret_id_ttl": {Type: logical.TypeDurationSecond,
			Description: "How long a secret ID of this role lives; 0 is forever."},
		"local_secret_ids": {Type: logical.TypeBool,
			Description: "Keep this role's secret IDs local to the cluster (set at creation only)."},
	}
	tokenutil.Fields(f, tokenAliases...)
	return f
}

func (b *backend) pathRoleList() *logical.Path {
	return &logical.Path{
		Pattern:      "role/?",
		Operations:   map[logical.Operation]logical.OperationFunc{logical.ListOperation: b.listRoles},
		HelpSynopsis: "List the roles.",
	}
}

func (b *backend) pathRole() *logical.Path {
	return &logical.Path{
		Pattern: "role/" + nameRe,
		Fields:  roleSchema(),
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   b.readRole,
			logical.CreateOperation: b.writeRole,
			logical.UpdateOperation: b.writeRole,
			logical.DeleteOperation: b.deleteRole,
		},
		ExistenceCheck: b.roleExists,
		HelpSynopsis:   "Create, read, update and delete roles.",
	}
}

func (b *backend) roleExists(ctx context.Context, req *logical.Request, d *logical.FieldData) (bool, error) {
	r, err := b.role(ctx, req.Storage, roleName(d))
	return r != nil, err
}

func (b *backend) listRoles(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	keys, err := req.Storage.List(ctx, rolePrefix)
	if err != nil {
		return nil, fmt.Errorf("approle: list roles: %w", err)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

func (b *backend) readRole(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	r, err := b.role(ctx, req.Storage, roleName(d))
	if err != nil || r == nil {
		return nil, err
	}
	return &logical.Response{Data: r.data()}, nil
}

// data is the role as Vault shows it (the role ID has its own endpoint).
func (r *role) data() map[string]any {
	cidrs := slices.Clone(r.SecretIDBoundCIDRs)
	if cidrs == nil {
		cidrs = []string{}
	}
	m := map[string]any{
		"bind_secret_id":        r.BindSecretID,
		"secret_id_bound_cidrs": cidrs,
		"secret_id_num_uses":    r.SecretIDNumUses,
		"secret_id_ttl":         int64(r.SecretIDTTL / time.Second),
		"local_secret_ids":      r.LocalSecretIDs,
	}
	r.Params.Data(m)
	if r.BoundCIDRListLegacy {
		m["bound_cidr_list"] = cidrs
	}
	return m
}

// writeRole creates or updates a role: only the fields given change, and
// every field is checked before anything is written.
func (b *backend) writeRole(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := roleName(d)
	defer b.lockRole(name)()
	old, err := b.role(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	next := &role{BindSecretID: true}
	if old != nil {
		c := *old
		next = &c
	}
	if err := next.apply(d, old == nil); err != nil {
		return nil, err
	}
	rid := d.Get("role_id").(string)
	if old == nil && rid == "" {
		if rid, err = newID(); err != nil {
			return nil, err
		}
	}
	if old == nil {
		if next.SecretIDFolder, err = newID(); err != nil {
			return nil, err
		}
	}
	return nil, b.storeRole(ctx, req.Storage, name, old, next, rid)
}

// storeRole writes a role, moving its role ID to newRoleID when that is
// not empty. A role ID another role holds is refused (400) before anything
// is written; the new index entry is written before the role and the old
// one removed after, so a crash in between leaves at worst a dangling
// index entry (ignored by login: it checks the role's own role ID).
func (b *backend) storeRole(ctx context.Context, s logical.Storage, name string, old, next *role, newRoleID string) error {
	if newRoleID == "" || (old != nil && old.RoleID == newRoleID) {
		return putJSON(ctx, s, rolePrefix+name, next)
	}
	h, err := b.hasher(ctx, s)
	if err != nil {
		return err
	}
	b.roleIDMu.Lock()
	defer b.roleIDMu.Unlock()
	var owner roleIDEntry
	taken, err := getJSON(ctx, s, roleIDPrefix+h.sum("role_id", newRoleID), &owner)
	if err != nil {
		return err
	}
	if taken && owner.Name != name {
		// The owner may be a role deleted half-way; only a live one counts.
		if r, err := b.role(ctx, s, owner.Name); err != nil {
			return err
		} else if r != nil && r.RoleID == newRoleID {
			return logical.BadRequest("role_id already in use")
		}
	}
	next.RoleID = newRoleID
	if err := putJSON(ctx, s, roleIDPrefix+h.sum("role_id", newRoleID), roleIDEntry{Name: name}); err != nil {
		return err
	}
	if err := putJSON(ctx, s, rolePrefix+name, next); err != nil {
		return err
	}
	if old != nil && old.RoleID != "" {
		if err := s.Delete(ctx, roleIDPrefix+h.sum("role_id", old.RoleID)); err != nil {
			return fmt.Errorf("approle: delete old role_id: %w", err)
		}
	}
	return nil
}

// roleIDEntry is what role_id/<hmac> holds.
type roleIDEntry struct {
	Name string `json:"name"`
}

// apply sets the fields the request carries on r and checks the result;
// r is left half-changed on error, so callers apply to a copy.
func (r *role) apply(d *logical.FieldData, creating bool) error {
	// tokenutil reads bound_cidr_list as token_bound_cidrs wherever the
	// schema has it; here it is the secret ID's, so it hides from Parse.
	tokenData := &logical.FieldData{Raw: d.Raw, Schema: maps.Clone(d.Schema)}
	delete(tokenData.Schema, "bound_cidr_list")
	if err := r.Params.Parse(tokenData); err != nil {
		return err
	}
	if v, ok := d.GetOk("bind_secret_id"); ok {
		r.BindSecretID = v.(bool)
	}
	if v, ok := d.GetOk("secret_id_bound_cidrs"); ok {
		cidrs, err := parseCIDRs("secret_id_bound_cidrs", v.([]string))
		if err != nil {
			return err
		}
		r.SecretIDBoundCIDRs, r.BoundCIDRListLegacy = cidrs, false
	} else if v, ok := d.GetOk("bound_cidr_list"); ok {
		cidrs, err := parseCIDRs("bound_cidr_list", v.([]string))
		if err != nil {
			return err
		}
		r.SecretIDBoundCIDRs, r.BoundCIDRListLegacy = cidrs, true
	}
	if v, ok := d.GetOk("secret_id_num_uses"); ok {
		if v.(int) < 0 {
			return logical.BadRequest("secret_id_num_uses cannot be negative")
		}
		r.SecretIDNumUses = v.(int)
	}
	if v, ok := d.GetOk("secret_id_ttl"); ok {
		if v.(int) < 0 {
			return logical.BadRequest("secret_id_ttl cannot be negative")
		}
		r.SecretIDTTL = time.Duration(v.(int)) * time.Second
	}
	if v, ok := d.GetOk("local_secret_ids"); ok {
		if !creating && v.(bool) != r.LocalSecretIDs {
			return logical.BadRequest("local_secret_ids can only be modified during role creation")
		}
		r.LocalSecretIDs = v.(bool)
	}
	if !r.BindSecretID && len(r.SecretIDBoundCIDRs) == 0 && len(r.BoundCIDRs) == 0 {
		return logical.BadRequest("at least one constraint should be enabled on the role")
	}
	return nil
}

// parseCIDRs checks a list of CIDR blocks or addresses, naming the field
// in the error.
func parseCIDRs(field string, in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, s := range in {
		c, err := tokenutil.ParseCIDRs([]string{s})
		if err != nil {
			return nil, logical.BadRequest("invalid %q entry %q: not a CIDR block or an IP address", field, s)
		}
		out = append(out, c...)
	}
	return out, nil
}

// deleteRole removes the role, its role ID and every secret ID it has.
func (b *backend) deleteRole(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := roleName(d)
	defer b.lockRole(name)()
	r, err := b.role(ctx, req.Storage, name)
	if err != nil || r == nil {
		return nil, err
	}
	h, err := b.hasher(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	// The role goes first: from then on no login can use its secret IDs,
	// whatever is left of them if this request fails half-way (tidy
	// removes secret IDs whose role is gone).
	if err := req.Storage.Delete(ctx, rolePrefix+name); err != nil {
		return nil, fmt.Errorf("approle: delete role: %w", err)
	}
	b.roleIDMu.Lock()
	err = req.Storage.Delete(ctx, roleIDPrefix+h.sum("role_id", r.RoleID))
	b.roleIDMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("approle: delete role_id: %w", err)
	}
	prefix := r.secretPrefix()
	keys, err := req.Storage.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("approle: list secret ids: %w", err)
	}
	for _, k := range keys {
		if err := b.destroySecretID(ctx, req.Storage, r, prefix, k); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (b *backend) pathRoleID() *logical.Path {
	return &logical.Path{
		Pattern: "role/" + nameRe + "/role-id",
		Fields: map[string]*logical.FieldSchema{
			"role_name": roleNameField(),
			"role_id":   {Type: logical.TypeString, Description: "The new role ID (unique across the mount's roles)."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   b.readRoleID,
			logical.UpdateOperation: b.updateRoleID,
		},
		HelpSynopsis: "Read or set a role's role ID.",
	}
}

func (b *backend) readRoleID(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	r, err := b.role(ctx, req.Storage, roleName(d))
	if err != nil || r == nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"role_id": r.RoleID}}, nil
}

func (b *backend) updateRoleID(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := roleName(d)
	id := d.Get("role_id").(string)
	if id == "" {
		return nil, logical.BadRequest("missing role_id")
	}
	defer b.lockRole(name)()
	r, err := b.role(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errNoRole(name)
	}
	next := *r
	return nil, b.storeRole(ctx, req.Storage, name, r, &next, id)
}
