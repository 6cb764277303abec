package mount

import (
	"context"
	"strings"

	"github.com/strongbox/strongbox/internal/logical"
)

// uiPaths serve sys/internal/ui/mounts, which the official CLI uses to tell
// KV v1 from v2. The paths are unauthenticated, but a mount is shown only to
// a caller whose token reaches it (or when its listing_visibility is unauth).
func (m *Mounts) uiPaths() []*logical.Path {
	return []*logical.Path{
		{
			Pattern: "internal/ui/mounts",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: func(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
					secret, auth := map[string]any{}, map[string]any{}
					for _, e := range m.mounts.List() {
						if ok, err := m.mountVisible(ctx, req, e.Path, e); err != nil {
							return nil, err
						} else if ok {
							secret[e.Path] = mountInfo(e)
						}
					}
					for _, e := range m.auths.List() {
						if ok, err := m.mountVisible(ctx, req, "auth/"+e.Path, e); err != nil {
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
					rt, _ := m.router.Match(path)
					if rt == nil {
						return nil, logical.ErrPermissionDenied
					}
					ok, err := m.mountVisible(ctx, req, rt.Mount, rt.Entry)
					if err != nil {
						return nil, err
					}
					if !ok || req.ClientToken == "" {
						return nil, logical.ErrPermissionDenied
					}
					info := mountInfo(rt.Entry)
					info["path"] = rt.Mount
					return &logical.Response{Data: info}, nil
				},
			},
		},
	}
}

// mountVisible reports whether the caller may learn about the mount: its
// token has some capability at or below the mount path.
func (m *Mounts) mountVisible(ctx context.Context, req *logical.Request, mount string, e *Entry) (bool, error) {
	if e.Config.ListingVisibility == "unauth" {
		return true, nil
	}
	if len(req.Policies) == 0 {
		return false, nil
	}
	return m.host.HasAccessUnder(ctx, req.Policies, req.EntityID, mount)
}
