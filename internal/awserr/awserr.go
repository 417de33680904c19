// Package awserr is Cairn's one table of AWS errors.
//
// Every error a client can see is declared here once. codes.go is the table
// of codes: each AWS `__type`, the HTTP status the JSON protocols send with it,
// and its name and status in the STS Query protocol. The other files are the
// table of messages, one constructor per error, grouped by who raises it:
// logs.go (the CloudWatch Logs service), request.go (the wire: bodies,
// serialization, model validation, quotas), signature.go (SigV4 and
// credentials) and sts.go (the Security Token Service). A constructor holds
// its message template; the fixed AWS texts live only there, so no handler
// spells one twice or words it differently. internal/lint checks that no
// package outside this one builds an *Error any other way.
//
// Handlers return *Error values; one edge function in package protocol (for
// the JSON protocol) or sts.WriteError (for the Query protocol) writes them
// to the wire. Anything that is not an *Error is an internal failure: the edge
// logs it and answers ServiceUnavailableException (InternalFailure in the
// Query protocol) without leaking its text.
package awserr

import (
	"errors"
	"fmt"
)

// Error is an error a client sees.
type Error struct {
	Code    Code
	Message string
	// Extra holds additional response members some errors carry, such as
	// queryCompileError for MalformedQueryException.
	Extra map[string]any
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// newError returns an error with the given code and message. It is the
// constructors' tool and unexported on purpose: every other package calls the
// constructor of the error it means.
func newError(code Code, format string, args ...any) *Error {
	if len(args) == 0 {
		return &Error{Code: code, Message: format}
	}
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// As reports whether err is, or wraps, an *Error, and returns it.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// Is reports whether err is an *Error with the given code.
func Is(err error, code Code) bool {
	e, ok := As(err)
	return ok && e.Code == code
}
