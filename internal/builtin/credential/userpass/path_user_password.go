package userpass

import (
	"context"

	"github.com/strongbox/strongbox/internal/logical"
)

func (b *backend) pathUserPassword() *logical.Path {
	fields := map[string]*logical.FieldSchema{"username": usernameField()}
	passwordFields(fields)
	return &logical.Path{
		Pattern:      "users/" + nameRe + "/password",
		Fields:       fields,
		Operations:   map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: b.updatePassword},
		HelpSynopsis: "Reset a user's password.",
	}
}

func (b *backend) updatePassword(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := username(d)
	defer b.lock(name)()
	u, err := b.user(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, logical.BadRequest("username does not exist")
	}
	changed, err := b.setPassword(u, d)
	if err != nil {
		return nil, err
	}
	if !changed {
		return nil, logical.BadRequest("missing password")
	}
	return nil, b.putUser(ctx, req.Storage, name, u)
}
