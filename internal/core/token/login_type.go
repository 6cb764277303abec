package token

import (
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/tokenutil"
)

// LoginType settles the type of a login's token as Vault does: a
// mount set to "service" or "batch" decides alone; a mount set to a
// default ("default-service", the default, or "default-batch") gives its
// type to logins that ask for none ("default", or the mount's own
// default) and otherwise lets the role or user decide.
func LoginType(mountType, asked string) (string, error) {
	switch asked {
	case "", tokenutil.TypeDefault, tokenutil.TypeDefaultService, tokenutil.TypeDefaultBatch,
		tokenutil.TypeService, tokenutil.TypeBatch:
	default:
		return "", logical.BadRequest("invalid token type %q", asked)
	}
	switch mountType {
	case tokenutil.TypeService, tokenutil.TypeBatch:
		return mountType, nil
	case tokenutil.TypeDefaultBatch:
		switch asked {
		case "", tokenutil.TypeDefault, tokenutil.TypeDefaultBatch, tokenutil.TypeBatch:
			return TypeBatch, nil
		}
		return TypeService, nil
	case "", tokenutil.TypeDefaultService, tokenutil.TypeDefault:
		switch asked {
		case tokenutil.TypeBatch, tokenutil.TypeDefaultBatch:
			return TypeBatch, nil
		}
		return TypeService, nil
	}
	return "", logical.BadRequest("the auth mount has an invalid token_type %q", mountType)
}
