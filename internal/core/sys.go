package core

import (
	"context"
	"slices"

	"github.com/strongbox/strongbox/internal/core/diag"
	"github.com/strongbox/strongbox/internal/core/expiration"
	"github.com/strongbox/strongbox/internal/core/policy"
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
	paths = append(paths, policy.Paths(func() *policy.Store { return c.policies }, c.clearACLs)...)
	paths = append(paths, c.passwords.Paths()...)
	paths = append(paths, c.auditing.Paths()...)
	paths = append(paths, c.keyPaths()...)
	paths = append(paths, policy.CapabilityPaths(c.tokenACL)...)
	paths = append(paths, c.expiration.Paths()...)
	paths = append(paths, c.cors.Paths()...)
	paths = append(paths, c.raftops.Paths()...)
	paths = append(paths, c.keyops.Paths()...)
	paths = append(paths, c.wrapping.Paths()...)
	paths = append(paths, c.lockout.Paths()...)
	paths = append(paths, diag.MetricsPaths(c.conf.Metrics)...)
	paths = append(paths, diag.PprofPaths()...)
	paths = append(paths, diag.InFlightPaths(&c.inFlight)...)
	paths = append(paths, diag.ConfigStatePaths(c.conf.SanitizedConfig)...)
	paths = append(paths, diag.HostInfoPaths()...)
	if c.ha != nil {
		paths = append(paths, c.haNode.Paths()...)
	}
	return &logical.FrameworkBackend{
		Paths: paths,
		PathsSpecial: &logical.Paths{
			Unauthenticated: slices.Concat(c.mounts.UnauthenticatedPaths(), raftops.UnauthenticatedPaths, wrapping.UnauthenticatedPaths),
			Root: slices.Concat(c.mounts.RootPaths(), c.keyops.RootPaths(), raftops.RootPaths, expiration.RootPaths, diag.PprofRootPaths, []string{
				"audit", "audit/*", "seal", "step-down", "raw", "raw/*", "config/*",
			}),
		},
	}
}

// keyPaths serve sys/seal and sys/step-down: both act once the request's
// hold on the state lock is released.
func (c *Core) keyPaths() []*logical.Path {
	return []*logical.Path{
		{
			Pattern: "seal",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: func(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
					afterRequest(ctx, postSeal)
					return nil, nil
				},
			},
		},
		{
			// Without HA there is no one to step down to; Vault answers 204.
			Pattern: "step-down",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: func(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
					if c.ha != nil {
						afterRequest(ctx, postStepDown)
					}
					return nil, nil
				},
			},
		},
	}
}
