package core

import (
	"context"
	"errors"
	"strings"

	"github.com/strongbox/strongbox/internal/core/policy"
	"github.com/strongbox/strongbox/internal/logical"
)

var policyFields = map[string]*logical.FieldSchema{
	"name":   str("policy name"),
	"policy": str("policy document (HCL or JSON)"),
	"rules":  str("deprecated alias of policy"),
}

func (c *Core) policyPaths() []*logical.Path {
	list := func(legacy bool) logical.OperationFunc {
		return func(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
			names, err := c.policies.List(ctx)
			if err != nil {
				return nil, err
			}
			data := map[string]any{"keys": names}
			if legacy {
				data["policies"] = names
			}
			return &logical.Response{Data: data}, nil
		}
	}
	read := func(legacy bool) logical.OperationFunc {
		return func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
			name := strings.ToLower(d.Get("name").(string))
			p, err := c.policies.Get(ctx, name)
			if err != nil {
				return nil, err
			}
			if p == nil {
				return nil, nil
			}
			data := map[string]any{"name": p.Name, "policy": p.Raw}
			if legacy {
				data["rules"] = p.Raw
			}
			return &logical.Response{Data: data}, nil
		}
	}
	write := func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		name := strings.ToLower(d.Get("name").(string))
		raw := d.Get("policy").(string)
		if raw == "" {
			raw = d.Get("rules").(string)
		}
		if strings.TrimSpace(raw) == "" {
			return nil, logical.BadRequest("'policy' parameter not supplied or empty")
		}
		err := c.policies.Set(ctx, name, raw)
		c.clearACLs()
		if err != nil {
			return nil, policyError(err)
		}
		return nil, nil
	}
	del := func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		err := c.policies.Delete(ctx, strings.ToLower(d.Get("name").(string)))
		c.clearACLs()
		if err != nil {
			return nil, policyError(err)
		}
		return nil, nil
	}
	return []*logical.Path{
		{Pattern: "policy/?", Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: list(true), logical.ListOperation: list(true)}},
		{Pattern: "policy/(?P<name>.+)", Fields: policyFields, Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: read(true), logical.UpdateOperation: write, logical.DeleteOperation: del}},
		{Pattern: "policies/acl/?", Operations: map[logical.Operation]logical.OperationFunc{
			logical.ListOperation: list(false)}},
		{Pattern: "policies/acl/(?P<name>.+)", Fields: policyFields, Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: read(false), logical.UpdateOperation: write, logical.DeleteOperation: del}},
	}
}

// policyError turns store errors about the user's input into 400s.
func policyError(err error) error {
	var ce *logical.CodedError
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, policy.ErrInvalidPolicy) || errors.Is(err, logical.ErrInvalidRequest) {
		return logical.BadRequest("%v", err)
	}
	return err
}
