package core

import (
	"github.com/strongbox/strongbox/internal/core/raftops"
	"github.com/strongbox/strongbox/internal/logical"
)

// systemBackend builds the sys/ mount: the endpoints that need core state
// and a token. sys/init, sys/unseal, sys/seal-status, sys/health and
// sys/leader work while sealed, so the HTTP layer serves those directly.
func (c *Core) systemBackend() logical.Backend {
	var paths []*logical.Path
	paths = append(paths, c.mountPaths()...)
	paths = append(paths, c.authPaths()...)
	paths = append(paths, c.policyPaths()...)
	paths = append(paths, c.auditPaths()...)
	paths = append(paths, c.keyPaths()...)
	paths = append(paths, c.capabilityPaths()...)
	paths = append(paths, c.leasePaths()...)
	paths = append(paths, c.uiPaths()...)
	paths = append(paths, c.corsPaths()...)
	paths = append(paths, c.raftops.Paths()...)
	paths = append(paths, append(c.rotationPaths(), c.sealwrapPaths()...)...)
	if c.ha != nil {
		paths = append(paths, c.haStatusPaths()...)
	}
	return &logical.FrameworkBackend{
		Paths: paths,
		PathsSpecial: &logical.Paths{
			Unauthenticated: append([]string{"internal/ui/mounts", "internal/ui/mounts/*"}, raftops.UnauthenticatedPaths...),
			Root: append([]string{
				"audit", "audit/*", "auth/*", "rotate", "rotate/*", "seal",
				"step-down", "raw", "raw/*", "remount", "config/*", "leases/revoke-prefix/*", "revoke-prefix/*", "sealwrap/rewrap",
			}, raftops.RootPaths...),
		},
	}
}

// str and friends build field schemas tersely.
func str(desc string) *logical.FieldSchema {
	return &logical.FieldSchema{Type: logical.TypeString, Description: desc}
}
