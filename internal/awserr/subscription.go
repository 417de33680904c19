package awserr

import "strings"

// The subscription-filter and destination errors (package
// logs/subscription). Texts are quoted from
// shared/reference/pipeline-and-control-plane.md §2–§3 with the grade the
// reference gives them; Cairn's own, where AWS's is unrecorded, say so.

// SubscriptionFilterNotFound: DeleteSubscriptionFilter of an unknown name [AWS].
func SubscriptionFilterNotFound() *Error {
	return newError(ResourceNotFound, "The specified subscription filter does not exist.")
}

// DestinationNotFound: a logs destination that does not exist (AWS's text is
// unrecorded; this follows the log-group wording).
func DestinationNotFound() *Error {
	return newError(ResourceNotFound, "The specified destination does not exist.")
}

// VendorNeedsRole: a Kinesis (recorded), Firehose (by analogy) or other
// non-Lambda vendor's destination (recorded for CloudFormation, see
// VendorUnsupported) without roleArn.
func VendorNeedsRole(vendor string) *Error {
	return newError(InvalidParameter, "destinationArn for vendor %s cannot be used without roleArn", vendor)
}

// VendorUnsupported: a destinationArn of a vendor a subscription cannot
// deliver to, given with a roleArn (without one AWS answers VendorNeedsRole
// first) [3p: both quoted from CloudFormation for a CloudFormation ARN,
// aws-samples/aws-centralize-logs-using-cdk#2].
func VendorUnsupported(vendor string) *Error {
	return newError(InvalidParameter, "PutSubscriptionFilter operation cannot work with destinationArn for vendor %s", vendor)
}

// VendorRefusesRole: a Lambda destination with a roleArn (troposphere#413).
func VendorRefusesRole(vendor string) *Error {
	return newError(InvalidParameter, "destinationArn for vendor %s cannot be used with roleArn", vendor)
}

// CrossAccountLambda: a Lambda function of another account [AWS].
func CrossAccountLambda() *Error {
	return newError(AccessDenied, "Cross-account lambda invocation passing is not allowed. You must use DestinationPolicies to create cross account lambda triggers.")
}

// CrossAccountTarget: a Kinesis or Firehose target of another account. AWS
// needs a logs destination for those; its text is unrecorded, so Cairn's
// says what to do, in the Lambda text's style.
func CrossAccountTarget(vendor string) *Error {
	return newError(AccessDenied, "Cross-account %s delivery is not allowed. You must use a CloudWatch Logs destination to deliver to another account.", vendor)
}

// DestinationDenied: the destination's access policy does not let the
// caller's account subscribe (CloudWatch2S3#24).
func DestinationDenied(account, arn string) *Error {
	return newError(AccessDenied, "User with accountId: %s is not authorized to perform: logs:PutSubscriptionFilter on resource: %s", account, arn)
}

// OrgPolicyNeedsRole: a destination whose access policy grants by
// aws:PrincipalOrgID, used without roleArn (cloud-custodian#8246).
func OrgPolicyNeedsRole() *Error {
	return newError(InvalidParameter, "Role ARN is required when creating subscription filter against destination with Organization access policy")
}

// InvalidDestinationARN: a destinationArn that is not an ARN, or a Lambda or
// logs ARN that names no function or destination (Cairn's text: AWS's is
// unrecorded).
func InvalidDestinationARN(arn string) *Error {
	return newError(InvalidParameter, "Invalid destinationArn: %s. It must be a Kinesis stream, Firehose delivery stream, Lambda function or CloudWatch Logs destination ARN.", arn)
}

// InvalidTargetARN: a PutDestination targetArn that is not a Kinesis stream
// or Firehose delivery stream, the only targets a destination has (Cairn's
// text: AWS's is unrecorded; it names what a destination accepts, which is
// less than what a subscription filter accepts).
func InvalidTargetARN(arn string) *Error {
	return newError(InvalidParameter, "Invalid targetArn: %s. It must be a Kinesis stream or Firehose delivery stream ARN.", arn)
}

// InvalidAccessPolicy: an accessPolicy that is not a JSON policy document
// (Cairn's text).
func InvalidAccessPolicy(reason string) *Error {
	return newError(InvalidParameter, "Invalid accessPolicy: %s", reason)
}

// InvalidSystemField: an emitSystemFields (PutSubscriptionFilter) or
// emitSystemFieldDimensions (PutMetricFilter) value outside those the
// model's documentation lists for the member. The model gives no enum, so
// AWS checks these past its model, in a text no source records; Cairn's is
// the Coral enum wording of the classic operations (reference §1), the same
// for both operations.
func InvalidSystemField(member string, values, allowed []string) *Error {
	return newError(InvalidParameter, "1 validation error detected: Value '[%s]' at '%s' failed to satisfy constraint: Member must satisfy enum value set: [%s]",
		strings.Join(values, ", "), member, strings.Join(allowed, ", "))
}
