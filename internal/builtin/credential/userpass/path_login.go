package userpass

import (
	"context"

	"golang.org/x/crypto/bcrypt"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/tokenutil"
)

// dummyHash is compared against when the user does not exist, so that an
// unknown user costs the same bcrypt work (cost 10, Vault's and ours) as a
// wrong password: the answer's timing does not tell which users exist. No
// one knows a password that matches it, and a match would not log anyone
// in anyway.
var dummyHash = []byte("$2a$10$MssV1JxfrG9sqfCcaBOjEuWCXHUkNPMNe8syfAdlk93ov9lBCYct.")

// errInvalidCredentials is Vault's answer to a wrong password and to an
// unknown user alike.
var errInvalidCredentials = logical.InvalidCredentials("invalid username or password")

func (b *backend) pathLogin() *logical.Path {
	return &logical.Path{
		Pattern: "login/" + nameRe,
		Fields: map[string]*logical.FieldSchema{
			"username": usernameField(),
			"password": {Type: logical.TypeString, Description: "The user's password."},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.UpdateOperation:         b.login,
			logical.AliasLookaheadOperation: b.loginAlias,
		},
		HelpSynopsis: "Log in with a username and password.",
	}
}

// loginAlias names the alias a login asks for (the lowercased username),
// without checking anything, for the core's user lockout.
func (b *backend) loginAlias(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	return &logical.Response{Auth: &logical.Auth{Alias: &logical.Alias{Name: username(d)}}}, nil
}

func (b *backend) login(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := username(d)
	password := d.Get("password").(string)
	if password == "" {
		return nil, logical.BadRequest("missing password")
	}
	u, err := b.user(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	hash := dummyHash
	if u != nil {
		hash = u.PasswordHash
	}
	if err := bcrypt.CompareHashAndPassword(hash, []byte(password)); err != nil || u == nil {
		return nil, errInvalidCredentials
	}
	if !tokenutil.ConnAllowed(req.Connection, u.BoundCIDRs) {
		return nil, logical.ErrPermissionDenied
	}
	auth := &logical.Auth{
		Metadata:    map[string]string{"username": name},
		DisplayName: name,
		Alias:       &logical.Alias{Name: name},
	}
	u.Params.PopulateAuth(auth)
	return &logical.Response{Auth: auth}, nil
}

// renewLogin is the method's AuthRenew: a login token is renewed only
// while its user exists with the policies the token was given, and under
// the user's current TTLs.
func (b *backend) renewLogin(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	name := req.Auth.Metadata["username"]
	if name == "" {
		return nil, logical.BadRequest("the token carries no username; not renewing")
	}
	u, err := b.user(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, logical.BadRequest("user %q no longer exists; not renewing", name)
	}
	if !tokenutil.EquivalentPolicies(u.Policies, req.Auth.TokenPolicies) {
		return nil, logical.BadRequest("policies have changed, not renewing")
	}
	auth := *req.Auth
	auth.LeaseDuration, auth.MaxTTL, auth.Period = u.TTL, u.MaxTTL, u.Period
	return &logical.Response{Auth: &auth}, nil
}
