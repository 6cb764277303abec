package core

import (
	"context"

	"github.com/strongbox/strongbox/internal/core/policy"
	"github.com/strongbox/strongbox/internal/core/token"
)

// tokenACL is the policy room's TokenACL: the ACL of a token named by its
// value or accessor, with its entity's identity policies.
func (c *Core) tokenACL(ctx context.Context, tok, accessor string) (*policy.ACL, error) {
	var te *token.Entry
	var err error
	if accessor != "" {
		te, err = c.tokens.LookupAccessor(ctx, accessor)
	} else {
		te, err = c.tokens.Lookup(ctx, tok)
	}
	if err != nil || te == nil {
		return nil, err
	}
	return c.aclFor(ctx, te.Policies, c.resolveIdentity(te.EntityID))
}
