package ldap

import (
	"context"
	"errors"
	"slices"

	"github.com/go-ldap/ldap/v3"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/tokenutil"
)

var (
	errNotConfigured = logical.BadRequest("ldap backend not configured")
	errBindFailed    = logical.InvalidCredentials(errUserBindFailed)
)

func (b *backend) pathLogin() *logical.Path {
	return &logical.Path{
		Pattern: "login/(?P<username>.+)",
		Fields: map[string]*logical.FieldSchema{
			"username": {Type: logical.TypeString, Description: "The user's LDAP name."},
			"password": {Type: logical.TypeString, Description: "The user's LDAP password."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.UpdateOperation:         b.login,
			logical.AliasLookaheadOperation: b.aliasLookahead,
		},
		HelpSynopsis: "Log in with an LDAP username and password.",
	}
}

// aliasLookahead names the alias a login for this username counts
// against (user lockout), without contacting the directory.
func (b *backend) aliasLookahead(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	username := d.Get("username").(string)
	if username == "" {
		return nil, logical.BadRequest("missing username")
	}
	return &logical.Response{Auth: &logical.Auth{Alias: &logical.Alias{Name: username}}}, nil
}

// directoryUser is what the directory says about a user.
type directoryUser struct {
	dn    string
	entry *ldap.Entry // with the userattr attribute, when read
	// groups are the LDAP group names (groupattr values, CNs).
	groups []string
}

func (b *backend) login(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	username := d.Get("username").(string)
	password := d.Get("password").(string)
	cfg, err := b.config(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, errNotConfigured
	}
	if !tokenutil.ConnAllowed(req.Connection, cfg.BoundCIDRs) {
		return nil, logical.ErrPermissionDenied
	}
	if cfg.DenyNullBind && password == "" {
		return nil, logical.BadRequest("password cannot be of zero length when passwordless binds are being denied")
	}
	u, err := b.authenticate(ctx, cfg, username, password)
	if err != nil {
		return nil, err
	}
	alias := username
	if !cfg.UsernameAsAlias {
		var values []string
		if u.entry != nil {
			values = u.entry.GetEqualFoldAttributeValues(cfg.UserAttr)
		}
		if len(values) == 0 || values[0] == "" {
			return nil, logical.BadRequest("missing entity alias attribute value")
		}
		alias = values[0]
	}
	groups, policies, err := b.mapped(ctx, req.Storage, cfg, username, u.groups)
	if err != nil {
		return nil, err
	}
	auth := &logical.Auth{
		Metadata:    map[string]string{"username": username},
		DisplayName: username,
		Alias:       &logical.Alias{Name: alias},
	}
	cfg.Params.PopulateAuth(auth)
	auth.Policies = mergePolicies(auth.Policies, policies)
	for _, g := range groups {
		auth.GroupAliases = append(auth.GroupAliases, &logical.Alias{Name: g})
	}
	return &logical.Response{Auth: auth}, nil
}

// authenticate checks the password by binding as the user, then reads the
// user's entry and LDAP groups. Every failure to identify the user (wrong
// password, unknown user, user found more than once) is the same 400; an
// unknown user still costs a bind (of a DN that cannot exist), so it takes
// as many round trips as a wrong password.
func (b *backend) authenticate(ctx context.Context, cfg *config, username, password string) (*directoryUser, error) {
	l, err := cfg.dial(ctx)
	if err != nil {
		b.logger.Warn("ldap login: connect", "error", err)
		return nil, logical.BadRequest("%s", err.Error())
	}
	defer l.Close()

	u := &directoryUser{}
	found := true
	if cfg.searchesUser() {
		if err := cfg.bindService(l); err != nil {
			b.logger.Warn("ldap login: service bind failed", "binddn", cfg.BindDN, "error", err)
			return nil, errBindFailed
		}
		e, err := cfg.searchUser(l, username)
		switch {
		case errors.Is(err, errNotFound):
			found = false
		case err != nil:
			b.logger.Debug("ldap login: user search", "error", err)
			return nil, errBindFailed
		default:
			u.dn, u.entry = e.DN, e
		}
	} else {
		u.dn = cfg.builtDN(username)
	}
	target := u.dn
	if !found {
		target = "cn=strongbox-no-such-user"
		if cfg.UserDN != "" {
			target += "," + cfg.UserDN
		}
	}
	if password != "" {
		err = l.Bind(target, password)
	} else {
		err = l.UnauthenticatedBind(target)
	}
	if err != nil || !found {
		b.logger.Debug("ldap login: user bind failed", "found", found, "error", err)
		return nil, errBindFailed
	}
	// Searches run as the service account when there is one, not as the
	// user logging in.
	if cfg.BindDN != "" && cfg.BindPassword != "" {
		if err := l.Bind(cfg.BindDN, cfg.BindPassword); err != nil {
			b.logger.Warn("ldap login: re-bind as binddn failed", "binddn", cfg.BindDN, "error", err)
			return nil, logical.BadRequest("ldap operation failed: failed to re-bind with the BindDN user")
		}
	}
	if err := b.complete(ctx, cfg, l, username, u); err != nil {
		return nil, err
	}
	return u, nil
}

// complete fills in the user's DN for a UPN login, its entry when not read
// yet, and its LDAP groups, over l (bound as the service account or the
// user) or a fresh anonymous connection with anonymous_group_search.
func (b *backend) complete(ctx context.Context, cfg *config, l *conn, username string, u *directoryUser) error {
	if cfg.UPNDomain != "" {
		e, err := cfg.upnUser(l, username)
		if err != nil {
			b.logger.Debug("ldap: upn search", "error", err)
			return logical.BadRequest("LDAP search failed for detecting user")
		}
		u.dn, u.entry = e.DN, e
	}
	if u.entry == nil && !cfg.UsernameAsAlias {
		e, err := cfg.readEntry(l, u.dn, cfg.UserAttr)
		if err != nil && !errors.Is(err, errNotFound) {
			return logical.BadRequest("%s", err.Error())
		}
		u.entry = e
	}
	gl := l
	if cfg.AnonymousGroupSearch {
		var err error
		if gl, err = cfg.dial(ctx); err != nil {
			return logical.BadRequest("ldap operation failed: failed to connect to LDAP server")
		}
		defer gl.Close()
	}
	groups, err := cfg.groups(gl, u.dn, username)
	if err != nil {
		return logical.BadRequest("%s", err.Error())
	}
	u.groups = groups
	return nil
}

// mapped returns every group of the user (its local groups, then its LDAP
// groups) and the policies they and the user map to, sorted.
func (b *backend) mapped(ctx context.Context, s logical.Storage, cfg *config, username string, ldapGroups []string) ([]string, []string, error) {
	cs := cfg.CaseSensitiveNames
	u, err := b.user(ctx, s, canonical(username, cs))
	if err != nil {
		return nil, nil, err
	}
	var groups, policies []string
	if u != nil {
		groups = append(groups, u.Groups...)
		policies = append(policies, u.Policies...)
	}
	groups = append(groups, ldapGroups...)
	seen := map[string]bool{}
	out := groups[:0:0]
	for _, g := range groups {
		key := canonical(g, cs)
		if g == "" || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, g)
		grp, err := b.group(ctx, s, key)
		if err != nil {
			return nil, nil, err
		}
		if grp != nil {
			policies = append(policies, grp.Policies...)
		}
	}
	return out, mergePolicies(nil, policies), nil
}

