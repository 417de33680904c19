package awserr

// The control plane's errors: resource policies, vended-log deliveries,
// integrations, import tasks, the storage tier, ListLogGroups and the other
// reads of log group details. Texts quoted from recorded AWS answers say so
// (shared/reference/pipeline-and-control-plane.md); the rest are Cairn's, in
// AWS's style, where no source gives AWS's wording.

// PolicyTooLong: a resource policy document over AWS's 5,120-character
// quota. The wording is the one AWS services relay from CloudWatch Logs
// ("Policy document length breaking Cloudwatch Logs Constraints, either < 1
// or > 5120", API Gateway's answers quoted in aws-samples/retail-demo-store#646
// and sst#6231).
func PolicyTooLong(max int) *Error {
	return newError(InvalidParameter, "Policy document length breaking Cloudwatch Logs Constraints, either < 1 or > %d", max)
}

// PolicyNotPersistable: a resource policy document CloudWatch Logs cannot
// store (recorded for an invalid principal, terraform-provider-aws#32260).
func PolicyNotPersistable() *Error {
	return newError(InvalidParameter, "Could not convert to persistable policy.")
}

// PolicyNotFound: DeleteResourcePolicy of a name that has no policy
// (recorded: "Policy with name [non-existent] does not exist.").
func PolicyNotFound(name string) *Error {
	return newError(ResourceNotFound, "Policy with name [%s] does not exist.", name)
}

// ResourcePolicyNotFound: a resource-scoped policy that does not exist.
func ResourcePolicyNotFound(arn string) *Error {
	return newError(ResourceNotFound, "Policy for resource [%s] does not exist.", arn)
}

// PolicyNameRequired: PutResourcePolicy with neither policyName nor
// resourceArn (the model marks neither required; the documentation says the
// name is "required" for account policies).
func PolicyNameRequired() *Error {
	return newError(InvalidParameter, "policyName is required when resourceArn is not specified.")
}

// PolicyResourceARN: a resourceArn that is not a log group's ARN ("Currently
// only supports LogGroup ARN", the model).
func PolicyResourceARN(arn string) *Error {
	return newError(InvalidParameter, "Invalid resourceArn: %s. Only log group ARNs are supported.", arn)
}

// RevisionMismatch: a resource-scoped PutResourcePolicy or
// DeleteResourcePolicy whose expectedRevisionId is not the policy's current
// one (or is missing for an existing policy, or given for a new one). The
// model's code for a conflicting concurrent update is
// OperationAbortedException.
func RevisionMismatch() *Error {
	return newError(OperationAborted, "The expectedRevisionId does not match the current revision of the resource policy.")
}

// DeliverySourceNotFound, DeliveryDestinationNotFound, DeliveryNotFound:
// recorded texts.
func DeliverySourceNotFound() *Error {
	return newError(ResourceNotFound, "Requested Delivery Source does not exist in this account.")
}

func DeliveryDestinationNotFound() *Error {
	return newError(ResourceNotFound, "Requested Delivery Destination does not exist in this account.")
}

func DeliveryNotFound() *Error {
	return newError(ResourceNotFound, "Requested Delivery does not exist in this account.")
}

// ServiceInaccessible: PutDeliverySource of a resource whose service sends
// no vended logs (recorded for an S3 bucket ARN).
func ServiceInaccessible() *Error {
	return newError(ResourceNotFound, "Cannot access provided service.")
}

// Validation is one ValidationException with its text, for the newer
// operations' checks beyond the model.
func ValidationMessage(msg string) *Error {
	return newError(Validation, "%s", msg)
}

// ConflictMessage is a ConflictException with its text.
func ConflictMessage(msg string) *Error {
	return newError(Conflict, "%s", msg)
}

// QuotaExceeded is ServiceQuotaExceededException with its text.
func QuotaExceeded(msg string) *Error {
	return newError(ServiceQuotaExceeded, "%s", msg)
}

// InvalidParameterMessage is an InvalidParameterException with its text, for
// checks beyond the model in the classic operations.
func InvalidParameterMessage(msg string) *Error {
	return newError(InvalidParameter, "%s", msg)
}

// ResourceNotFoundMessage is a ResourceNotFoundException with its text.
func ResourceNotFoundMessage(msg string) *Error {
	return newError(ResourceNotFound, "%s", msg)
}

// InvalidOperationMessage is an InvalidOperationException with its text.
func InvalidOperationMessage(msg string) *Error {
	return newError(InvalidOperation, "%s", msg)
}

// IntegrationLimit: a PutIntegration beyond AWS's one integration per
// account ("currently you can have only one integration in your account";
// the model lists LimitExceededException; the text is Cairn's).
func IntegrationLimit(max int) *Error {
	return newError(LimitExceeded, "Resource limit exceeded: an account can have only %d integration.", max)
}

// IntegrationNotFound: Get/DeleteIntegration of a name that does not exist.
func IntegrationNotFound(name string) *Error {
	return newError(ResourceNotFound, "Integration %s does not exist.", name)
}

// S3TableIntegrationNotFound: an S3 Table integration ARN Cairn does not
// have (it has none: the integrations live in observability admin).
func S3TableIntegrationNotFound(arn string) *Error {
	return newError(ResourceNotFound, "S3 Table integration %s does not exist.", arn)
}

// S3TableIntegrationSourceNotFound: Disassociate of an association that does
// not exist.
func S3TableIntegrationSourceNotFound(id string) *Error {
	return newError(ResourceNotFound, "S3 Table integration source %s does not exist.", id)
}

// ImportSourceNotFound: CreateImportTask of a CloudTrail Lake event data
// store that does not exist (no CloudTrail Lake behind Cairn: every one).
func ImportSourceNotFound(arn string) *Error {
	return newError(ResourceNotFound, "Event data store %s does not exist.", arn)
}

// ImportTaskNotFound: Cancel/DescribeImportTaskBatches of an unknown import.
func ImportTaskNotFound(id string) *Error {
	return newError(ResourceNotFound, "Import task %s does not exist.", id)
}

// DataSourceNotFound: GetLogFields of a data source no log group has.
func DataSourceNotFound(name, typ string) *Error {
	return newError(ResourceNotFound, "Data source with name %s and type %s does not exist.", name, typ)
}

// LogObjectNotFound: GetLogObject of a pointer to no stored log object.
func LogObjectNotFound() *Error {
	return newError(ResourceNotFound, "The specified log object does not exist.")
}

// LookupTableNotFound: Get/Update/DeleteLookupTable of an ARN that names no
// table of the account (the text is Cairn's; AWS's is not recorded).
func LookupTableNotFound(arn string) *Error {
	return newError(ResourceNotFound, "Lookup table %s does not exist.", arn)
}

// LookupTableExists: CreateLookupTable of a name the account has.
func LookupTableExists(name string) *Error {
	return newError(ResourceAlreadyExists, "Lookup table %s already exists.", name)
}

// ScheduledQueryNotFound: an identifier that names no scheduled query of the
// account (the text is Cairn's; AWS's is not recorded).
func ScheduledQueryNotFound(name string) *Error {
	return newError(ResourceNotFound, "Scheduled query %s does not exist.", name)
}
