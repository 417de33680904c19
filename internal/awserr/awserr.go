// Package awserr is Cairn's one table of AWS errors.
//
// Every error a client can see is declared here once: its AWS `__type`, its HTTP
// status and, for the errors whose wording real AWS fixes, its message. Handlers
// return *Error values; one edge function in package protocol writes them to the
// wire as {"__type": ..., "message": ...}. Anything that is not an *Error is an
// internal failure: the edge logs it and answers ServiceUnavailableException
// without leaking its text.
package awserr

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is an AWS error code, the `__type` member of an error response.
type Code string

// The error codes Cairn returns. The CloudWatch Logs ones come from the API
// model; the front-end ones (signature, token, throttling) are AWS's common errors.
const (
	ResourceNotFound       Code = "ResourceNotFoundException"
	ResourceAlreadyExists  Code = "ResourceAlreadyExistsException"
	InvalidParameter       Code = "InvalidParameterException"
	Validation             Code = "ValidationException"
	LimitExceeded          Code = "LimitExceededException"
	OperationAborted       Code = "OperationAbortedException"
	InvalidOperation       Code = "InvalidOperationException"
	MalformedQuery         Code = "MalformedQueryException"
	TooManyTags            Code = "TooManyTagsException"
	Throttling             Code = "ThrottlingException"
	AccessDenied           Code = "AccessDeniedException"
	ServiceUnavailable     Code = "ServiceUnavailableException"
	UnknownOperation       Code = "UnknownOperationException"
	SerializationException Code = "SerializationException"
	UnrecognizedClient     Code = "UnrecognizedClientException"
	InvalidSignature       Code = "InvalidSignatureException"
	IncompleteSignature    Code = "IncompleteSignatureException"
	MissingAuthToken       Code = "MissingAuthenticationTokenException"
	ExpiredToken           Code = "ExpiredTokenException"
	InvalidClientTokenID   Code = "InvalidClientTokenId"
	SignatureDoesNotMatch  Code = "SignatureDoesNotMatch"
	RequestExpired         Code = "RequestExpired"
	InvalidAction          Code = "InvalidAction"
	MalformedPolicy        Code = "MalformedPolicyDocument"
	PackedPolicyTooLarge   Code = "PackedPolicyTooLarge"
	RequestEntityTooLarge  Code = "RequestEntityTooLargeException"
	UnsupportedOperation   Code = "UnsupportedOperationException"
)

// Status is the HTTP status AWS sends with the code. CloudWatch Logs answers every
// client error with 400 and its server faults with 500.
func (c Code) Status() int {
	switch c {
	case ServiceUnavailable:
		return http.StatusInternalServerError
	case MissingAuthToken, InvalidClientTokenID, SignatureDoesNotMatch:
		// STS and the generic AWS front end answer these with 403.
		return http.StatusForbidden
	case RequestEntityTooLarge:
		return http.StatusRequestEntityTooLarge
	case UnsupportedOperation:
		return http.StatusBadRequest
	default:
		return http.StatusBadRequest
	}
}

// Error is an error a client sees.
type Error struct {
	Code    Code
	Message string
	// Extra holds additional response members some errors carry, such as
	// queryCompileError for MalformedQueryException.
	Extra map[string]any
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// New returns an error with the given code and message.
func New(code Code, format string, args ...any) *Error {
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

// The errors whose text real AWS fixes (see shared/reference/cloudwatch-logs-api.md
// §2.2). Keeping them as functions here means no handler spells them twice.

func GroupNotFound() *Error {
	return New(ResourceNotFound, "The specified log group does not exist.")
}

func StreamNotFound() *Error {
	return New(ResourceNotFound, "The specified log stream does not exist.")
}

func GroupExists() *Error {
	return New(ResourceAlreadyExists, "The specified log group already exists")
}

func StreamExists() *Error {
	return New(ResourceAlreadyExists, "The specified log stream already exists")
}

func InvalidToken() *Error {
	return New(InvalidParameter, "The specified nextToken is invalid.")
}

// ResourceLimitExceeded is AWS's LimitExceededException text for a quota of
// resources (subscription filters, resource policies, Live Tail sessions).
func ResourceLimitExceeded() *Error {
	return New(LimitExceeded, "Resource limit exceeded.")
}

// Constraint is AWS's validation-framework wording, used for every member that
// breaks a length, range or pattern constraint of the model, e.g.
// "1 validation error detected: Value '10001' at 'limit' failed to satisfy
// constraint: Member must have value less than or equal to 10000".
func Constraint(value, member, constraint string) *Error {
	return New(InvalidParameter, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

// Internal is what a client sees for any failure that is not its fault.
func Internal() *Error {
	return New(ServiceUnavailable, "The service cannot complete the request.")
}
