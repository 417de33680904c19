package awserr

// The CloudWatch Logs service's errors. The texts real AWS fixes are quoted
// from shared/reference/cloudwatch-logs-api.md §2.2.

// GroupNotFound: a named log group does not exist.
func GroupNotFound() *Error {
	return newError(ResourceNotFound, "The specified log group does not exist.")
}

// StreamNotFound: a named log stream does not exist.
func StreamNotFound() *Error {
	return newError(ResourceNotFound, "The specified log stream does not exist.")
}

// GroupExists: CreateLogGroup of a name in use (AWS sends no final period).
func GroupExists() *Error {
	return newError(ResourceAlreadyExists, "The specified log group already exists")
}

// StreamExists: CreateLogStream of a name in use (no final period either).
func StreamExists() *Error {
	return newError(ResourceAlreadyExists, "The specified log stream already exists")
}

// InvalidToken: a nextToken this server did not issue, or issued for other
// parameters.
func InvalidToken() *Error {
	return newError(InvalidParameter, "The specified nextToken is invalid.")
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
	return newError(InvalidParameter, mutuallyExclusive, a, b)
}

// GroupNameAndARN is DescribeLogStreams' refusal of logGroupName together
// with logGroupIdentifier: the same wording as MutuallyExclusive, but AWS
// answers it with ValidationException (recorded, reference §4
// DescribeLogStreams). The other operations that take both members
// (GetLogEvents, FilterLogEvents) have no recorded answer and use
// MutuallyExclusive("LogGroup name", "LogGroup ARN").
func GroupNameAndARN() *Error {
	return newError(Validation, mutuallyExclusive, "LogGroup name", "LogGroup ARN")
}

// RateExceeded is AWS's answer to a call past a TPS quota, e.g.
// {"__type":"ThrottlingException","message":"Rate exceeded"} from
// DescribeLogStreams (maxbanton/cwh#120; reference §2.2). PutLogEvents once
// added "for logStreamName X" for its per-stream limit, which AWS removed.
func RateExceeded() *Error {
	return newError(Throttling, "Rate exceeded")
}

// ResourceLimitExceeded is AWS's LimitExceededException text (reference
// §2.2: a third subscription filter, an eleventh resource policy); Cairn
// also uses it for concurrency quotas (Insights queries, Live Tail
// sessions), whose own wording AWS does not document.
func ResourceLimitExceeded() *Error {
	return newError(LimitExceeded, "Resource limit exceeded.")
}

// The service's other refusals. Where the reference records AWS's text it is
// quoted; the rest are Cairn's, in AWS's style, and internal/logs' tests pin
// them.

// ReservedGroupName: CreateLogGroup of a name in AWS's own namespace.
func ReservedGroupName() *Error {
	return newError(InvalidParameter, "Log group names starting with 'aws/' are reserved for AWS.")
}

// DeletionProtected: DeleteLogGroup of a group with deletion protection.
func DeletionProtected(group string) *Error {
	return newError(OperationAborted, "Log group %s has deletion protection enabled and cannot be deleted.", group)
}

// DeliveryClassRetention: PutRetentionPolicy on a DELIVERY-class group.
func DeliveryClassRetention() *Error {
	return newError(InvalidParameter, "Retention policy cannot be changed for log groups of the DELIVERY class.")
}

// KMSResourceIdentifier: Associate/DisassociateKmsKey with a
// resourceIdentifier that is not an ARN.
func KMSResourceIdentifier() *Error {
	return newError(InvalidParameter, "resourceIdentifier must be a log group ARN or a query result ARN.")
}

// GroupRequired: neither logGroupName nor logGroupIdentifier.
func GroupRequired() *Error {
	return newError(InvalidParameter, "Either logGroupName or logGroupIdentifier must be specified.")
}

// InvalidGroupIdentifier: a logGroupIdentifier ARN that names no log group.
func InvalidGroupIdentifier(identifier string) *Error {
	return newError(InvalidParameter, "Invalid log group identifier: %s", identifier)
}

// OrderByWithPrefix: DescribeLogStreams ordered by LastEventTime with a
// prefix (the reference cites moto for the text).
func OrderByWithPrefix() *Error {
	return newError(InvalidParameter, "Cannot order by LastEventTime with a logStreamNamePrefix.")
}

// EventTooLarge: one PutLogEvents event over the per-event limit.
func EventTooLarge(size, limit int) *Error {
	return newError(InvalidParameter, "Log event too large: %d bytes exceeds limit of %d", size, limit)
}

