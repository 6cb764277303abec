package diag

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/strongbox/strongbox/internal/hostinfo"
	"github.com/strongbox/strongbox/internal/logical"
)

// ConfigStatePaths serve sys/config/state/sanitized (sudo: it is under
// config/*, a root path).
// cfg is the sanitized configuration (nil: 404).
func ConfigStatePaths(cfg map[string]any) []*logical.Path {
	return []*logical.Path{{
		Pattern: "config/state/sanitized",
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
				if cfg == nil {
					return nil, logical.ErrNotFound
				}
				// A copy per answer: the pipeline (audit, wrapping) may
				// rewrite a response's data.
				b, err := json.Marshal(cfg)
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

// HostInfoPaths serve sys/host-info (read on it; Vault answers with what
// it could read and a warning for the rest).
func HostInfoPaths() []*logical.Path {
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
