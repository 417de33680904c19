package awserr

// The CloudWatch Logs service's errors. The texts real AWS fixes are quoted
// from shared/reference/cloudwatch-logs-api.md §2.2.

// GroupNotFound: a named log group does not exist.
func GroupNotFound() *Error {
	return New(ResourceNotFound, "The specified log group does not exist.")
}

// StreamNotFound: a named log stream does not exist.
func StreamNotFound() *Error {
	return New(ResourceNotFound, "The specified log stream does not exist.")
}

// GroupExists: CreateLogGroup of a name in use (AWS sends no final period).
func GroupExists() *Error {
	return New(ResourceAlreadyExists, "The specified log group already exists")
}

// StreamExists: CreateLogStream of a name in use (no final period either).
func StreamExists() *Error {
	return New(ResourceAlreadyExists, "The specified log stream already exists")
}

// InvalidToken: a nextToken this server did not issue, or issued for other
// parameters.
func InvalidToken() *Error {
	return New(InvalidParameter, "The specified nextToken is invalid.")
}

// mutuallyExclusive is AWS's one wording for two parameters that cannot be
// given together. Recorded answers (reference §2.2, §4): DescribeLogGroups
// "LogGroup name prefix and LogGroup name pattern are mutually exclusive
// parameters." and DescribeLogStreams "LogGroup name and LogGroup ARN are
// mutually exclusive parameters.".
const mutuallyExclusive = "%s and %s are mutually exclusive parameters."

// MutuallyExclusive refuses a request that gives both a and b, named as the
// operation's documentation names them, e.g. MutuallyExclusive("LogGroup name
// prefix", "LogGroup name pattern"). It is InvalidParameterException, the code
// AWS records for DescribeLogGroups and the model's code for every bad
// parameter; see GroupNameAndARN for the one recorded exception.
func MutuallyExclusive(a, b string) *Error {
	return New(InvalidParameter, mutuallyExclusive, a, b)
}

// GroupNameAndARN is DescribeLogStreams' refusal of logGroupName together
// with logGroupIdentifier: the same wording as MutuallyExclusive, but AWS
// answers it with ValidationException (recorded, reference §4
// DescribeLogStreams). The other operations that take both members
// (GetLogEvents, FilterLogEvents) have no recorded answer and use
// MutuallyExclusive("LogGroup name", "LogGroup ARN").
func GroupNameAndARN() *Error {
	return New(Validation, mutuallyExclusive, "LogGroup name", "LogGroup ARN")
}

// RateExceeded is AWS's answer to a call past a TPS quota, e.g.
// {"__type":"ThrottlingException","message":"Rate exceeded"} from
// DescribeLogStreams (maxbanton/cwh#120; reference §2.2). PutLogEvents once
// added "for logStreamName X" for its per-stream limit, which AWS removed.
func RateExceeded() *Error {
	return New(Throttling, "Rate exceeded")
}

// ResourceLimitExceeded is AWS's LimitExceededException text (reference
// §2.2: a third subscription filter, an eleventh resource policy); Cairn
// also uses it for concurrency quotas (Insights queries, Live Tail
// sessions), whose own wording AWS does not document.
func ResourceLimitExceeded() *Error {
	return New(LimitExceeded, "Resource limit exceeded.")
}
