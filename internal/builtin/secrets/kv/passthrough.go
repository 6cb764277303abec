package kv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// passthrough is KV version 1: each path's data is one JSON object stored
// under the path itself; no versions, no metadata.
type passthrough struct {
	system logical.SystemView
	logger *slog.Logger
	secret *logical.SecretType
}

// secretTypeKV is the secret type of a version 1 read, as Vault's.
const secretTypeKV = "kv"

func newPassthrough(system logical.SystemView, logger *slog.Logger) logical.Backend {
	b := &passthrough{system: system, logger: logger}
	b.secret = &logical.SecretType{
		Type: secretTypeKV,
		// Renewing re-reads the secret, so the new TTL is its current
		// "ttl" field; reads issue no renewable leases today (Vault's
		// kv without lease generation), so this runs only if asked.
		Renew: b.renew,
		// Revoking a KV read has nothing to undo.
		Revoke: func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
			return nil, nil
		},
	}
	return &logical.FrameworkBackend{
		Secrets: []*logical.SecretType{b.secret},
		Paths: []*logical.Path{{
			Pattern: "(?P<path>.*)",
			Fields: map[string]*logical.FieldSchema{
				"path": {Type: logical.TypeString, Description: "Location of the secret."},
			},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation:   b.read,
				logical.CreateOperation: b.write,
				logical.UpdateOperation: b.write,
				logical.DeleteOperation: b.delete,
				logical.ListOperation:   b.list,
			},
			ExistenceCheck: b.exists,
			HelpSynopsis:   "Pass-through secret storage: read and write arbitrary data.",
		}},
	}
}

func (b *passthrough) exists(ctx context.Context, req *logical.Request, d *logical.FieldData) (bool, error) {
	e, err := req.Storage.Get(ctx, d.Get("path").(string))
	if err != nil {
		return false, fmt.Errorf("kv: existence check: %w", err)
	}
	return e != nil, nil
}

func (b *passthrough) read(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	return b.readKey(ctx, req, d.Get("path").(string))
}

// renew re-reads the secret at the path it was read from (req.Path of a
// renew is the lease's request path, relative to the mount).
func (b *passthrough) renew(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	resp, err := b.readKey(ctx, req, req.Path)
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, fmt.Errorf("%w: no secret at %q any more", logical.ErrNotFound, req.Path)
	}
	return resp, nil
}

func (b *passthrough) readKey(ctx context.Context, req *logical.Request, key string) (*logical.Response, error) {
	e, err := req.Storage.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("kv: read: %w", err)
	}
	if e == nil {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(e.Value))
	dec.UseNumber()
	data := map[string]any{}
	if err := dec.Decode(&data); err != nil {
		return nil, fmt.Errorf("kv: decode %q: %w", key, err)
	}

	// Version 1 issues no leases, but like Vault it reports a refresh
	// interval: the "ttl" (or legacy "lease") in the data, else the mount's
	// default lease TTL.
	ttl := b.defaultTTL(req)
	raw, ok := data["ttl"]
	if !ok {
		raw, ok = data["lease"]
	}
	if ok {
		if dur, err := logical.ParseDuration(raw); err == nil {
			ttl = dur
		}
	}
	resp := b.secret.Response(data, nil)
	resp.Secret.TTL, resp.Secret.Renewable = ttl, false
	return resp, nil
}

func (b *passthrough) defaultTTL(req *logical.Request) time.Duration {
	if req.MountConfig.DefaultLeaseTTL > 0 {
		return req.MountConfig.DefaultLeaseTTL
	}
	if b.system != nil {
		return b.system.DefaultLeaseTTL()
	}
	return 0
}

func (b *passthrough) write(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	key := d.Get("path").(string)
	if key == "" {
		return nil, logical.BadRequest("missing path")
	}
	if strings.HasSuffix(key, "/") {
		return nil, logical.BadRequest("path %q must not end in \"/\"", key)
	}
	if len(req.Data) == 0 {
		return nil, logical.BadRequest("missing data fields")
	}
	buf, err := json.Marshal(req.Data)
	if err != nil {
		return nil, logical.BadRequest("data cannot be encoded as JSON: %v", err)
	}
	if err := req.Storage.Put(ctx, &logical.StorageEntry{Key: key, Value: buf}); err != nil {
		return nil, fmt.Errorf("kv: write: %w", err)
	}
	return nil, nil
}

func (b *passthrough) delete(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	key := d.Get("path").(string)
	if key == "" {
		return nil, logical.BadRequest("missing path")
	}
	if err := req.Storage.Delete(ctx, key); err != nil {
		return nil, fmt.Errorf("kv: delete: %w", err)
	}
	return nil, nil
}

func (b *passthrough) list(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	prefix := d.Get("path").(string)
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	keys, err := req.Storage.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("kv: list: %w", err)
	}
	return listResponse(keys), nil
}
