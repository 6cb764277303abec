package core

import (
	"context"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func (c *Core) keyPaths() []*logical.Path {
	return []*logical.Path{
		{
			Pattern: "key-status",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
					ks, err := c.barrier.KeyStatus()
					if err != nil {
						return nil, err
					}
					return &logical.Response{Data: map[string]any{
						"term":         ks.Term,
						"install_time": ks.InstallTime.UTC().Format(time.RFC3339Nano),
						"encryptions":  ks.Encryptions,
					}}, nil
				},
			},
		},
		{
			Pattern: "rotate",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: func(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
					term, err := c.barrier.Rotate(ctx)
					if err != nil {
						return nil, err
					}
					c.logger.Info("rotated the barrier key", "term", term)
					return nil, nil
				},
			},
		},
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
