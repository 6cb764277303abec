package token

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/tokenutil"
)

// roleTokenFields are the token_* settings a token role has (Vault's token
// roles have no token_ttl, token_max_ttl or token_policies: the request
// and the allowed policies decide those).
var roleTokenFields = []string{
	"token_bound_cidrs", "token_explicit_max_ttl", "token_no_default_policy",
	"token_num_uses", "token_period", "token_type",
}

func roleSchema() map[string]*logical.FieldSchema {
	list := func(desc string) *logical.FieldSchema {
		return &logical.FieldSchema{Type: logical.TypeCommaStringSlice, Description: desc}
	}
	f := map[string]*logical.FieldSchema{
		"role_name":                {Type: logical.TypeString, Description: "Name of the role"},
		"allowed_policies":         list("Policies a token of this role may have; none requested: all of these."),
		"disallowed_policies":      list("Policies a token of this role may never have."),
		"allowed_policies_glob":    list("Glob patterns ('*') of policies a token of this role may have."),
		"disallowed_policies_glob": list("Glob patterns ('*') of policies a token of this role may never have."),
		"allowed_entity_aliases":   list("Entity aliases (globs) a token of this role may be tied to with entity_alias."),
		"orphan":                   {Type: logical.TypeBool, Description: "Tokens of this role have no parent."},
		"renewable":                {Type: logical.TypeBool, Default: true, Description: "Tokens of this role may be renewed."},
		"path_suffix":              {Type: logical.TypeString, Description: "Appended to the tokens' creation path, so revoke-prefix can target them."},
		"explicit_max_ttl":         {Type: logical.TypeDurationSecond, Description: "Deprecated: use \"token_explicit_max_ttl\". When both are given, \"token_explicit_max_ttl\" wins."},
	}
	tokenutil.Fields(f, "period", "bound_cidrs")
	for name := range f {
		if strings.HasPrefix(name, "token_") && !slices.Contains(roleTokenFields, name) {
			delete(f, name)
		}
	}
	// Aliases of the removed settings go too.
	for _, a := range []string{"policies", "ttl", "max_ttl"} {
		delete(f, a)
	}
	return f
}

func (s *Store) rolePaths() []*logical.Path {
	return []*logical.Path{
		{
			Pattern:      "roles/?",
			Operations:   map[logical.Operation]logical.OperationFunc{logical.ListOperation: s.handleListRoles},
			HelpSynopsis: "List the token roles.",
		},
		{
			Pattern: "roles/(?P<role_name>" + roleNameRe + ")",
			Fields:  roleSchema(),
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation:   s.handleReadRole,
				logical.CreateOperation: s.handleWriteRole,
				logical.UpdateOperation: s.handleWriteRole,
				logical.DeleteOperation: s.handleDeleteRole,
			},
			ExistenceCheck: func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (bool, error) {
				r, err := s.role(ctx, d.Get("role_name").(string))
				return r != nil, err
			},
			HelpSynopsis: "Create, read, update and delete token roles.",
		},
	}
}

