package core

import (
	"context"

	"github.com/strongbox/strongbox/internal/logical"
)

func (c *Core) keyPaths() []*logical.Path {
	return []*logical.Path{
		{
			Pattern: "seal",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: func(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
					afterRequest(ctx, postSeal)
					return nil, nil
				},
			},
		},
		{
			// Without HA there is no one to step down to; Vault answers 204.
			Pattern: "step-down",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: func(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
					if c.ha != nil {
						afterRequest(ctx, postStepDown)
					}
					return nil, nil
				},
			},
		},
	}
}
