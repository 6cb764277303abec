package mount

import (
	"context"

	"github.com/strongbox/strongbox/internal/logical"
)

func (m *Mounts) authPaths() []*logical.Path {
	return []*logical.Path{
		{
			Pattern: "auth",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
					return &logical.Response{Data: mountsData(m.auths.List())}, nil
				},
			},
		},
		{
			Pattern: "auth/(?P<path>.+?)/tune",
			Fields:  tuneFields,
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation:   m.tuneRead(true),
				logical.UpdateOperation: m.tuneWrite(true),
			},
		},
		{
			Pattern: "auth/(?P<path>.+)",
			Fields:  mountFields,
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation:   m.mountRead(true),
				logical.UpdateOperation: m.mountEnable(true),
				logical.DeleteOperation: m.mountDisable(true),
			},
		},
	}
}