func (s *Store) handleListRoles(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	keys, err := s.storage.List(ctx, rolePrefix)
	if err != nil {
		return nil, fmt.Errorf("token: list roles: %w", err)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

func (s *Store) handleReadRole(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	r, err := s.role(ctx, d.Get("role_name").(string))
	if err != nil || r == nil {
		return nil, err
	}
	return &logical.Response{Data: r.data()}, nil
}

// data is the role as Vault shows it.
func (r *Role) data() map[string]any {
	orEmpty := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return slices.Clone(l)
	}
	all := map[string]any{}
	r.Params.Data(all)
	m := map[string]any{
		"name":                     r.Name,
		"allowed_policies":         orEmpty(r.AllowedPolicies),
		"disallowed_policies":      orEmpty(r.DisallowedPolicies),
		"allowed_policies_glob":    orEmpty(r.AllowedPoliciesGlob),
		"disallowed_policies_glob": orEmpty(r.DisallowedPoliciesGlob),
		"allowed_entity_aliases":   orEmpty(r.AllowedEntityAliases),
		"orphan":                   r.Orphan,
		"renewable":                r.Renewable,
		"path_suffix":              r.PathSuffix,
	}
	for _, k := range append(slices.Clone(roleTokenFields), "period", "bound_cidrs") {
		if v, ok := all[k]; ok {
			m[k] = v
		}
	}
	if r.ExplicitMaxTTLLegacy {
		m["explicit_max_ttl"] = int64(r.Params.ExplicitMaxTTL / time.Second)
	}
	return m
}

// handleWriteRole creates or updates a role: only the fields given change,
// and everything is checked before anything is written.
func (s *Store) handleWriteRole(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("role_name").(string)
	s.rolesMu.Lock()
	defer s.rolesMu.Unlock()
	old, err := s.role(ctx, name)
	if err != nil {
		return nil, err
	}
	next := Role{Name: name, Renewable: true}
	if old != nil {
		next = *old
	}
	if err := next.apply(d); err != nil {
		return nil, err
	}
	return nil, s.putRole(ctx, &next)
}

// apply sets the fields the request carries; on error r may be half
// changed, so callers apply to a copy.
func (r *Role) apply(d *logical.FieldData) error {
	lists := map[string]*[]string{
		"allowed_policies":         &r.AllowedPolicies,
		"disallowed_policies":      &r.DisallowedPolicies,
		"allowed_policies_glob":    &r.AllowedPoliciesGlob,
		"disallowed_policies_glob": &r.DisallowedPoliciesGlob,
	}
	for k, dst := range lists {
		if v, ok := d.GetOk(k); ok {
			*dst = normalizeList(v.([]string))
		}
	}
	for _, p := range r.AllowedPolicies {
		if slices.Contains(nonAssignablePolicies, p) {
			return logical.BadRequest("cannot allow policy %q on a token role", p)
		}
	}
	if v, ok := d.GetOk("allowed_entity_aliases"); ok {
		r.AllowedEntityAliases = normalizeAliases(v.([]string))
	}
	if v, ok := d.GetOk("orphan"); ok {
		r.Orphan = v.(bool)
	}
	if v, ok := d.GetOk("renewable"); ok {
		r.Renewable = v.(bool)
	}
	if v, ok := d.GetOk("path_suffix"); ok {
		suffix := strings.TrimSpace(v.(string))
		if suffix != "" && (!validPathSuffix.MatchString(suffix) || slices.Contains(strings.Split(suffix, "/"), "..")) {
			return logical.BadRequest("given role path suffix contains invalid characters")
		}
		r.PathSuffix = suffix
	}
	params := r.Params
	if err := params.Parse(d); err != nil {
		return err
	}
	_, tokenGiven := d.GetOk("token_explicit_max_ttl")
	if v, ok := d.GetOk("explicit_max_ttl"); ok && !tokenGiven {
		if v.(int) < 0 {
			return logical.BadRequest("'explicit_max_ttl' cannot be negative")
		}
		params.ExplicitMaxTTL = seconds(v.(int))
		r.ExplicitMaxTTLLegacy = true
	} else if tokenGiven {
		r.ExplicitMaxTTLLegacy = false
	}
	r.Params = params
	return nil
}

// normalizeAliases trims, drops empties and dedupes, keeping case (alias
// names are case-sensitive).
func normalizeAliases(in []string) []string {
	out := make([]string, 0, len(in))
	for _, a := range in {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (s *Store) handleDeleteRole(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("role_name").(string)
	s.rolesMu.Lock()
	defer s.rolesMu.Unlock()
	if err := s.storage.Delete(ctx, rolePrefix+name); err != nil {
		return nil, fmt.Errorf("token: delete role %q: %w", name, err)
	}
	return nil, nil
}
