package core

import (
	"context"
	"strings"

	"github.com/strongbox/strongbox/internal/logical"
)

// leasePaths serves sys/leases/revoke-prefix (and its legacy name
// sys/revoke-prefix), which `token revoke -mode=path` calls. Strongbox's
// engines issue no leased secrets, so the leases under a prefix are the
// tokens created there.
func (c *Core) leasePaths() []*logical.Path {
	fields := map[string]*logical.FieldSchema{
		"prefix": str("creation path prefix of the leases (tokens) to revoke"),
		"sync":   {Type: logical.TypeBool, Default: true, Description: "accepted for compatibility; revocation is always synchronous"},
	}
	op := map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: c.revokePrefix}
	return []*logical.Path{
		{Pattern: "leases/revoke-prefix/(?P<prefix>.+)", Fields: fields, Operations: op},
		{Pattern: "revoke-prefix/(?P<prefix>.+)", Fields: fields, Operations: op},
	}
}

func (c *Core) revokePrefix(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	prefix := strings.TrimLeft(d.Get("prefix").(string), "/")
	if prefix == "" {
		return nil, logical.BadRequest("missing prefix")
	}
	n, err := c.tokens.RevokeByPathPrefix(ctx, prefix)
	if err != nil {
		return nil, err
	}
	c.logger.Info("revoked leases by prefix", "prefix", prefix, "tokens", n)
	return nil, nil
}
