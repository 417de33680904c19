package quota

// AWS's default CloudWatch Logs quotas, as documented on the quotas page
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html,
// summarised in shared/reference/cloudwatch-logs-api.md §3 "Quotas"). Every
// figure is per account and per region; AWS throttles past it with
// ThrottlingException "Rate exceeded".
//
// Where AWS gives a figure per region group (GetLogEvents is 25 TPS in most
// regions and 10 in some, FilterLogEvents 10 in most and 25 in us-east-1),
// Cairn takes the figure of most regions: Cairn's region names are free-form
// (sigv4.validRegion), so they cannot select AWS's regional variants.

// AWSConcurrentQueries is how many CloudWatch Logs Insights queries an
// account may have running at once in a region, dashboards included: 100
// (user guide "View running queries or query history", 2025; the StartQuery
// API page still says 30, older quota pages 10 — the current user guide wins,
// see shared/reference/insights.md "Concurrency"). StartQuery past it answers
// LimitExceededException.
const AWSConcurrentQueries = 100

// AWSLiveTailSessions is how many Live Tail sessions an account may have
// open at once: 15 (quotas page, "Live Tail concurrent sessions").
const AWSLiveTailSessions = 15

// awsDefaultTPS applies to the operations the table below does not name: the
// quotas page gives 5 TPS to most other control-plane APIs (PutRetentionPolicy,
// TagResource, ListTagsForResource, AssociateKmsKey, ...).
const awsDefaultTPS = 5

// awsTPS is AWS's transactions-per-second quota of an operation, per account
// and region. A switch rather than a map: the table is constant, and a
// package-level map would be mutable state.
func awsTPS(op string) float64 {
	switch op {
	case "PutLogEvents":
		// 5,000 TPS per account and region (adjustable). Older pages said
		// 800 or 1,500; the per-stream limit of 5 requests per second was
		// removed in 2023, so there is no per-stream bucket.
		return 5000
	case "CreateLogGroup":
		return 10 // quotas page: 10 TPS (older: 5)
	case "CreateLogStream":
		return 50 // quotas page; also the CreateLogStream API page: "a limit of 50 TPS"
	case "DeleteLogGroup":
		return 10 // quotas page (older: 5)
	case "DeleteLogStream":
		return 15 // quotas page (older: 5)
	case "DescribeLogGroups":
		return 10 // quotas page (older: 5)
	case "DescribeLogStreams":
		return 25 // quotas page (older: 5)
	case "FilterLogEvents":
		return 10 // quotas page: 10 in most regions (us-east-1: 25, some: 5)
	case "GetLogEvents":
		return 25 // quotas page: 25 in most regions (some: 10)
	case "StartQuery":
		return 10 // quotas page
	case "GetQueryResults":
		return 10 // quotas page
	case "StartLiveTail":
		return 5 // quotas page: StartLiveTail 5 TPS
	default:
		return awsDefaultTPS
	}
}
