package command

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Exit codes, as Vault's CLI uses them.
const (
	exitOK    = 0
	exitLocal = 1 // usage or local error
	exitAPI   = 2 // the server said no (or: sealed, not initialized, not found)
	// exitUnknownCommand is Vault's (and the shell's) code for a command
	// that does not exist.
	exitUnknownCommand = 127
)

// exitError ends a command with a code and a message for stderr. err, when
// set, is the cause (kept for errors.As, e.g. to find a curl string).
type exitError struct {
	code int
	msg  string
	err  error
}

func (e *exitError) Error() string { return e.msg }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is a code-1 error: bad arguments or flags.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitLocal, msg: fmt.Sprintf(format, args...)}
}

// localError is a code-1 error caused by err, printed as "msg: err".
func localError(err error, format string, args ...any) error {
	return &exitError{code: exitLocal, msg: fmt.Sprintf(format, args...) + ": " + err.Error(), err: err}
}

// apiError is a code-2 error caused by a failed request, printed as
// "msg: err" (err is usually the client's "Error making API request." text).
func apiError(err error, format string, args ...any) error {
	return &exitError{code: exitAPI, msg: fmt.Sprintf(format, args...) + ": " + err.Error(), err: err}
}

// apiErrorf is a code-2 error with only a message: "No value found at …".
func apiErrorf(format string, args ...any) error {
	return &exitError{code: exitAPI, msg: fmt.Sprintf(format, args...)}
}

// exitWith ends the command with code and no message (the output already
// said everything, e.g. `status` on a sealed server).
func exitWith(code int) error {
	if code == exitOK {
		return nil
	}
	return &exitError{code: code}
}

// clientError reports that the API client couldn't be built (bad TLS files,
// bad environment): code 2, like Vault.
func clientError(err error) error {
	return &exitError{code: exitAPI, msg: err.Error(), err: err}
}

// outputError turns a formatting failure (unknown -format, missing -field)
// into a code-1 error with the formatter's Vault-style message.
func outputError(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return &exitError{code: exitLocal, msg: err.Error(), err: err}
}

// argCount checks the number of positional arguments against [lo, hi]
// (hi < 0: unbounded) with Vault's messages.
func argCount(args []string, lo, hi int) error {
	expected := func() string {
		switch {
		case hi < 0:
			return fmt.Sprintf("at least %d", lo)
		case lo == hi:
			return fmt.Sprint(lo)
		default:
			return fmt.Sprintf("%d-%d", lo, hi)
		}
	}
	switch {
	case len(args) < lo:
		return usageErrorf("Not enough arguments (expected %s, got %d)", expected(), len(args))
	case hi >= 0 && len(args) > hi:
		return usageErrorf("Too many arguments (expected %s, got %d)", expected(), len(args))
	}
	return nil
}

// flagError rewrites pflag's messages in Vault's words, naming flags the way
// users type them (-name rather than --name).
func flagError(err error) error {
	msg := err.Error()
	if m := unknownShorthand.FindStringSubmatch(msg); m != nil {
		msg = "flag provided but not defined: " + m[1]
	} else if m := unknownFlag.FindStringSubmatch(msg); m != nil {
		msg = "flag provided but not defined: -" + m[1]
	} else {
		msg = strings.ReplaceAll(msg, "\"--", "\"-")
		msg = strings.ReplaceAll(msg, " --", " -")
	}
	return &exitError{code: exitLocal, msg: msg, err: err}
}

var (
	unknownShorthand = regexp.MustCompile(`^unknown shorthand flag: '.' in (-\S+)`)
	unknownFlag      = regexp.MustCompile(`^unknown flag: --(\S+)`)
)
