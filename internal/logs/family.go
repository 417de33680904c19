package logs

import (
	"context"
	"encoding/json"
	"unicode/utf8"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

// What the other families of operations share with the core. They are thin
// exports of the core's own helpers, so a group is named, found and refused
// the same way by every operation, whichever package serves it.

// Scope is where a caller's resources live.
func Scope(c caller.Caller) store.Scope { return scopeOf(c) }

// GroupResource is the ARN IAM evaluates for an operation on a log group
// (see groupResource).
func GroupResource(s store.Scope, name string) string { return groupResource(s, name) }

// ResolveGroup turns a logGroupName / logGroupIdentifier pair into a group
// name in scope (see resolveGroup); both builds the answer when both are set.
func ResolveGroup(s store.Scope, name, identifier string, both func() *awserr.Error) (string, error) {
	return resolveGroup(s, name, identifier, both)
}

// GroupNameTooLong reports whether a logGroupName is over AWS's 512
// characters, which AWS answers with awserr.GroupOrStreamNameTooLong rather
// than the model's generic length violation.
func GroupNameTooLong(name string) bool { return utf8.RuneCountInString(name) > 512 }

// GroupNameFirst answers a request whose logGroupName is over 512
// characters with AWS's own text, "Invalid LogGroup or LogStream, both must
// have length less than or equal to 512.", before the model's validation
// runs. AWS's answer is recorded for CreateLogGroup and DeleteMetricFilter
// (shared/reference/pipeline-and-control-plane.md §1, LocalStack's
// AWS-validated snapshots); the reference says to use it for every
// operation of the pipeline families that takes a logGroupName, so the
// families wrap those operations (the subscription filters, the metric
// filters, CreateExportTask) with it.
func GroupNameFirst(op protocol.Operation) protocol.Operation {
	return func(ctx context.Context, c *protocol.Call) (any, error) {
		var peek map[string]any
		if json.Unmarshal(c.Body, &peek) == nil {
			if s, ok := peek["logGroupName"].(string); ok && GroupNameTooLong(s) {
				return nil, awserr.GroupOrStreamNameTooLong()
			}
		}
		return op(ctx, c)
	}
}

// StoreError maps an engine error to the AWS error a client gets.
func StoreError(err error) error { return storeErr(err) }

// CompilePattern compiles a filter pattern with compile, answering a pattern
// that does not compile with InvalidParameterException and its reason.
func CompilePattern(compile func(string) (Pattern, error), expr string) (Pattern, error) {
	if compile == nil {
		return nil, awserr.PatternsUnavailable()
	}
	p, err := compile(expr)
	if err != nil {
		return nil, awserr.InvalidPattern(err.Error())
	}
	return p, nil
}

// EncodePageToken is a nextToken that resumes a listing of names after
// name, in the same self-checking form as the core's tokens (names.go), for
// the families' Describe/List operations over store resource records.
func EncodePageToken(name string) string { return encodeToken(tokenPage, []byte(name)) }

// DecodePageToken reads a token EncodePageToken made ("" for none), answering
// any other string with AWS's "The specified nextToken is invalid.".
func DecodePageToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := decodeToken(tokenPage, tok)
	return string(b), err
}

// MetricFilterKind is the store resource kind of a log group's metric
// filters (package logs/metricfilter writes them; DescribeLogGroups counts
// them for metricFilterCount).
const MetricFilterKind = "metricFilter"

// Kinds of the group and account records other families write that
// DescribeLogGroups reads for a group's details: bearer-token
// authentication (package logs/bearer: a record named "enabled" while on),
// the data protection policy (logs/dataprotection: one record named
// "policy"), and account policies (logs/accountpolicy: named
// "<policyType>/<policyName>").
const (
	BearerKind               = "bearerTokenAuthentication"
	DataProtectionPolicyKind = "dataProtectionPolicy"
	AccountPolicyKind        = "accountPolicy"
)
