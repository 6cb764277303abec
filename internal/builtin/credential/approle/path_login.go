package approle

import (
	"context"
	"encoding/json"
	"maps"
	"net"
	"slices"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/tokenutil"
)

// errInvalidCredentials is Vault's answer to an unknown role ID and to a
// wrong, expired or used-up secret ID alike.
var errInvalidCredentials = logical.InvalidCredentials("invalid role or secret ID")

// dummyRole is decoded when the role ID is unknown, as a role would be.
var dummyRole, _ = json.Marshal(&role{
	RoleID: "00000000-0000-0000-0000-000000000000", BindSecretID: true,
	Params: tokenutil.Params{Policies: []string{"default"}, Type: tokenutil.TypeDefault},
})

func (b *backend) pathLogin() *logical.Path {
	return &logical.Path{
		Pattern: "login",
		Fields: map[string]*logical.FieldSchema{
			"role_id":   {Type: logical.TypeString, Description: "The role ID of the role logging in."},
			"secret_id": {Type: logical.TypeString, Description: "A secret ID of that role (unless the role has bind_secret_id=false)."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.UpdateOperation:         b.login,
			logical.AliasLookaheadOperation: b.loginAlias,
		},
		HelpSynopsis: "Log in with a role ID and a secret ID.",
	}
}

// loginAlias names the alias a login asks for (its role ID), without
// checking anything, for the core's user lockout.
func (b *backend) loginAlias(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	roleID := d.Get("role_id").(string)
	if roleID == "" {
		return nil, nil
	}
	return &logical.Response{Auth: &logical.Auth{Alias: &logical.Alias{Name: roleID}}}, nil
}

func (b *backend) login(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	roleID := d.Get("role_id").(string)
	if roleID == "" {
		return nil, logical.BadRequest("missing role_id")
	}
	secretID := d.Get("secret_id").(string)
	s := req.Storage
	h, err := b.hasher(ctx, s)
	if err != nil {
		return nil, err
	}
	var idx roleIDEntry
	found, err := getJSON(ctx, s, roleIDPrefix+h.sum("role_id", roleID), &idx)
	if err != nil {
		return nil, err
	}
	var r *role
	if found {
		if r, err = b.role(ctx, s, idx.Name); err != nil {
			return nil, err
		}
	}
	if r == nil || r.RoleID != roleID {
		// Spend the reads, the decoding and the lock a known role costs,
		// so that the answer's timing does not tell role IDs that exist
		// from those that do not.
		_, _ = s.Get(ctx, rolePrefix+h.sum("role", roleID))
		var dummy role
		_ = json.Unmarshal(dummyRole, &dummy)
		key := secretIDPrefix + h.sum("role", roleID) + "/" + h.sum("secret_id", secretID)
		unlock := b.lockSecret(key)
		_, _ = s.Get(ctx, key)
		unlock()
		return nil, errInvalidCredentials
	}
	name := idx.Name
	if !tokenutil.ConnAllowed(req.Connection, r.SecretIDBoundCIDRs) {
		return nil, logical.BadRequest("source address %q unauthorized through CIDR restrictions on the role", remoteIP(req.Connection))
	}
	meta := map[string]string{}
	tokenCIDRs := r.BoundCIDRs
	if r.BindSecretID {
		if secretID == "" {
			return nil, logical.BadRequest("missing secret_id")
		}
		e, err := b.spendSecretID(ctx, req, r, r.secretKey(h, secretID))
		if err != nil {
			return nil, err
		}
		maps.Copy(meta, e.Metadata)
		if len(e.TokenBoundCIDRs) > 0 {
			tokenCIDRs = e.TokenBoundCIDRs
		}
	} else if !tokenutil.ConnAllowed(req.Connection, tokenCIDRs) {
		return nil, logical.ErrPermissionDenied
	}
	meta["role_name"] = name
	// No DisplayName: the core names the token after the mount alone
	// ("approle"), as Vault does.
	// The alias is the role ID, as Vault's: identity's entity for a role
	// is the same whoever holds a secret ID of it.
	auth := &logical.Auth{Metadata: meta, Alias: &logical.Alias{Name: roleID}}
	r.Params.PopulateAuth(auth)
	auth.BoundCIDRs = slices.Clone(tokenCIDRs)
	return &logical.Response{Auth: auth}, nil
}

// spendSecretID checks a secret ID for a login and spends one of its
// uses, under the secret ID's lock: of two logins racing for its last use
// exactly one wins. A secret ID found expired is removed.
func (b *backend) spendSecretID(ctx context.Context, req *logical.Request, r *role, key string) (*secretIDEntry, error) {
	s := req.Storage
	defer b.lockSecret(key)()
	e, err := readSecretID(ctx, s, key)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, errInvalidCredentials
	}
	now := b.now().UTC()
	if e.expired(now) {
		if err := b.destroyLocked(ctx, s, r, key); err != nil {
			return nil, err
		}
		return nil, errInvalidCredentials
	}
	if !tokenutil.ConnAllowed(req.Connection, e.CIDRList) {
		return nil, logical.BadRequest("source address %q unauthorized through CIDR restrictions on the secret ID", remoteIP(req.Connection))
	}
	tokenCIDRs := r.BoundCIDRs
	if len(e.TokenBoundCIDRs) > 0 {
		tokenCIDRs = e.TokenBoundCIDRs
	}
	// Checked before a use is spent: a login refused here costs nothing.
	if !tokenutil.ConnAllowed(req.Connection, tokenCIDRs) {
		return nil, logical.ErrPermissionDenied
	}
	switch {
	case e.NumUses == 1:
		if err := b.destroyLocked(ctx, s, r, key); err != nil {
			return nil, err
		}
	case e.NumUses > 1:
		next := *e
		next.NumUses--
		next.LastUpdatedTime = now
		if err := putJSON(ctx, s, key, &next); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func remoteIP(c *logical.Connection) string {
	if c == nil {
		return ""
	}
	if h, _, err := net.SplitHostPort(c.RemoteAddr); err == nil {
		return h
	}
	return c.RemoteAddr
}

// renewLogin is the method's AuthRenew: a login token is renewed only
// while its role exists, under the role's current TTLs.
func (b *backend) renewLogin(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	name := req.Auth.Metadata["role_name"]
	if name == "" {
		return nil, logical.BadRequest("the token carries no role_name; not renewing")
	}
	r, err := b.role(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, logical.BadRequest("role %q does not exist during renewal", name)
	}
	auth := *req.Auth
	auth.LeaseDuration, auth.MaxTTL, auth.Period = r.TTL, r.MaxTTL, r.Period
	return &logical.Response{Auth: &auth}, nil
}
