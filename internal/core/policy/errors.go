package policy

import (
	"errors"
	"fmt"

	"github.com/strongbox/strongbox/internal/logical"
)

// Sentinel errors callers branch on with errors.Is. Every error this package
// returns for bad user input also matches logical.ErrInvalidRequest, so
// logical.StatusOf maps it to 400 with just the message, as Vault does.
var (
	// ErrInvalidPolicy: the policy text or a name does not parse or validate.
	ErrInvalidPolicy = errors.New("invalid policy")
	// ErrImmutablePolicy: the policy ("root") cannot be created or modified.
	ErrImmutablePolicy = errors.New("immutable policy")
	// ErrCannotDelete: the policy ("root", "default") cannot be deleted.
	ErrCannotDelete = errors.New("policy cannot be deleted")
)

// userError is a client mistake: its message is what the client sees, and it
// matches both its sentinel and logical.ErrInvalidRequest.
type userError struct {
	kind error
	msg  string
}

func (e *userError) Error() string { return e.msg }

func (e *userError) Unwrap() []error { return []error{e.kind, logical.ErrInvalidRequest} }

// invalidf returns an ErrInvalidPolicy error in Vault's "failed to parse
// policy: ..." shape.
func invalidf(format string, args ...any) error {
	return &userError{kind: ErrInvalidPolicy, msg: "failed to parse policy: " + fmt.Sprintf(format, args...)}
}

func userErrorf(kind error, format string, args ...any) error {
	return &userError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
