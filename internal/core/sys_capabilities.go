package core

import (
	"context"

	"github.com/strongbox/strongbox/internal/core/token"
	"github.com/strongbox/strongbox/internal/logical"
)

var capFields = map[string]*logical.FieldSchema{
	"token":    str("token to check"),
	"accessor": str("accessor of the token to check"),
	"path":     {Type: logical.TypeCommaStringSlice, Description: "deprecated: use paths"},
	"paths":    {Type: logical.TypeCommaStringSlice, Description: "paths to check"},
}

func (c *Core) capabilityPaths() []*logical.Path {
	return []*logical.Path{
		{Pattern: "capabilities", Fields: capFields, Operations: map[logical.Operation]logical.OperationFunc{
			logical.UpdateOperation: c.capabilities(func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*token.Entry, error) {
				return c.tokens.Lookup(ctx, d.Get("token").(string))
			})}},
		{Pattern: "capabilities-self", Fields: capFields, Operations: map[logical.Operation]logical.OperationFunc{
			logical.UpdateOperation: c.capabilities(func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*token.Entry, error) {
				tok := d.Get("token").(string)
				if tok == "" {
					tok = req.ClientToken
				}
				return c.tokens.Lookup(ctx, tok)
			})}},
		{Pattern: "capabilities-accessor", Fields: capFields, Operations: map[logical.Operation]logical.OperationFunc{
			logical.UpdateOperation: c.capabilities(func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*token.Entry, error) {
				acc := d.Get("accessor").(string)
				if acc == "" {
					return nil, logical.BadRequest("missing accessor")
				}
				return c.tokens.LookupAccessor(ctx, acc)
			})}},
	}
}

type entryFinder func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*token.Entry, error)

func (c *Core) capabilities(find entryFinder) logical.OperationFunc {
	return func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		paths := d.Get("paths").([]string)
		if len(paths) == 0 {
			paths = d.Get("path").([]string)
		}
		if len(paths) == 0 {
			return nil, logical.BadRequest("missing paths")
		}
		te, err := find(ctx, req, d)
		if err != nil {
			return nil, err
		}
		if te == nil {
			return nil, logical.BadRequest("invalid token")
		}
		acl, err := c.aclFor(ctx, te.Policies, c.resolveIdentity(te.EntityID))
		if err != nil {
			return nil, err
		}
		data := map[string]any{}
		var all []string
		for _, p := range paths {
			caps := acl.Capabilities(p)
			data[p] = caps
			all = append(all, caps...)
		}
		if len(paths) == 1 {
			data["capabilities"] = data[paths[0]]
		} else {
			data["capabilities"] = dedupe(all)
		}
		return &logical.Response{Data: data}, nil
	}
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
