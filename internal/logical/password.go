package logical

import (
	"context"
	"errors"
)

// ErrPasswordPolicyNotFound answers a GeneratePasswordFromPolicy naming a
// policy that sys/policies/password does not hold (a 400 for the caller).
var ErrPasswordPolicyNotFound = errors.New("password policy not found")

// PasswordGenerator is what a SystemView offers when the core keeps
// password policies (sys/policies/password): engines ask it by type
// assertion, so a test's StaticSystemView need not implement it.
type PasswordGenerator interface {
	// GeneratePasswordFromPolicy returns a new password from the named
	// policy; ErrPasswordPolicyNotFound when there is no such policy.
	// It reads storage: call it from a request or periodic handler.
	GeneratePasswordFromPolicy(ctx context.Context, policyName string) (string, error)
}
