package awserr

// Errors of the metric-filter and export-task families. Texts marked [AWS]
// are recorded answers of real AWS (shared/reference/
// pipeline-and-control-plane.md §4–§5); texts marked [3p] are AWS's as
// users quote them (CloudFormation and Terraform surface the service's
// message); the rest are Cairn's, in AWS's style, where no source has one.

// GroupOrStreamNameTooLong: a logGroupName over 512 characters on the
// classic pipeline operations [AWS] (reference §1), instead of the generic
// constraint text.
func GroupOrStreamNameTooLong() *Error {
	return newError(InvalidParameter, "Invalid LogGroup or LogStream, both must have length less than or equal to 512.")
}

// MetricFilterNotFound: DeleteMetricFilter of a filter that does not exist
// (the wording of the log group's, reference §4.3).
func MetricFilterNotFound() *Error {
	return newError(ResourceNotFound, "The specified metric filter does not exist.")
}

// MetricNameWithoutNamespace: DescribeMetricFilters with metricName or
// metricNamespace alone; the documentation says they go together [3p: AWS's
// answer quoted in turbot/steampipe-plugin-aws#2215, "InvalidParameterException:
// Describe Metric Filters request must contain both MetricName and
// MetricNamespace"].
func MetricNameWithoutNamespace() *Error {
	return newError(InvalidParameter, "Describe Metric Filters request must contain both MetricName and MetricNamespace")
}

// DimensionsWithDefaultValue: a transformation with both [3p: CloudFormation
// deployments quote the service's text].
func DimensionsWithDefaultValue() *Error {
	return newError(InvalidParameter, "Invalid metric transformation: dimensions and default value are mutually exclusive properties")
}

// PatternWithoutDimensions: dimensions on a filter pattern that is neither
// JSON nor space-delimited [3p: hashicorp/terraform-provider-aws#22105].
func PatternWithoutDimensions() *Error {
	return newError(InvalidParameter, "The specified filter pattern does not support dimensions")
}

// TooManyDimensions: more than 3 dimensions (emitSystemFieldDimensions
// count too, per the model).
func TooManyDimensions() *Error {
	return newError(InvalidParameter, "Invalid metric transformation: a metric filter can have at most 3 dimensions.")
}

// InvalidMetricValue: a metricValue that is neither a number nor a field
// selector ($.path, $name, $N).
func InvalidMetricValue(v string) *Error {
	return newError(InvalidParameter, "Invalid metric value: %s. The metric value must be a number or a field selector such as $.latency or $size.", v)
}

// InvalidDimensionValue: a dimension whose value is not a field selector.
func InvalidDimensionValue(key, v string) *Error {
	return newError(InvalidParameter, "Invalid dimension value for %s: %s. Dimension values must be field selectors such as $.requestId or $ip.", key, v)
}

// SelectorNotInPattern: a $name selector that the space-delimited pattern
// does not define (or a JSON selector on a pattern that is not JSON).
func SelectorNotInPattern(sel string) *Error {
	return newError(InvalidParameter, "Invalid metric transformation: %s is not a field of the filter pattern.", sel)
}

// InvalidFieldSelection: a metric or subscription filter's
// fieldSelectionCriteria outside the selection-criteria language (package
// logs/fieldselect); reason says where. AWS's text is unrecorded; this is
// Cairn's, in the style of InvalidSelectionCriteria.
func InvalidFieldSelection(reason string) *Error {
	return newError(InvalidParameter, "Invalid fieldSelectionCriteria: %s", reason)
}

// ExportTaskNotFound: CancelExportTask of an unknown id [AWS].
func ExportTaskNotFound() *Error {
	return newError(ResourceNotFound, "The specified export task does not exist.")
}

// ExportTaskFinished: CancelExportTask of a task no longer PENDING or
// RUNNING (AWS's message contains "already finished", reference §5.3).
func ExportTaskFinished() *Error {
	return newError(InvalidOperation, "The specified export task has already finished.")
}

// BucketDoesNotExist: CreateExportTask to a bucket Cairn cannot write
// (not configured, or missing at the configured endpoint) [AWS].
func BucketDoesNotExist() *Error {
	return newError(InvalidParameter, "The given bucket does not exist. Please make sure the bucket is valid.")
}

// ExportTimeRange: CreateExportTask with from not before to. The second sentence
// is AWS's [3p: an export job built on @aws-sdk/client-cloudwatch-logs
// matches e.message against exactly "Please make sure the values are within
// the retention period of the log groups and from value is lesser than the
// to value"]; the first, naming the two values, is the form users report
// the whole message in, and no source at hand records it verbatim.
func ExportTimeRange(from, to int64) *Error {
	return newError(InvalidParameter, "Specified time range of '%d' and '%d' is not valid. Please make sure the values are within the retention period of the log groups and from value is lesser than the to value", from, to)
}
