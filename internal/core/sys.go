package core

import (
	"slices"

	"github.com/strongbox/strongbox/internal/core/expiration"
	"github.com/strongbox/strongbox/internal/core/raftops"
	"github.com/strongbox/strongbox/internal/core/wrapping"
	"github.com/strongbox/strongbox/internal/logical"
)

// systemBackend builds the sys/ mount: the endpoints that need core state
// and a token. sys/init, sys/unseal, sys/seal-status, sys/health and
// sys/leader work while sealed, so the HTTP layer serves those directly.
func (c *Core) systemBackend() logical.Backend {
	var paths []*logical.Path
	paths = append(paths, c.mounts.Paths()...)
	paths = append(paths, c.policyPaths()...)
	paths = append(paths, c.passwordPolicyPaths()...)
	paths = append(paths, c.auditPaths()...)
	paths = append(paths, c.keyPaths()...)
	paths = append(paths, c.capabilityPaths()...)
	paths = append(paths, c.expiration.Paths()...)
	paths = append(paths, c.corsPaths()...)
	paths = append(paths, c.raftops.Paths()...)
	paths = append(paths, c.keyops.Paths()...)
	paths = append(paths, c.wrapping.Paths()...)
	paths = append(paths, c.lockout.Paths()...)
	if c.ha != nil {
		paths = append(paths, c.haNode.Paths()...)
	}
	return &logical.FrameworkBackend{
		Paths: paths,
		PathsSpecial: &logical.Paths{
			Unauthenticated: slices.Concat(c.mounts.UnauthenticatedPaths(), raftops.UnauthenticatedPaths, wrapping.UnauthenticatedPaths),
			Root: slices.Concat(c.mounts.RootPaths(), c.keyops.RootPaths(), raftops.RootPaths, expiration.RootPaths, []string{
				"audit", "audit/*", "seal", "step-down", "raw", "raw/*", "config/*",
			}),
		},
	}
}

// str and friends build field schemas tersely.
func str(desc string) *logical.FieldSchema {
	return &logical.FieldSchema{Type: logical.TypeString, Description: desc}
}
