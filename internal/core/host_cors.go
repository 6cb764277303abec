package core

import (
	"context"

	"github.com/strongbox/strongbox/internal/core/cors"
)

// CORS returns the stored CORS configuration (disabled when none is stored
// or the core is sealed and never read it).
func (c *Core) CORS(ctx context.Context) cors.Config {
	// Sealed takes the state lock; ask before the room takes its own.
	return c.cors.Get(ctx, c.Sealed())
}
