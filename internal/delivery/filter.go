// Package delivery pushes the events that subscription filters match to
// their destinations, at least once and in order per log stream, and never
// drops one silently.
//
// Data flows: a Source (the subscription-filter family, later the account
// policies) lists Filters; the Manager runs one follower per Filter. A
// follower reads its group's commit-ordered feed (store.ReadFeed) from a
// durable cursor (store.GetCursor), keeps the events its pattern matches,
// groups them into one Record per log stream (AWS's payload: gzip of the
// DATA_MESSAGE JSON), cuts records and batches to the sink's limits, sends
// them, and only once the sink acknowledged moves the cursor
// (store.SetCursor). store.Subscribe wakes a follower when its group grows,
// so an idle follower costs nothing. Retryable failures (throttling, 5xx,
// network, no sink configured yet) are retried with backoff until the
// oldest event of the batch is 24 hours old, AWS's window; then, and at once
// for non-retryable failures, the batch is recorded in an error log group
// and counted, and the cursor moves on.
//
// A group's match-all followers share their work: the first to read a
// block encodes its events (shared.go), and the first gzip sink of a level
// deflates that encoding once; every record joins those bytes under its own
// head into one gzip member (gzipjoin.go).
//
// Sinks are named only by the server's configuration (Config.Sinks: an ARN
// to a sink): an API caller picks among configured ARNs and can never make
// Cairn connect anywhere else.
package delivery

import (
	"strings"

	"github.com/cairnlog/cairn/internal/store"
)

// Filter is one subscription as delivery sees it, whoever produced it: a log
// group's own subscription filter or an account-level subscription policy.
type Filter struct {
	Scope store.Scope
	Group string
	// Name is the filter's name, reported in the payload's
	// subscriptionFilters.
	Name string
	// Cursor names the follower's durable feed position in Group (see
	// store.SetCursor); unique per group among all filters.
	Cursor string
	// Pattern selects events; nil or one that matches all keeps every event.
	// PatternText is its source, which tells a changed filter from the same.
	Pattern     Matcher
	PatternText string
	// DestinationARN is the ARN the filter names; TargetARN is where records
	// go: DestinationARN itself, or a logs destination's target.
	DestinationARN string
	TargetARN      string
	RoleARN        string
	// Distribution is "ByLogStream" (default) or "Random": how Kinesis
	// partition keys are chosen.
	Distribution string
	// PolicyLevel is "ACCOUNT_LEVEL_POLICY" for an account policy's filter,
	// "" for a group's own (AWS omits the field there).
	PolicyLevel string
	// Transformed: the filter was created with applyOnTransformedLogs, so
	// it matches and delivers each event's transformed version where one is
	// kept (Config.Transformed), the stored event where none is.
	Transformed bool
	// Fields is what each delivered event carries as its extractedFields
	// (NewFields: a space-delimited pattern's fields, emitSystemFields);
	// nil: none.
	Fields *Fields
}

// Matcher is what a follower needs of a compiled filter pattern
// (logs.Pattern satisfies it).
type Matcher interface {
	Match(message string) bool
	MatchesAll() bool
}

// key identifies a follower: one per cursor of a group.
type key struct {
	scope  store.Scope
	group  string
	cursor string
}

func (f *Filter) key() key { return key{f.Scope, f.Group, f.Cursor} }

// same reports whether g would deliver exactly as f does (a reload that
// finds it unchanged keeps the running follower).
func (f *Filter) same(g *Filter) bool {
	return f.Name == g.Name && f.DestinationARN == g.DestinationARN && f.TargetARN == g.TargetARN &&
		f.RoleARN == g.RoleARN && f.Distribution == g.Distribution && f.PolicyLevel == g.PolicyLevel &&
		f.PatternText == g.PatternText && f.Transformed == g.Transformed && f.Fields.same(g.Fields)
}

// Vendor is the service part of a destination ARN ("kinesis", "firehose",
// "lambda", "logs"), "" when arn is not an ARN.
func Vendor(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ""
	}
	return parts[2]
}

// ARNResource is the part of an ARN after the account ("stream/NAME",
// "function:NAME", "deliverystream/NAME", "destination:NAME").
func ARNResource(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return ""
	}
	return parts[5]
}

// ARNAccount is an ARN's account field.
func ARNAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return ""
	}
	return parts[4]
}

// ARNRegion is an ARN's region field.
func ARNRegion(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return ""
	}
	return parts[3]
}
