package core

import (
	"context"

	"github.com/strongbox/strongbox/internal/logical"
)

func (c *Core) authPaths() []*logical.Path {
	return []*logical.Path{
		{
			Pattern: "auth",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
					return &logical.Response{Data: mountsData(c.auths.list())}, nil
				},
			},
		},
		{
			Pattern: "auth/(?P<path>.+?)/tune",
			Fields:  tuneFields,
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation:   c.tuneRead(true),
				logical.UpdateOperation: c.tuneWrite(true),
			},
		},
		{
			Pattern: "auth/(?P<path>.+)",
			Fields:  mountFields,
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation:   c.mountRead(true),
				logical.UpdateOperation: c.mountEnable(true),
				logical.DeleteOperation: c.mountDisable(true),
			},
		},
	}
}
