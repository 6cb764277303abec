package userpass

import (
	"context"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/tokenutil"
)

func (b *backend) pathUserPolicies() *logical.Path {
	all := map[string]*logical.FieldSchema{}
	tokenutil.Fields(all, "policies")
	return &logical.Path{
		Pattern: "users/" + nameRe + "/policies",
		Fields: map[string]*logical.FieldSchema{
			"username":       usernameField(),
			"token_policies": all["token_policies"],
			"policies":       all["policies"],
		},
		Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: b.updatePolicies},
		HelpSynopsis: "Replace a user's token policies.",
	}
}

func (b *backend) updatePolicies(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := username(d)
	defer b.lock(name)()
	u, err := b.user(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, logical.BadRequest("username does not exist")
	}
	// The path's schema holds only the policy fields: Parse touches
	// nothing else.
	if err := u.Params.Parse(d); err != nil {
		return nil, err
	}
	return nil, b.putUser(ctx, req.Storage, name, u)
}
