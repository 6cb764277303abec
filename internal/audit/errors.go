package audit

import (
	"errors"

	"github.com/strongbox/strongbox/internal/logical"
)

// sentinel is an error value that callers branch on with errors.Is and that
// also matches a logical sentinel, so logical.StatusOf maps it without the
// HTTP layer knowing about audit.
type sentinel struct {
	msg  string
	also error
}

func (e *sentinel) Error() string { return e.msg }

// Is reports whether target is the logical sentinel this error stands for.
func (e *sentinel) Is(target error) bool { return e.also != nil && target == e.also }

var (
	// ErrInvalidConfig wraps every error caused by bad device options (a
	// missing file_path, an unparsable mode, an unknown format, a path that
	// cannot be opened). It matches logical.ErrInvalidRequest: a 400.
	ErrInvalidConfig error = &sentinel{msg: "invalid audit device configuration", also: logical.ErrInvalidRequest}

	// ErrAuditFailed is returned by the Broker when devices are enabled and
	// none of them recorded the entry. The core must not serve the request;
	// Vault answers 500 "internal error" and logs the cause.
	ErrAuditFailed = errors.New("no audit device succeeded in logging the entry")

	// ErrUnknownDevice is returned for a path with no registered device
	// (Vault: "unknown audit backend"). It matches logical.ErrInvalidRequest.
	ErrUnknownDevice error = &sentinel{msg: "unknown audit backend", also: logical.ErrInvalidRequest}

	// ErrAlreadyRegistered is returned by Broker.Register for a path in use.
	ErrAlreadyRegistered error = &sentinel{msg: "audit device already registered", also: logical.ErrInvalidRequest}

	// ErrClosed is returned by a device used after Close.
	ErrClosed = errors.New("audit device is closed")
)
