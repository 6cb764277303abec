package core

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/strongbox/strongbox/internal/hostinfo"
	"github.com/strongbox/strongbox/internal/logical"
)

// configStatePaths serve sys/config/state/sanitized (sudo: it is under
// config/*, a root path).
func (c *Core) configStatePaths() []*logical.Path {
	return []*logical.Path{{
		Pattern: "config/state/sanitized",
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
				if c.conf.SanitizedConfig == nil {
					return nil, logical.ErrNotFound
				}
				// A copy per answer: the pipeline (audit, wrapping) may
				// rewrite a response's data.
				b, err := json.Marshal(c.conf.SanitizedConfig)
				if err != nil {
					return nil, fmt.Errorf("sanitized config: %w", err)
				}
				var data map[string]any
				if err := json.Unmarshal(b, &data); err != nil {
					return nil, fmt.Errorf("sanitized config: %w", err)
				}
				return &logical.Response{Data: data}, nil
			},
		},
	}}
}

// hostInfoPaths serve sys/host-info (read on it; Vault answers with what
// it could read and a warning for the rest).
func (c *Core) hostInfoPaths() []*logical.Path {
	return []*logical.Path{{
		Pattern: "host-info",
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
				data, errs := hostinfo.Collect()
				resp := &logical.Response{Data: data}
				for _, err := range errs {
					resp.Warnings = append(resp.Warnings, err.Error())
				}
				return resp, nil
			},
		},
	}}
}
