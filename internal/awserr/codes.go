package awserr

import "net/http"

// Code is an AWS error code, the `__type` member of an error response.
type Code string

// The error codes Cairn returns. The CloudWatch Logs ones come from the API
// model; the front-end ones (signature, token, throttling) are AWS's common
// errors; the STS ones are the STS API reference's.
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
	RequestTimeout         Code = "RequestTimeoutException"
	// InternalFailure is the Query protocol's server fault (STS's
	// ServiceUnavailableException).
	InternalFailure Code = "InternalFailure"
	// The newer control-plane operations' codes (deliveries, import tasks,
	// S3 table integrations), from the API model.
	Conflict             Code = "ConflictException"
	ServiceQuotaExceeded Code = "ServiceQuotaExceededException"
	InternalServer       Code = "InternalServerException"
)

// spec is one row of the code table.
type spec struct {
	status int // HTTP status in the JSON protocols
	// query and queryStatus are the code's name and status in the STS Query
	// protocol; query is empty when STS sends the code under its JSON name
	// and status.
	query       string
	queryStatus int
}

// codes is the table of codes. It is never written.
//
// CloudWatch Logs answers every client error with 400 and its server faults
// with 500; the generic AWS front end answers missing and unknown credentials
// and bad signatures with 403. STS names its codes without the "Exception"
// suffix, answers validation of either kind as ValidationError and every
// refusal of credentials or signature with 403.
var codes = map[Code]spec{
	ResourceNotFound:       {status: http.StatusBadRequest},
	ResourceAlreadyExists:  {status: http.StatusBadRequest},
	InvalidParameter:       {status: http.StatusBadRequest, query: "ValidationError", queryStatus: http.StatusBadRequest},
	Validation:             {status: http.StatusBadRequest, query: "ValidationError", queryStatus: http.StatusBadRequest},
	LimitExceeded:          {status: http.StatusBadRequest},
	OperationAborted:       {status: http.StatusBadRequest},
	InvalidOperation:       {status: http.StatusBadRequest},
	MalformedQuery:         {status: http.StatusBadRequest},
	TooManyTags:            {status: http.StatusBadRequest},
	Throttling:             {status: http.StatusBadRequest, query: "Throttling", queryStatus: http.StatusBadRequest},
	AccessDenied:           {status: http.StatusBadRequest, query: "AccessDenied", queryStatus: http.StatusForbidden},
	ServiceUnavailable:     {status: http.StatusInternalServerError},
	UnknownOperation:       {status: http.StatusBadRequest},
	SerializationException: {status: http.StatusBadRequest},
	UnrecognizedClient:     {status: http.StatusBadRequest, query: "InvalidClientTokenId", queryStatus: http.StatusForbidden},
	InvalidSignature:       {status: http.StatusBadRequest, query: "SignatureDoesNotMatch", queryStatus: http.StatusForbidden},
	IncompleteSignature:    {status: http.StatusBadRequest, query: "IncompleteSignature", queryStatus: http.StatusBadRequest},
	MissingAuthToken:       {status: http.StatusForbidden, query: "MissingAuthenticationToken", queryStatus: http.StatusForbidden},
	ExpiredToken:           {status: http.StatusBadRequest, query: "ExpiredToken", queryStatus: http.StatusForbidden},
	InvalidClientTokenID:   {status: http.StatusForbidden, query: "InvalidClientTokenId", queryStatus: http.StatusForbidden},
	SignatureDoesNotMatch:  {status: http.StatusForbidden, query: "SignatureDoesNotMatch", queryStatus: http.StatusForbidden},
	RequestExpired:         {status: http.StatusBadRequest},
	InvalidAction:          {status: http.StatusBadRequest, query: "InvalidAction", queryStatus: http.StatusBadRequest},
	MalformedPolicy:        {status: http.StatusBadRequest, query: "MalformedPolicyDocument", queryStatus: http.StatusBadRequest},
	PackedPolicyTooLarge:   {status: http.StatusBadRequest, query: "PackedPolicyTooLarge", queryStatus: http.StatusBadRequest},
	RequestEntityTooLarge:  {status: http.StatusRequestEntityTooLarge},
	UnsupportedOperation:   {status: http.StatusBadRequest},
	RequestTimeout:         {status: http.StatusRequestTimeout},
	InternalFailure:        {status: http.StatusInternalServerError, query: "InternalFailure", queryStatus: http.StatusInternalServerError},
	Conflict:               {status: http.StatusBadRequest},
	ServiceQuotaExceeded:   {status: http.StatusBadRequest},
	InternalServer:         {status: http.StatusInternalServerError},
}

// Status is the HTTP status the JSON protocols send with the code. A code
// missing from the table (none is; a test checks) is a client error.
func (c Code) Status() int {
	if s, ok := codes[c]; ok {
		return s.status
	}
	return http.StatusBadRequest
}

// Query is the code's name and HTTP status in the STS Query protocol. A
// code STS has no name of its own for keeps its JSON name and status.
func (c Code) Query() (code string, status int) {
	if s, ok := codes[c]; ok && s.query != "" {
		return s.query, s.queryStatus
	}
	return string(c), c.Status()
}
