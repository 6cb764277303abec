package core

import (
	"context"
	"errors"

	"github.com/strongbox/strongbox/internal/audit"
	"github.com/strongbox/strongbox/internal/core/mount"
	"github.com/strongbox/strongbox/internal/logical"
)

func (c *Core) auditPaths() []*logical.Path {
	return []*logical.Path{
		{
			Pattern: "audit",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
					data := map[string]any{}
					for _, e := range c.auditTable.List() {
						data[e.Path] = map[string]any{
							"type": e.Type, "description": e.Description, "options": e.Options,
							"path": e.Path, "local": e.Local,
						}
					}
					return &logical.Response{Data: data}, nil
				},
			},
		},
		{
			Pattern: "audit/(?P<path>.+)",
			Fields: map[string]*logical.FieldSchema{
				"path": str("device path"), "type": str("device type"), "description": str("description"),
				"options": {Type: logical.TypeKVPairs}, "local": {Type: logical.TypeBool},
			},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: c.auditEnable,
				logical.DeleteOperation: c.auditDisable,
			},
		},
		{
			Pattern: "audit-hash/(?P<path>.+)",
			Fields:  map[string]*logical.FieldSchema{"path": str("device path"), "input": str("value to hash")},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
					path, err := mount.NormalizePath(d.Get("path").(string))
					if err != nil {
						return nil, err
					}
					if c.auditTable.Find(path) == nil {
						return nil, logical.BadRequest("unknown audit backend %s", path)
					}
					h, err := c.audit.Hash(ctx, path, d.Get("input").(string))
					if err != nil {
						return nil, err
					}
					return &logical.Response{Data: map[string]any{"hash": h}}, nil
				},
			},
		},
	}
}

func (c *Core) auditEnable(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	path, err := mount.NormalizePath(d.Get("path").(string))
	if err != nil {
		return nil, err
	}
	typ := d.Get("type").(string)
	if typ == "" {
		return nil, logical.BadRequest("type is required")
	}
	if c.auditTable.Find(path) != nil {
		return nil, logical.BadRequest("path already in use")
	}
	opts := d.Get("options").(map[string]string)
	me := &mount.Entry{
		Path: path, Type: typ, Description: d.Get("description").(string), UUID: newUUID(),
		Options: opts, Local: d.Get("local").(bool),
	}
	dev, conf, err := c.newAuditDevice(ctx, me)
	if err != nil {
		if errors.Is(err, audit.ErrInvalidConfig) {
			return nil, logical.BadRequest("%v", err)
		}
		var ce *logical.CodedError
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, logical.BadRequest("audit device %q: %v", path, err)
	}
	if err := c.audit.Register(path, dev, conf); err != nil {
		_ = dev.Close()
		return nil, err
	}
	if err := c.auditTable.Save(ctx, me); err != nil {
		_ = c.audit.Deregister(path)
		return nil, err
	}
	c.logger.Info("enabled audit device", "path", path, "type", typ)
	return nil, nil
}

func (c *Core) auditDisable(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	path, err := mount.NormalizePath(d.Get("path").(string))
	if err != nil {
		return nil, err
	}
	me := c.auditTable.Find(path)
	if me == nil {
		return nil, nil
	}
	if err := c.auditTable.Remove(ctx, me.UUID); err != nil {
		return nil, err
	}
	if err := c.audit.Deregister(path); err != nil {
		c.logger.Warn("closing audit device failed", "path", path, "error", err)
	}
	if err := mount.NewView(c.barrier, systemPrefix+"audit/"+me.UUID+"/").Clear(ctx); err != nil {
		c.logger.Warn("clearing audit salt failed", "path", path, "error", err)
	}
	c.logger.Info("disabled audit device", "path", path)
	return nil, nil
}
