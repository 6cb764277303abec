package logical

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors the HTTP layer maps to Vault's status codes.
var (
	ErrInvalidRequest       = errors.New("invalid request")
	ErrPermissionDenied     = errors.New("permission denied")
	ErrNotFound             = errors.New("not found")
	ErrUnsupportedOperation = errors.New("unsupported operation")
	ErrUnsupportedPath      = errors.New("unsupported path")
	// ErrUnknownSecretType: a renew or revoke names a secret type the
	// backend does not declare (the engine dropped it, or the lease is not
	// the engine's). 400: the lease cannot be served as asked.
	ErrUnknownSecretType = errors.New("secret is unsupported by this backend")
	// ErrSealed: the node is sealed (503). Returned by the core and its
	// rooms; engines never see a sealed node.
	ErrSealed = errors.New("Vault is sealed")
	// ErrStandby: the node is an unsealed standby; the HTTP layer forwards
	// the request to the active node (or redirects the client there).
	ErrStandby = errors.New("node is a standby")
	// ErrInvalidCredentials marks a failed login (wrong password, unknown
	// user, bad secret ID): the core counts it toward the alias's user
	// lockout. Auth methods return it through InvalidCredentials, which
	// keeps their own 400 message.
	ErrInvalidCredentials = errors.New("invalid credentials")
)

// invalidCredentials is a 400 that is also ErrInvalidCredentials.
type invalidCredentials struct{ CodedError }

func (*invalidCredentials) Is(target error) bool { return target == ErrInvalidCredentials }

func (e *invalidCredentials) As(target any) bool {
	if p, ok := target.(**CodedError); ok {
		*p = &e.CodedError
		return true
	}
	return false
}

// InvalidCredentials is the 400 a login answers for credentials that do
// not hold (msg is the method's own, as Vault's: "invalid username or
// password"); errors.Is(err, ErrInvalidCredentials) reports it.
func InvalidCredentials(msg string) error {
	return &invalidCredentials{CodedError{Status: http.StatusBadRequest, Msg: msg}}
}

// CodedError carries the HTTP status the client should see.
type CodedError struct {
	Status int
	Msg    string
}

func (e *CodedError) Error() string { return e.Msg }

// Errorf returns a CodedError with the given status.
func Errorf(status int, format string, args ...any) error {
	return &CodedError{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// BadRequest is the common 400: the user's input is wrong.
func BadRequest(format string, args ...any) error {
	return Errorf(http.StatusBadRequest, format, args...)
}

// StatusOf maps an error to the status code and message the client sees.
// Unknown errors are internal: 500.
func StatusOf(err error) (int, string) {
	var ce *CodedError
	switch {
	case errors.As(err, &ce):
		return ce.Status, ce.Msg
	case errors.Is(err, ErrSealed):
		return http.StatusServiceUnavailable, "Vault is sealed"
	case errors.Is(err, ErrPermissionDenied):
		return http.StatusForbidden, "permission denied"
	case errors.Is(err, ErrInvalidRequest), errors.Is(err, ErrUnknownSecretType):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, ErrUnsupportedOperation):
		return http.StatusMethodNotAllowed, err.Error()
	case errors.Is(err, ErrUnsupportedPath), errors.Is(err, ErrNotFound):
		return http.StatusNotFound, err.Error()
	}
	return http.StatusInternalServerError, err.Error()
}
