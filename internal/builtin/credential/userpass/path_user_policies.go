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
	// The path's schema holds only the policy fields: Parse touches
	// nothing else.
	return nil, b.updateUser(ctx, req, d, func(u *user) error { return u.Params.Parse(d) })
}
