package policy

import (
	"context"
	"errors"
	"strings"

	"github.com/strongbox/strongbox/internal/logical"
)

var policyFields = map[string]*logical.FieldSchema{
	"name":   {Type: logical.TypeString, Description: "policy name"},
	"policy": {Type: logical.TypeString, Description: "policy document (HCL or JSON)"},
	"rules":  {Type: logical.TypeString, Description: "deprecated alias of policy"},
}

// Paths serve sys/policy and sys/policies/acl. store returns the store of
// the current activation; changed runs after every write or delete (the
// kernel drops its cached ACLs).
func Paths(store func() *Store, changed func()) []*logical.Path {
	list := func(legacy bool) logical.OperationFunc {
		return func(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
			names, err := store().List(ctx)
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
			p, err := store().Get(ctx, name)
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
		err := store().Set(ctx, name, raw)
		changed()
		if err != nil {
			return nil, policyError(err)
		}
		return nil, nil
	}
	del := func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		err := store().Delete(ctx, strings.ToLower(d.Get("name").(string)))
		changed()
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
	if errors.Is(err, ErrInvalidPolicy) || errors.Is(err, logical.ErrInvalidRequest) {
		return logical.BadRequest("%v", err)
	}
	return err
}