// SamplesTooCostly: TestMetricFilter's messages are more than its pattern's
// regular expressions may read in one request (Cairn's bound, logs.RegexWork;
// AWS documents none).
func SamplesTooCostly(bytes, limit int) *Error {
	return newError(InvalidParameter, "Log event messages too large for the filter pattern's regular expressions: %d bytes exceeds limit of %d", bytes, limit)
}

// EventsOutOfOrder: a PutLogEvents batch not in chronological order.
func EventsOutOfOrder() *Error {
	return newError(InvalidParameter, "Log events in a single PutLogEvents request must be in chronological order.")
}

// BatchTooLarge: a PutLogEvents batch over the per-request limit.
func BatchTooLarge(size, limit int) *Error {
	return newError(InvalidParameter, "Upload too large: %d bytes exceeds limit of %d", size, limit)
}

// BatchSpansDay: a PutLogEvents batch whose events span more than 24 hours.
func BatchSpansDay() *Error {
	return newError(InvalidParameter, "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
}

// BackwardNeedsStartTime: GetLogEvents from the tail without a recent
// enough startTime.
func BackwardNeedsStartTime() *Error {
	return newError(InvalidParameter, "startFromHead=false requires a startTime on or after 2024-01-01T00:00:00Z.")
}

// PatternsUnavailable: a filter pattern on a server built without the
// pattern compiler.
func PatternsUnavailable() *Error {
	return newError(InvalidParameter, "Filter patterns are not available.")
}

// InvalidPattern: a filter pattern that does not compile; detail is the
// compiler's account.
func InvalidPattern(detail string) *Error {
	return newError(InvalidParameter, "%s", detail)
}

// LiveTailDisabled: StartLiveTail on a server without Live Tail.
func LiveTailDisabled() *Error {
	return newError(InvalidOperation, "Live Tail is not enabled on this server.")
}

// LiveTailStreamsNeedOneGroup: stream filters with other than one group.
func LiveTailStreamsNeedOneGroup() *Error {
	return newError(InvalidParameter, "logStreamNames and logStreamNamePrefixes can be specified only when logGroupIdentifiers contains exactly one log group.")
}

// ResourceMissing: a tagging ARN for a logs resource that does not exist.
func ResourceMissing() *Error {
	return newError(ResourceNotFound, "The specified resource does not exist.")
}

// InvalidResourceARN: a tagging ARN that is not a logs ARN.
func InvalidResourceARN(arn string) *Error {
	return newError(InvalidParameter, "Invalid resource ARN: %s", arn)
}

// TagLimit: tagging past the per-resource limit. AWS's
// TooManyTagsException carries the resource's name (model member
// resourceName).
func TagLimit(max int, resourceName string) *Error {
	e := newError(TooManyTags, "A resource can have no more than %d tags.", max)
	e.Extra = map[string]any{"resourceName": resourceName}
	return e
}

// InvalidTransformer refuses a transformer configuration (package transform
// says which rule). AWS does not publish these texts (ingest-processing.md
// §5 #22).
func InvalidTransformer(detail string) *Error {
	return newError(InvalidParameter, "%s", detail)
}

// TransformerClass: PutTransformer on a group that is not in the Standard
// class (the model: "You can create transformers only for the log groups in
// the Standard log class.").
func TransformerClass() *Error {
	return newError(InvalidOperation, "You can create transformers only for the log groups in the Standard log class.")
}

// TransformerNotFound: Get/DeleteTransformer on a group that has no
// group-level transformer (ingest-processing.md §2.1: ResourceNotFound; the
// text is Cairn's).
func TransformerNotFound() *Error {
	return newError(ResourceNotFound, "The specified log group does not have a transformer.")
}

// DetectorNotFound: an anomalyDetectorArn that names no detector.
func DetectorNotFound() *Error {
	return newError(ResourceNotFound, "The specified anomaly detector does not exist.")
}

// AnomalyNotFound: UpdateAnomaly of an anomalyId or patternId the detector
// has not reported.
func AnomalyNotFound() *Error {
	return newError(ResourceNotFound, "The specified anomaly does not exist.")
}

// InvalidAnomalyRequest refuses an anomaly-detection request AWS's model
// allows but AWS's documentation rules out (texts unpublished; Cairn's).
func InvalidAnomalyRequest(detail string) *Error {
	return newError(InvalidParameter, "%s", detail)
}

// VPCEndpointNotFound: a syslog configuration names a VPC endpoint this
// server does not have in the caller's account and region (AWS: "Missing
// group or VPC endpoint ⇒ ResourceNotFoundException"; its text is not
// recorded, this one says what is missing).
func VPCEndpointNotFound(id string) *Error {
	return newError(ResourceNotFound, "The specified VPC endpoint %s does not exist.", id)
}

// SyslogConfigurationNotFound: DeleteSyslogConfiguration of a group that has
// none (for that VPC endpoint).
func SyslogConfigurationNotFound() *Error {
	return newError(ResourceNotFound, "The specified syslog configuration does not exist.")
}

// The Logs Insights errors (reference insights.md §6–§7). AWS records only
// a few of these texts; the others are Cairn's, in AWS's style.

// QueryCompileError: a query that does not compile. AWS's
// MalformedQueryException carries queryCompileError with the location
// (0-based character offsets, end exclusive) and the compiler's message.
func QueryCompileError(start, end int, message string) *Error {
	e := newError(MalformedQuery, "%s", message)
	e.Extra = map[string]any{"queryCompileError": map[string]any{
		"location": map[string]any{"startCharOffset": start, "endCharOffset": end},
		"message":  message,
	}}
	return e
}

// QueryLanguageUnsupported: StartQuery with queryLanguage SQL or PPL.
func QueryLanguageUnsupported(lang string) *Error {
	return newError(InvalidParameter, "Query language %s is not supported by this server: only CWLI (Logs Insights QL) is.", lang)
}

// QueryGroupsRequired: StartQuery with none, or more than one, of
// logGroupName, logGroupNames and logGroupIdentifiers and no SOURCE.
func QueryGroupsRequired() *Error {
	return newError(InvalidParameter, "Exactly one of logGroupName, logGroupNames and logGroupIdentifiers must be specified, unless the query string has a SOURCE command.")
}

// QueryTooManyGroups: a query over more log groups than AWS's 50.
func QueryTooManyGroups(max int) *Error {
	return newError(InvalidParameter, "A query can search at most %d log groups.", max)
}

// QueryGroupARNWildcard: a logGroupIdentifiers ARN ending in "*".
func QueryGroupARNWildcard(id string) *Error {
	return newError(InvalidParameter, "Log group identifier %s must not end with '*'.", id)
}

// QueryGroupNotFound is StartQuery's answer for a missing group, as
// recorded from real AWS (reference insights.md §7, LocalStack snapshot of
// 2026-02), Java service wrapper and all.
func QueryGroupNotFound(name, account, requestID string) *Error {
	return newError(ResourceNotFound, "Log group '%s' does not exist for account ID '%s' (Service: AWSLogs; Status Code: 400; Error Code: ResourceNotFoundException; Request ID: %s; Proxy: null)", name, account, requestID)
}

// QueryEndBeforeStart: StartQuery with endTime before startTime.
func QueryEndBeforeStart() *Error {
	return newError(InvalidParameter, "endTime must be greater than or equal to startTime.")
}

// QueryNotFound: a queryId this account has no query for (never started,
// expired after 7 days, or dropped by a restart).
func QueryNotFound(id string) *Error {
	return newError(ResourceNotFound, "Query %s does not exist.", id)
}

// QueryNotRunning: StopQuery of a query that already ended (the model:
// "returns an error indicating that the specified query is not running";
// Grafana expects InvalidParameterException).
func QueryNotRunning(id string) *Error {
	return newError(InvalidParameter, "Query %s is not running.", id)
}

// InvalidLogRecordPointer: GetLogRecord of a pointer this server did not
// hand out, or one that was altered.
func InvalidLogRecordPointer() *Error {
	return newError(InvalidParameter, "The specified logRecordPointer is not valid.")
}

// LogRecordNotFound: a valid pointer whose event is gone (retention, the
// group or stream deleted).
func LogRecordNotFound() *Error {
	return newError(ResourceNotFound, "The specified log record does not exist.")
}

// QueryDefinitionNotFound: Put/DeleteQueryDefinition of an unknown id.
func QueryDefinitionNotFound() *Error {
	return newError(ResourceNotFound, "The specified query definition does not exist.")
}

// IndexPolicyNotFound: DeleteIndexPolicy on a group without one.
func IndexPolicyNotFound() *Error {
	return newError(ResourceNotFound, "The specified index policy does not exist.")
}

// InvalidIndexPolicy: a field index policy document AWS would refuse;
// detail says why.
func InvalidIndexPolicy(detail string) *Error {
	return newError(InvalidParameter, "Invalid policy document: %s", detail)
}
