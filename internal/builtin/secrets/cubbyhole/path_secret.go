package cubbyhole

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/strongbox/strongbox/internal/logical"
)

// pathSecret is the whole of the engine: any path is a secret.
func pathSecret() *logical.Path {
	return &logical.Path{
		Pattern: "(?P<path>.*)",
		Fields:  map[string]*logical.FieldSchema{"path": {Type: logical.TypeString, Description: "Location of the secret."}},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   read,
			logical.UpdateOperation: write,
			logical.DeleteOperation: del,
			logical.ListOperation:   list,
		},
		ExistenceCheck: func(ctx context.Context, req *logical.Request, d *logical.FieldData) (bool, error) {
			e, err := req.Storage.Get(ctx, d.Get("path").(string))
			return e != nil, err
		},
		HelpSynopsis: "Per-token private secret storage: read and write arbitrary data.",
	}
}

func key(d *logical.FieldData) (string, error) {
	p := d.Get("path").(string)
	if p == "" || strings.HasSuffix(p, "/") {
		return "", logical.BadRequest("missing path")
	}
	return p, nil
}

func read(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	k, err := key(d)
	if err != nil {
		return nil, err
	}
	e, err := req.Storage.Get(ctx, k)
	if err != nil || e == nil {
		return nil, err
	}
	var data map[string]any
	if err := json.Unmarshal(e.Value, &data); err != nil {
		return nil, fmt.Errorf("cubbyhole: decode %s: %w", k, err)
	}
	return &logical.Response{Data: data}, nil
}

func write(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	k, err := key(d)
	if err != nil {
		return nil, err
	}
	if len(req.Data) == 0 {
		return nil, logical.BadRequest("missing data fields")
	}
	raw, err := json.Marshal(req.Data)
	if err != nil {
		return nil, logical.BadRequest("failed to encode data: %v", err)
	}
	return nil, req.Storage.Put(ctx, &logical.StorageEntry{Key: k, Value: raw})
}

func del(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	k, err := key(d)
	if err != nil {
		return nil, err
	}
	return nil, req.Storage.Delete(ctx, k)
}

func list(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	p := d.Get("path").(string)
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	keys, err := req.Storage.List(ctx, p)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}
