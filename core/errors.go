package core

import (
	"errors"
	"fmt"
)

// Error codes: the whole vocabulary. Transports map them to HTTP statuses,
// USSD screens or SMPP statuses in one place each.
const (
	EINVALID      = "invalid"      // the caller's input is wrong; the message says how
	ENOTFOUND     = "not_found"    // no such thing (or the caller may not know it exists)
	ECONFLICT     = "conflict"     // the request contradicts stored state
	EUNAUTHORIZED = "unauthorized" // no or bad credentials
	EFORBIDDEN    = "forbidden"    // credentials fine, action not allowed
	ERATELIMIT    = "rate_limited" // a cap or cool-down applies; try later
	ETOOLARGE     = "too_large"    // body, batch or text over a limit
	EUNAVAILABLE  = "unavailable"  // a dependency is down or shutting down; retry
	EINTERNAL     = "internal"     // a bug or an unexpected failure; never shown in detail
)

// Error is an error with a code from the vocabulary above and a message safe
// to show to the caller. Err, if set, is the underlying cause (for logs).
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
// A %w verb in format wraps its argument as the cause.
func Errorf(code, format string, args ...any) *Error {
	wrapped := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: wrapped.Error(), Err: errors.Unwrap(wrapped)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err: the *Error's message,
// or a generic text for errors that are not *Error (internal details stay in logs).
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