// mergePolicies appends add to base, sorted, without duplicates or blanks.
func mergePolicies(base, add []string) []string {
	out := slices.DeleteFunc(append(slices.Clone(base), add...), func(p string) bool { return p == "" })
	slices.Sort(out)
	return slices.Compact(out)
}

// renewLogin is the method's AuthRenew. The password is not kept, so the
// login is checked as far as the directory tells without it: the user is
// still found (as the service account, or anonymously) and still maps to
// the policies the token has; otherwise the renewal is refused and the
// user must log in again. The config's current TTLs apply.
func (b *backend) renewLogin(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	cfg, err := b.config(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, errNotConfigured
	}
	username := req.Auth.Metadata["username"]
	if username == "" {
		return nil, logical.BadRequest("the token carries no username; not renewing")
	}
	u, err := b.lookup(ctx, cfg, username)
	if err != nil {
		return nil, err
	}
	groups, policies, err := b.mapped(ctx, req.Storage, cfg, username, u.groups)
	if err != nil {
		return nil, err
	}
	if !tokenutil.EquivalentPolicies(mergePolicies(cfg.Policies, policies), req.Auth.TokenPolicies) {
		return nil, logical.BadRequest("policies have changed, not renewing")
	}
	auth := *req.Auth
	auth.LeaseDuration, auth.MaxTTL, auth.Period = cfg.TTL, cfg.MaxTTL, cfg.Period
	auth.GroupAliases = nil
	for _, g := range groups {
		auth.GroupAliases = append(auth.GroupAliases, &logical.Alias{Name: g})
	}
	return &logical.Response{Auth: &auth}, nil
}

// lookup finds a user and its groups without its password, bound as the
// service account (anonymously without binddn).
func (b *backend) lookup(ctx context.Context, cfg *config, username string) (*directoryUser, error) {
	l, err := cfg.dial(ctx)
	if err != nil {
		return nil, logical.BadRequest("%s", err.Error())
	}
	defer l.Close()
	if err := cfg.bindService(l); err != nil {
		b.logger.Warn("ldap renew: service bind failed", "binddn", cfg.BindDN, "error", err)
		return nil, logical.BadRequest("ldap operation failed: failed to bind with the BindDN user; not renewing")
	}
	gone := logical.BadRequest("user %q is no longer found in the directory; not renewing", username)
	u := &directoryUser{}
	switch {
	case cfg.searchesUser():
		e, err := cfg.searchUser(l, username)
		if errors.Is(err, errNotFound) {
			return nil, gone
		}
		if err != nil {
			return nil, logical.BadRequest("%s", err.Error())
		}
		u.dn, u.entry = e.DN, e
	case cfg.UPNDomain == "":
		u.dn = cfg.builtDN(username)
		e, err := cfg.readEntry(l, u.dn, cfg.UserAttr)
		if errors.Is(err, errNotFound) {
			return nil, gone
		}
		if err != nil {
			return nil, logical.BadRequest("%s", err.Error())
		}
		u.entry = e
	}
	if err := b.complete(ctx, cfg, l, username, u); err != nil {
		return nil, err
	}
	return u, nil
}
