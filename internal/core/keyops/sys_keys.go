package keyops

import (
	"context"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// keyPaths are sys/key-status and sys/rotate (a new barrier key term now).
func (o *Ops) keyPaths() []*logical.Path {
	return []*logical.Path{
		{
			Pattern: "key-status",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
					ks, err := o.barrier.KeyStatus()
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
					term, err := o.barrier.Rotate(ctx)
					if err != nil {
						return nil, err
					}
					o.logger.Info("rotated the barrier key", "term", term)
					return nil, nil
				},
			},
		},
	}
}
