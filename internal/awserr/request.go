package awserr

import (
	"fmt"
	"strings"
	"time"
)

// The wire's errors: operations, bodies, serialization, model validation,
// capacity. Where AWS publishes no text (body limits, encodings), the wording
// is Cairn's, in AWS's style.

// NoOperation answers a request that names no operation at all (not a POST,
// or neither X-Amz-Target nor a form body).
func NoOperation() *Error {
	return newError(UnknownOperation, "Unknown operation")
}

// UnknownTarget answers an X-Amz-Target that names no operation of the API.
func UnknownTarget(target string) *Error {
	return newError(UnknownOperation, "Unknown operation %s", target)
}

// NotSupported answers an operation of the API model that Cairn does not
// implement yet.
func NotSupported(op string) *Error {
	return newError(InvalidOperation, "The operation %s is not supported by Cairn yet.", op)
}

// BodyUnreadable: the connection failed while the body was being read.
func BodyUnreadable() *Error {
	return newError(SerializationException, "Could not read the request body.")
}

// BodyTooLarge: the body, as sent or decompressed, is over the limit.
func BodyTooLarge(limit int64) *Error {
	return newError(RequestEntityTooLarge, "Request body exceeds the limit of %d bytes.", limit)
}

// BadGzip: Content-Encoding: gzip over a body that is not gzip.
func BadGzip() *Error {
	return newError(SerializationException, "The request body is not valid gzip.")
}

// UnsupportedEncoding: a Content-Encoding other than gzip or identity.
func UnsupportedEncoding(encoding string) *Error {
	return newError(SerializationException, "Unsupported Content-Encoding %q.", encoding)
}

// BodiesBusy refuses a request whose body found no room in the server's
// budget for request bodies. It is a capacity limit of the server, not the
// caller's quota (which is ThrottlingException), so it is the model's fault
// for "the service cannot complete the request"; SDKs retry it with backoff.
func BodiesBusy() *Error {
	return newError(ServiceUnavailable, "The server is receiving too many request bodies at once; retry the request.")
}

// BodyTimeout answers a body that did not arrive in time, as AWS front ends
// do with 408 RequestTimeoutException (Glacier's documented case: "times out
// while receiving the upload").
func BodyTimeout(limit time.Duration) *Error {
	return newError(RequestTimeout, "The request body did not arrive within %s.", limit)
}

// NotAnObject: the body is JSON but not an object (AWS's Jackson wording).
func NotAnObject() *Error {
	return newError(SerializationException, "Start of structure or map found where not expected.")
}

// DuplicateField: a member given twice; at is the path of the enclosing
// structure, empty at the top level.
func DuplicateField(name, at string) *Error {
	if at == "" {
		return newError(SerializationException, "Duplicate field '%s'", name)
	}
	return newError(SerializationException, "Duplicate field '%s' at '%s'", name, at)
}

// UnexpectedType: a member of the wrong JSON type; got is empty when the
// decoder does not say what it found.
func UnexpectedType(at, want, got string) *Error {
	if got == "" {
		return newError(SerializationException, "Unexpected value type at '%s': expected %s", at, want)
	}
	return newError(SerializationException, "Unexpected value type at '%s': expected %s, got %s", at, want, got)
}

// MalformedBody: a body that is not JSON; detail is the decoder's account.
func MalformedBody(detail string) *Error {
	return newError(SerializationException, "Malformed request body: %s", detail)
}

// Violation is one constraint of the model a member breaks, in AWS's
// validation-framework wording: "Value '10001' at 'limit' failed to satisfy
// constraint: Member must have value less than or equal to 10000".
type Violation struct {
	// Value is the value as AWS renders it: quoted ('10001'), null, or empty
	// where AWS leaves it out (STS's policy).
	Value      string
	Member     string // the member's path, e.g. logEvents.1.member.message
	Constraint string // e.g. "Member must not be null"
}

func (v Violation) String() string {
	if v.Value == "" {
		return fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", v.Member, v.Constraint)
	}
	return fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", v.Value, v.Member, v.Constraint)
}

// InvalidParameters is CloudWatch Logs' answer to a request that breaks the
// model's constraints: InvalidParameterException, listing every violation.
// There is at least one.
func InvalidParameters(vs ...Violation) *Error {
	return newError(InvalidParameter, "%s", violations(vs))
}

// ValidationFailed is the same list answered as ValidationException, as STS
// does (the Query protocol calls it ValidationError).
func ValidationFailed(vs ...Violation) *Error {
	return newError(Validation, "%s", violations(vs))
}

// AsValidation is e (a model violation list) answered as
// ValidationException, for operations whose model has no
// InvalidParameterException.
func AsValidation(e *Error) *Error {
	return newError(Validation, "%s", e.Message)
}

func violations(vs []Violation) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	if len(vs) == 1 {
		return "1 validation error detected: " + parts[0]
	}
	return fmt.Sprintf("%d validation errors detected: %s", len(vs), strings.Join(parts, "; "))
}

// Constraint is one violation of a value Cairn checks by hand, with the
// value quoted, e.g. Constraint("10001", "limit", "Member must have value
// less than or equal to 10000").
func Constraint(value, member, constraint string) *Error {
	return InvalidParameters(Violation{Value: "'" + value + "'", Member: member, Constraint: constraint})
}

// Internal is what a JSON-protocol client sees for any failure that is not
// its fault.
func Internal() *Error {
	return newError(ServiceUnavailable, "The service cannot complete the request.")
}

// QueryInternal is the same for the STS Query protocol.
func QueryInternal() *Error {
	return newError(InternalFailure, "The request processing has failed because of an unknown error, exception or failure.")
}

// InvalidUTF8 refuses a body holding a byte that is not UTF-8: the JSON
// protocol requires UTF-8, and replacing the byte would alias two names.
func InvalidUTF8(b byte, offset int) *Error {
	return newError(SerializationException, "Invalid UTF-8 byte 0x%02x at offset %d of the request body: JSON text must be UTF-8.", b, offset)
}

// LoneSurrogate refuses a \u escape of an unpaired UTF-16 surrogate, which
// encodes no character.
func LoneSurrogate(escape []byte, offset int) *Error {
	return newError(SerializationException, "Unpaired surrogate escape %s at offset %d of the request body: JSON text must encode Unicode characters.", escape, offset)
}
