package core

import (
	"context"
	"strings"

	"github.com/strongbox/strongbox/internal/logical"
)

// uiPaths serve sys/internal/ui/mounts, which the official CLI uses to tell
// KV v1 from v2. The paths are unauthenticated, but a mount is shown only to
// a caller whose token reaches it (or when its listing_visibility is unauth).
func (c *Core) uiPaths() []*logical.Path {
	return []*logical.Path{
		{
			Pattern: "internal/ui/mounts",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: func(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
					secret, auth := map[string]any{}, map[string]any{}
					for _, e := range c.mounts.list() {
						if ok, err := c.mountVisible(ctx, req, e.Path, e); err != nil {
							return nil, err
						} else if ok {
							secret[e.Path] = mountInfo(e)
						}
					}
					for _, e := range c.auths.list() {
						if ok, err := c.mountVisible(ctx, req, "auth/"+e.Path, e); err != nil {
							return nil, err
						} else if ok {
							auth[e.Path] = mountInfo(e)
						}
					}
					return &logical.Response{Data: map[string]any{"secret": secret, "auth": auth}}, nil
				},
			},
		},
		{
			Pattern: "internal/ui/mounts/(?P<path>.+)",
			Fields:  map[string]*logical.FieldSchema{"path": str("path within a mount")},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
					path := strings.TrimPrefix(d.Get("path").(string), "/")
					rt, _ := c.router.match(path)
					if rt == nil {
						return nil, logical.ErrPermissionDenied
					}
					ok, err := c.mountVisible(ctx, req, rt.mount, rt.entry)
					if err != nil {
						return nil, err
					}
					if !ok || req.ClientToken == "" {
						return nil, logical.ErrPermissionDenied
					}
					info := mountInfo(rt.entry)
					info["path"] = rt.mount
					return &logical.Response{Data: info}, nil
				},
			},
		},
	}
}

// mountVisible reports whether the caller may learn about the mount: its
// token has some capability at or below the mount path.
func (c *Core) mountVisible(ctx context.Context, req *logical.Request, mount string, e *MountEntry) (bool, error) {
	if e.Config.ListingVisibility == "unauth" {
		return true, nil
	}
	if len(req.Policies) == 0 {
		return false, nil
	}
	acl, err := c.acl(ctx, req.Policies)
	if err != nil {
		return false, err
	}
	return acl.HasAccessUnder(mount), nil
}
