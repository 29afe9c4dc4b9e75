package codepod

import (
	"errors"
	"fmt"
)

// Error codes. They are mapped to HTTP statuses once, at the API's edge.
const (
	EINVALID      = "invalid"      // the request is malformed or fails validation
	ENOTFOUND     = "not_found"    // the thing does not exist, or the caller may not see it
	ECONFLICT     = "conflict"     // the request clashes with current state (a duplicate name, a bad transition)
	EUNAUTHORIZED = "unauthorized" // no credential, or one that is wrong, expired or revoked
	EFORBIDDEN    = "forbidden"    // the caller is known but may not do this
	ETOOLARGE     = "too_large"    // a body or value over its limit
	EUNAVAILABLE  = "unavailable"  // a dependency (runner, agent) is not reachable right now
	ETIMEOUT      = "timeout"      // the operation did not finish in time
	EINTERNAL     = "internal"     // a bug or an unexpected failure; details are logged, not returned
)

// Error is an error with a code and a message fit for the user who caused it.
// Internal errors should not be wrapped in it: their text stays in the logs.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("codepod: %s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain,
// EINTERNAL for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the user-facing message of err: the *Error's message,
// or a generic text for internal errors (whose details must not leak).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
