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
	return nil, b.updateUser(ctx, req, d, func(u *user) error {
		changed, err := b.setPassword(u, d)
		if err == nil && !changed {
			err = logical.BadRequest("missing password")
		}
		return err
	})
}

// updateUser changes an existing user with change, under the user's lock,
// and stores it; nothing is stored when change fails.
func (b *backend) updateUser(ctx context.Context, req *logical.Request, d *logical.FieldData, change func(*user) error) error {
	name := username(d)
	defer b.lock(name)()
	u, err := b.user(ctx, req.Storage, name)
	if err != nil {
		return err
	}
	if u == nil {
		return logical.BadRequest("username does not exist")
	}
	if err := change(u); err != nil {
		return err
	}
	return b.putUser(ctx, req.Storage, name, u)
}
