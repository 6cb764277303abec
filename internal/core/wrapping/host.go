package wrapping

import (
	"context"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// Token is a wrapping token as the room sees it.
type Token struct {
	// ID is the token store's name of the token; it names its cubbyhole.
	ID       string
	Accessor string
	// CreationTime is when the token was created.
	CreationTime time.Time
	// Wrapping is true when the token holds only the response-wrapping
	// policy: only such a token unwraps.
	Wrapping bool
}

// Host is what the room needs from the kernel. Its methods are called
// during a request, with the kernel's state lock held for reading, and
// must not take that lock.
type Host interface {
	// CreateToken creates a wrapping token (policy response-wrapping, one
	// use, not renewable, an orphan) valid for ttl, created at path. It
	// returns the raw token, shown once, and the token.
	CreateToken(ctx context.Context, ttl time.Duration, path string) (string, *Token, error)
	// LookupToken returns the valid token a raw value names, nil when it
	// is unknown, revoked, expired or used up. The request that spent a
	// token's last use still finds it.
	LookupToken(ctx context.Context, raw string) (*Token, error)
	// SpendToken takes the single remaining use of a token given by a
	// third party (in a request body), so that no other request can use
	// it. ok is false when the token is no longer valid (another request
	// spent it first). revoke revokes the token and its cubbyhole; the
	// caller calls it once it has read the cubbyhole.
	SpendToken(ctx context.Context, raw string) (revoke func(context.Context), ok bool, err error)
	// Cubbyhole is the storage of the token's cubbyhole, nil when no
	// cubbyhole is mounted.
	Cubbyhole(tokenID string) logical.Storage
	// KeyStorage is the room's own storage, inside the barrier (the JWT
	// signing key).
	KeyStorage() logical.Storage
	// APIAddr is the address the node advertises to clients, named in
	// JWT wrapping tokens ("" when unknown).
	APIAddr() string
}
