package token

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// handleCreate serves create and create-orphan with Vault's rules: the
// caller's token is the parent; without sudo the policies must be a subset
// of the parent's, and id, no_parent and period are refused.
func (s *Store) handleCreate(orphanRoute bool) logical.OperationFunc {
	return func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		return s.createFrom(ctx, req, d, orphanRoute, nil)
	}
}

// handleCreateRole serves create/<role>: the role decides the policies
// allowed, orphan, renewable, period, explicit max TTL, bound CIDRs and
// use count, and the token is created under create/<role>[/<path_suffix>]
// so that revoke-prefix on that path revokes the role's tokens.
func (s *Store) handleCreateRole(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("role_name").(string)
	role, err := s.role(ctx, name)
	if err != nil {
		return nil, err
	}
	if role == nil {
		return nil, logical.BadRequest("unknown role %s", name)
	}
	return s.createFrom(ctx, req, d, false, role)
}

func (s *Store) createFrom(ctx context.Context, req *logical.Request, d *logical.FieldData, orphanRoute bool, role *Role) (*logical.Response, error) {
	parent, err := s.Lookup(ctx, req.ClientToken)
	if err != nil {
		return nil, err
	}
	if parent == nil {
		return nil, logical.BadRequest("parent token lookup failed: no parent found")
	}
	// A batch token's children could not be revoked with it.
	if parent.Type == TypeBatch {
		return nil, logical.BadRequest("batch tokens cannot create more tokens")
	}
	// Otherwise a limited-use token could mint itself unlimited ones.
	if parent.NumUses > 0 {
		return nil, logical.BadRequest("restricted use token cannot generate child tokens")
	}
	cr, err := createRequestFrom(req, d, parent, orphanRoute, role)
	if err != nil {
		return nil, err
	}
	if alias := d.Get("entity_alias").(string); alias != "" {
		// The token belongs to the alias's entity on this mount (found or
		// created), not to its parent's.
		if s.entityForAlias == nil {
			return nil, logical.BadRequest("'entity_alias' is not supported: no identity store")
		}
		if cr.EntityID, err = s.entityForAlias(ctx, req.MountAccessor, alias); err != nil {
			return nil, err
		}
	}
	tok, e, warnings, err := s.create(ctx, cr)
	if err != nil {
		return nil, err
	}
	resp := &logical.Response{Auth: authOf(tok, e, e.TTL)}
	for _, w := range warnings {
		resp.AddWarning(w)
	}
	return resp, nil
}

// createRequestFrom reads a create request; role is nil outside
// create/<role>.
func createRequestFrom(req *logical.Request, d *logical.FieldData, parent *Entry, orphanRoute bool, role *Role) (CreateRequest, error) {
	// Root tokens always have sudo, even if the core did not say so.
	sudo := req.Sudo || parent.IsRoot()
	if alias := d.Get("entity_alias").(string); alias != "" {
		if role == nil {
			return CreateRequest{}, logical.BadRequest("'entity_alias' is only allowed in combination with token role")
		}
		// Allowed aliases are matched without case, as Vault's.
		lower := strings.ToLower(alias)
		if !slices.ContainsFunc(role.AllowedEntityAliases, func(g string) bool { return globMatch(strings.ToLower(g), lower) }) {
			return CreateRequest{}, logical.BadRequest("invalid 'entity_alias' value")
		}
	}
	typ, err := requestedType(d, role)
	if err != nil {
		return CreateRequest{}, err
	}
	numUses := d.Get("num_uses").(int)
	if typ == TypeBatch {
		// Vault judges the request's own fields; a role's period and caps
		// are not applied to batch tokens.
		for _, f := range []string{"explicit_max_ttl", "num_uses", "period"} {
			if v, ok := d.GetOk(f); ok && v.(int) != 0 {
				return CreateRequest{}, badBatch(f)
			}
		}
	}
	if numUses < 0 {
		return CreateRequest{}, logical.BadRequest("number of uses cannot be negative")
	}

	noDefault := d.Get("no_default_policy").(bool) || (role != nil && role.Params.NoDefaultPolicy)
	var policies []string
	if role != nil && role.restrictsPolicies() {
		policies, err = rolePolicies(role, parent, d.Get("policies").([]string), noDefault)
	} else {
		policies, err = childPolicies(parent, d.Get("policies").([]string), noDefault, sudo)
	}
	if err != nil {
		return CreateRequest{}, err
	}

	noParent := d.Get("no_parent").(bool)
	if noParent && !sudo {
		return CreateRequest{}, logical.BadRequest("root or sudo privileges required to create orphan token")
	}
	id := d.Get("id").(string)
	if id != "" && !sudo {
		return CreateRequest{}, logical.BadRequest("root or sudo privileges required to specify token id")
	}

	explicitMax := seconds(d.Get("explicit_max_ttl").(int))
	if explicitMax < 0 {
		return CreateRequest{}, logical.BadRequest("explicit_max_ttl must be positive")
	}
	period := seconds(d.Get("period").(int))
	if period < 0 {
		return CreateRequest{}, logical.BadRequest("period must be positive")
	}
	if period > 0 && !sudo {
		return CreateRequest{}, logical.BadRequest("root or sudo privileges required to create periodic token")
	}
	ttlRaw, ok := d.GetOk("ttl")
	if !ok {
		ttlRaw = d.Get("lease")
	}
	ttl := seconds(ttlRaw.(int))
	if ttl < 0 {
		return CreateRequest{}, logical.BadRequest("ttl must be positive")
	}

	renewable := d.Get("renewable").(bool)
	path := "auth/token/" + req.Path
	var boundCIDRs []string
	var roleName string
	if role != nil {
		rp := role.Params
		// The role's period and caps apply whoever asks (to service
		// tokens: Vault gives batch tokens none); the lesser of the
		// request's and the role's explicit max TTL and use count.
		if typ != TypeBatch {
			if rp.Period > 0 {
				period = rp.Period
			}
			if rp.ExplicitMaxTTL > 0 && (explicitMax == 0 || rp.ExplicitMaxTTL < explicitMax) {
				explicitMax = rp.ExplicitMaxTTL
			}
			if rp.NumUses > 0 && (numUses == 0 || rp.NumUses < numUses) {
				numUses = rp.NumUses
			}
		}
		renewable = renewable && role.Renewable
		noParent = noParent || role.Orphan
		boundCIDRs = slices.Clone(rp.BoundCIDRs)
		roleName = role.Name
		if role.PathSuffix != "" {
			path += "/" + role.PathSuffix
		}
	}
	orphan := orphanRoute || noParent
	isRoot := len(policies) == 1 && policies[0] == RootPolicy
	if isRoot && ttl == 0 && period == 0 && explicitMax == 0 && !parent.ExpireTime.IsZero() {
		return CreateRequest{}, logical.BadRequest("expiring root tokens cannot create non-expiring root tokens")
	}

	meta, ok := d.GetOk("meta")
	if !ok {
		meta = d.Get("metadata")
	}
	cr := CreateRequest{
		ID:              id,
		Policies:        policies,
		NoDefaultPolicy: true, // childPolicies decided about "default"
		Path:            path,
		Meta:            meta.(map[string]string),
		DisplayName:     tokenDisplayName(d.Get("display_name").(string)),
		NumUses:         numUses,
		TTL:             ttl,
		ExplicitMaxTTL:  explicitMax,
		Period:          period,
		DefaultTTL:      req.MountConfig.DefaultLeaseTTL,
		MaxTTL:          req.MountConfig.MaxLeaseTTL,
		Renewable:       renewable,
		BoundCIDRs:      boundCIDRs,
		Role:            roleName,
		Type:            typ,
	}
	if typ == TypeBatch {
		cr.Renewable = false
	}
	if !orphan {
		cr.Parent = parent
		cr.EntityID = parent.EntityID
	}
	return cr, nil
}

