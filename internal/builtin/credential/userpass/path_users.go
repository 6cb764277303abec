package userpass

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/tokenutil"
)

func usernameField() *logical.FieldSchema {
	return &logical.FieldSchema{Type: logical.TypeString, Description: "The user's name (stored lowercased)."}
}

func passwordFields(schema map[string]*logical.FieldSchema) {
	schema["password"] = &logical.FieldSchema{Type: logical.TypeString,
		Description: "The user's password; stored only as its bcrypt hash. Required at creation unless password_hash is given."}
	schema["password_hash"] = &logical.FieldSchema{Type: logical.TypeString,
		Description: "The user's password already hashed with bcrypt; exclusive with password."}
}

func (b *backend) pathUsersList() *logical.Path {
	return &logical.Path{
		Pattern:      "users/?",
		Operations:   map[logical.Operation]logical.OperationFunc{logical.ListOperation: b.listUsers},
		HelpSynopsis: "List the users.",
	}
}

func (b *backend) pathUsers() *logical.Path {
	fields := map[string]*logical.FieldSchema{"username": usernameField()}
	passwordFields(fields)
	tokenutil.Fields(fields, tokenutil.AllAliases...)
	return &logical.Path{
		Pattern: "users/" + nameRe,
		Fields:  fields,
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   b.readUser,
			logical.CreateOperation: b.writeUser,
			logical.UpdateOperation: b.writeUser,
			logical.DeleteOperation: b.deleteUser,
		},
		ExistenceCheck: b.userExists,
		HelpSynopsis:   "Create, read, update and delete users.",
	}
}

func (b *backend) userExists(ctx context.Context, req *logical.Request, d *logical.FieldData) (bool, error) {
	u, err := b.user(ctx, req.Storage, username(d))
	return u != nil, err
}

func (b *backend) listUsers(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	keys, err := req.Storage.List(ctx, userPrefix)
	if err != nil {
		return nil, fmt.Errorf("userpass: list users: %w", err)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

func (b *backend) readUser(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	u, err := b.user(ctx, req.Storage, username(d))
	if err != nil || u == nil {
		return nil, err
	}
	data := map[string]any{}
	u.Params.Data(data)
	return &logical.Response{Data: data}, nil
}

// writeUser creates or updates a user: only the fields given change. Every
// field is checked before anything is written.
func (b *backend) writeUser(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := username(d)
	defer b.lock(name)()
	u, err := b.user(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if u == nil {
		u = &user{}
	}
	next := *u
	if err := next.Params.Parse(d); err != nil {
		return nil, err
	}
	changed, err := b.setPassword(&next, d)
	if err != nil {
		return nil, err
	}
	if !changed && u.PasswordHash == nil {
		return nil, logical.BadRequest("missing password")
	}
	return nil, b.putUser(ctx, req.Storage, name, &next)
}

func (b *backend) deleteUser(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := username(d)
	defer b.lock(name)()
	if err := req.Storage.Delete(ctx, userPrefix+name); err != nil {
		return nil, fmt.Errorf("userpass: delete user: %w", err)
	}
	return nil, nil
}

// setPassword applies password or password_hash when one is given (they
// exclude each other) and reports whether it did. The password itself
// never leaves this function: only its bcrypt hash is kept.
func (b *backend) setPassword(u *user, d *logical.FieldData) (bool, error) {
	pw, havePW := d.GetOk("password")
	hash, haveHash := d.GetOk("password_hash")
	switch {
	case havePW && haveHash:
		return false, logical.BadRequest("only one of password or password_hash can be given")
	case havePW:
		if pw.(string) == "" {
			return false, logical.BadRequest("missing password")
		}
		h, err := bcrypt.GenerateFromPassword([]byte(pw.(string)), b.cost)
		if errors.Is(err, bcrypt.ErrPasswordTooLong) {
			return false, logical.BadRequest("password is too long: bcrypt takes at most 72 bytes")
		}
		if err != nil {
			return false, fmt.Errorf("userpass: hash password: %w", err)
		}
		u.PasswordHash = h
		return true, nil
	case haveHash:
		h := []byte(hash.(string))
		if _, err := bcrypt.Cost(h); err != nil {
			return false, logical.BadRequest("password_hash is not a bcrypt hash")
		}
		u.PasswordHash = h
		return true, nil
	}
	return false, nil
}
