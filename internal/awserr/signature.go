package awserr

import (
	"fmt"
	"strings"
)

// The errors of SigV4 verification and of credentials. The texts are AWS's
// own, as its front end sends them (trailing spaces included); times are in
// SigV4's basic format (20060102T150405Z).

// MissingToken: a request with no credentials at all.
func MissingToken() *Error {
	return newError(MissingAuthToken, "Missing Authentication Token")
}

// SignatureMismatch: the signature is not the one the secret makes.
func SignatureMismatch() *Error {
	return newError(InvalidSignature, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
}

// TwoAuthMechanisms: an Authorization header and a presigned query together.
func TwoAuthMechanisms() *Error {
	return newError(IncompleteSignature, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")
}

// AuthorizationIncomplete: an Authorization header lacking parts; missing
// holds AWS's sentence for each (see the Requires* texts), header the header
// as sent.
func AuthorizationIncomplete(missing []string, header string) *Error {
	return newError(IncompleteSignature, "%s Authorization=%s", strings.Join(missing, " "), header)
}

// RequiresParameter is AWS's sentence for a part (Credential, Signature,
// SignedHeaders) missing from an Authorization header.
func RequiresParameter(part string) string {
	return fmt.Sprintf("Authorization header requires '%s' parameter.", part)
}

// RequiresDate is AWS's sentence for an Authorization header with neither
// date header.
const RequiresDate = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."

// PresignIncomplete: a presigned query lacking parameters, each quoted.
func PresignIncomplete(missing []string) *Error {
	return newError(IncompleteSignature, "AWS query-string parameters must include %s. Re-examine the query-string parameters.", strings.Join(missing, ", "))
}

// UnsupportedAlgorithm: any algorithm but AWS4-HMAC-SHA256.
func UnsupportedAlgorithm(alg string) *Error {
	return newError(IncompleteSignature, "Unsupported AWS 'algorithm': '%s'.", alg)
}

// AuthorizationPair: a part of the Authorization header without '='.
func AuthorizationPair(part, header string) *Error {
	return newError(IncompleteSignature, "'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", part, header)
}

// PresignExpires: X-Amz-Expires out of range or not a number.
func PresignExpires(max int, got string) *Error {
	return newError(IncompleteSignature, "X-Amz-Expires must be an integer between 1 and %d (seconds), not '%s'.", max, got)
}

// DateFormat: X-Amz-Date (or Date) that does not parse.
func DateFormat(got string) *Error {
	return newError(IncompleteSignature, "Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", got)
}

// CredentialElements: a credential that is not keyid/date/region/service/term.
func CredentialElements(credential string) *Error {
	return newError(IncompleteSignature, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", credential)
}

// CredentialTerminator: a scope that does not end in want (aws4_request).
func CredentialTerminator(want, got string) *Error {
	return newError(InvalidSignature, "Credential should be scoped with a valid terminator: '%s', not '%s'. ", want, got)
}

// CredentialRegion: a scope whose region is not a region name.
func CredentialRegion(region string) *Error {
	return newError(InvalidSignature, "Credential should be scoped to a valid region, not '%s'. ", region)
}

// CredentialDate: a scope whose date is not YYYYMMDD.
func CredentialDate(date string) *Error {
	return newError(InvalidSignature, "Invalid credential date '%s'. It must be in YYYYMMDD format.", date)
}

// CredentialService: a scope for another service than the endpoint's.
func CredentialService(service string) *Error {
	return newError(InvalidSignature, "Credential should be scoped to correct service: '%s'. ", service)
}

// CredentialDateMismatch: the scope's date is not the request time's.
func CredentialDateMismatch(scope, want, requestTime string) *Error {
	return newError(InvalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", scope, want, requestTime)
}

// SignatureNotYetCurrent: a request time more than 15 minutes ahead.
func SignatureNotYetCurrent(ts, limit, now string) *Error {
	return newError(InvalidSignature, "Signature not yet current: %s is still later than %s (%s + 15 min.)", ts, limit, now)
}

// SignatureExpired: a request time more than 15 minutes behind.
func SignatureExpired(ts, limit, now string) *Error {
	return newError(InvalidSignature, "Signature expired: %s is now earlier than %s (%s - 15 min.)", ts, limit, now)
}

// PresignExpired: a presigned request past its X-Amz-Expires; AWS keeps the
// clock-skew wording and names the window.
func PresignExpired(ts, limit, now string, seconds int) *Error {
	return newError(InvalidSignature, "Signature expired: %s is now earlier than %s (%s - %d sec.)", ts, limit, now, seconds)
}

// HostUnsigned: SignedHeaders without host (AWS's rule and text).
func HostUnsigned() *Error {
	return newError(InvalidSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
}

// TargetUnsigned: SignedHeaders without X-Amz-Target on a request that sends
// it. AWS publishes no text for this; it is AWS's Host sentence with the
// header's name (see sigv4's checkSignedHeaders for why the rule exists).
func TargetUnsigned() *Error {
	return newError(InvalidSignature, "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.")
}

// StreamingPayload: a chunked (STREAMING-*) payload signature, which Cairn
// does not implement.
func StreamingPayload(declared string) *Error {
	return newError(InvalidSignature, "Streaming (chunked) payload signing '%s' is not supported.", declared)
}

// PayloadHashMismatch: x-amz-content-sha256 is not the body's hash.
func PayloadHashMismatch() *Error {
	return newError(InvalidSignature, "The provided 'x-amz-content-sha256' header does not match what was computed.")
}

// InvalidSecurityToken: an unknown access key or a session token that does
// not open.
func InvalidSecurityToken() *Error {
	return newError(UnrecognizedClient, "The security token included in the request is invalid.")
}

// SecurityTokenExpired: a session token past its expiry (no final period,
// as AWS sends it).
func SecurityTokenExpired() *Error {
	return newError(ExpiredToken, "The security token included in the request is expired")
}

// InvalidBearerToken: an Authorization: Bearer key that no IAM user holds,
// or one that has expired. AWS's text for its HTTP endpoints is not
// recorded; this is the SigV4 front end's unknown-key wording.
func InvalidBearerToken() *Error {
	return newError(UnrecognizedClient, "The security token included in the request is invalid.")
}

// BearerTokenNotEnabled: a bearer key used on a group without bearer-token
// authentication (PutBearerTokenAuthentication), or on an operation a key
// cannot call (only PutLogEvents and the OTLP endpoint take one).
func BearerTokenNotEnabled(what string) *Error {
	return newError(AccessDenied, "Bearer token authentication is not enabled for %s.", what)
}