// requestedType is the type of the token a create request makes: the
// request's "type", which a role's token_type overrides (service, batch)
// or supplies when the request gives none (default-batch).
func requestedType(d *logical.FieldData, role *Role) (string, error) {
	typ := d.Get("type").(string)
	if role != nil {
		switch role.Params.Type {
		case "", "default", "default-service":
		case "default-batch":
			if typ == "" {
				typ = TypeBatch
			}
		case TypeService, TypeBatch:
			typ = role.Params.Type
		default:
			return "", logical.BadRequest("role being used for token creation contains invalid token type %q", role.Params.Type)
		}
	}
	switch typ {
	case "", TypeService:
		return TypeService, nil
	case TypeBatch:
		return TypeBatch, nil
	}
	return "", logical.BadRequest("invalid 'token_type' value")
}

// childPolicies applies Vault's policy rules for a child token: with no
// policies asked for, the parent's are inherited as they are; a caller
// without sudo may only ask for a subset of the parent's and gets "default"
// only if the parent has it; a sudo caller gets "default" added. With
// noDefault, "default" is left out whatever the case.
func childPolicies(parent *Entry, asked []string, noDefault, sudo bool) ([]string, error) {
	var out []string
	addDefault := false
	switch {
	case len(sanitizePolicies(asked, false)) == 0:
		out = sanitizePolicies(parent.Policies, false)
	case !sudo:
		out = sanitizePolicies(asked, false)
		if !isSubset(sanitizePolicies(parent.Policies, false), out) {
			return nil, logical.BadRequest("child policies must be subset of parent")
		}
		addDefault = !noDefault && slices.Contains(parent.Policies, DefaultPolicy)
	default:
		out = sanitizePolicies(asked, false)
		addDefault = !noDefault
	}
	out = sanitizePolicies(out, addDefault)
	if noDefault {
		out = slices.DeleteFunc(out, func(p string) bool { return p == DefaultPolicy })
	}
	if slices.Contains(out, RootPolicy) && !parent.IsRoot() {
		return nil, logical.BadRequest("root tokens may not be created without parent token being root")
	}
	return out, nil
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

// authOf is the auth block of a create or renew response.
func authOf(tok string, e *Entry, lease time.Duration) *logical.Auth {
	return &logical.Auth{
		ClientToken:    tok,
		Accessor:       e.Accessor,
		Policies:       slices.Clone(e.Policies),
		TokenPolicies:  slices.Clone(e.Policies),
		Metadata:       e.Meta,
		LeaseDuration:  lease,
		Renewable:      e.Renewable,
		EntityID:       e.EntityID,
		TokenType:      e.Type,
		Orphan:         e.Parent == "",
		NumUses:        e.NumUses,
		DisplayName:    e.DisplayName,
		Period:         e.Period,
		ExplicitMaxTTL: e.ExplicitMaxTTL,
	}
}
