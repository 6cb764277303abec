package policy

import (
	"context"

	"github.com/strongbox/strongbox/internal/logical"
)

// TokenACL returns the ACL of the token a capabilities request names: by
// its value, or by its accessor when accessor is set. A nil ACL means no
// such token.
type TokenACL func(ctx context.Context, token, accessor string) (*ACL, error)

var capFields = map[string]*logical.FieldSchema{
	"token":    {Type: logical.TypeString, Description: "token to check"},
	"accessor": {Type: logical.TypeString, Description: "accessor of the token to check"},
	"path":     {Type: logical.TypeCommaStringSlice, Description: "deprecated: use paths"},
	"paths":    {Type: logical.TypeCommaStringSlice, Description: "paths to check"},
}

// CapabilityPaths serve sys/capabilities, sys/capabilities-self and
// sys/capabilities-accessor: what a token may do on paths.
func CapabilityPaths(aclOf TokenACL) []*logical.Path {
	op := func(find func(req *logical.Request, d *logical.FieldData) (string, string, error)) map[logical.Operation]logical.OperationFunc {
		return map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: capabilities(aclOf, find)}
	}
	return []*logical.Path{
		{Pattern: "capabilities", Fields: capFields, Operations: op(func(_ *logical.Request, d *logical.FieldData) (string, string, error) {
			return d.Get("token").(string), "", nil
		})},
		{Pattern: "capabilities-self", Fields: capFields, Operations: op(func(req *logical.Request, d *logical.FieldData) (string, string, error) {
			if tok := d.Get("token").(string); tok != "" {
				return tok, "", nil
			}
			return req.ClientToken, "", nil
		})},
		{Pattern: "capabilities-accessor", Fields: capFields, Operations: op(func(_ *logical.Request, d *logical.FieldData) (string, string, error) {
			acc := d.Get("accessor").(string)
			if acc == "" {
				return "", "", logical.BadRequest("missing accessor")
			}
			return "", acc, nil
		})},
	}
}

func capabilities(aclOf TokenACL, find func(*logical.Request, *logical.FieldData) (string, string, error)) logical.OperationFunc {
	return func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		paths := d.Get("paths").([]string)
		if len(paths) == 0 {
			paths = d.Get("path").([]string)
		}
		if len(paths) == 0 {
			return nil, logical.BadRequest("missing paths")
		}
		tok, acc, err := find(req, d)
		if err != nil {
			return nil, err
		}
		acl, err := aclOf(ctx, tok, acc)
		if err != nil {
			return nil, err
		}
		if acl == nil {
			return nil, logical.BadRequest("invalid token")
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
