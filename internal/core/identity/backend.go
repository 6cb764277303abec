package identity

import (
	"slices"

	"github.com/strongbox/strongbox/internal/logical"
)

// Backend is the identity/ mount's backend over the store. The kernel
// mounts it once per activation.
func (s *Store) Backend() logical.Backend {
	return &logical.FrameworkBackend{
		Paths: slices.Concat(
			s.entityPaths(), s.entityAliasPaths(), s.groupPaths(), s.groupAliasPaths(), s.lookupPaths(),
		),
		PathsSpecial: &logical.Paths{},
	}
}
