package server_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/awsmodel"
	"github.com/cairnlog/cairn/internal/harness"
)

// pipelineBaselines are valid inputs of the subscription-filter, destination,
// metric-filter, export-task and account-policy operations: each is answered
// without a validation error (a missing group or destination at most).
var pipelineBaselines = map[string]string{
	"PutSubscriptionFilter":       `{"logGroupName":"/nope","filterName":"f","filterPattern":"","destinationArn":"arn:aws:lambda:us-east-1:000000000000:function:f"}`,
	"DescribeSubscriptionFilters": `{"logGroupName":"/nope"}`,
	"DeleteSubscriptionFilter":    `{"logGroupName":"/nope","filterName":"f"}`,
	"PutDestination":              `{"destinationName":"d","targetArn":"arn:aws:kinesis:us-east-1:000000000000:stream/s","roleArn":"arn:aws:iam::000000000000:role/r"}`,
	"DescribeDestinations":        `{}`,
	"DeleteDestination":           `{"destinationName":"nope"}`,
	"PutDestinationPolicy":        `{"destinationName":"nope","accessPolicy":"{}"}`,
	"PutMetricFilter":             `{"logGroupName":"/nope","filterName":"f","filterPattern":"","metricTransformations":[{"metricName":"m","metricNamespace":"n","metricValue":"1"}]}`,
	"DescribeMetricFilters":       `{}`,
	"DeleteMetricFilter":          `{"logGroupName":"/nope","filterName":"f"}`,
	"TestMetricFilter":            `{"filterPattern":"","logEventMessages":["x"]}`,
	"CreateExportTask":            `{"logGroupName":"/nope","from":0,"to":1,"destination":"b"}`,
	"DescribeExportTasks":         `{}`,
	"CancelExportTask":            `{"taskId":"t"}`,
	"PutAccountPolicy":            `{"policyName":"p","policyDocument":"{\"DestinationArn\":\"arn:aws:lambda:us-east-1:000000000000:function:f\"}","policyType":"SUBSCRIPTION_FILTER_POLICY"}`,
	"DescribeAccountPolicies":     `{"policyType":"SUBSCRIPTION_FILTER_POLICY"}`,
	"DeleteAccountPolicy":         `{"policyName":"nope","policyType":"SUBSCRIPTION_FILTER_POLICY"}`,
}

// groupNameText is AWS's own answer to an over-long logGroupName, recorded
// in place of the model's (reference cloudwatch-logs-api.md §2.2): the one
// departure from the model this sweep expects.
const groupNameText = "Invalid LogGroup or LogStream, both must have length less than or equal to 512."

// TestPipelineMembersAgainstModel: every top-level member of these
// operations that the model constrains (required, length, pattern, enum,
// value range) is sent once just past its constraint, and the answer must be
// InvalidParameterException naming that member and constraint in AWS's
// validation wording: a hand-written check that skipped a member, or
// counted it differently, shows here. Constraints are read from the model;
// the expected wording is written here.
func TestPipelineMembersAgainstModel(t *testing.T) {
	m, err := awsmodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	h := harness.Start(t)
	for _, op := range slices.Sorted(maps.Keys(pipelineBaselines)) {
		var base map[string]any
		if err := json.Unmarshal([]byte(pipelineBaselines[op]), &base); err != nil {
			t.Fatalf("%s baseline: %v", op, err)
		}
		if r := h.Call(t, op, []byte(pipelineBaselines[op])); r.Code == "InvalidParameterException" && strings.Contains(r.Message, "validation error") {
			t.Fatalf("%s baseline refused: %s", op, r)
		}
		in := m.Shape(op + "Request")
		if in == nil {
			t.Fatalf("%s: no input shape", op)
		}
		try := func(member string, value any, want string) {
			t.Helper()
			body := maps.Clone(base)
			if value == nil {
				delete(body, member)
			} else {
				body[member] = value
			}
			raw, _ := json.Marshal(body)
			r := h.Call(t, op, raw)
			if r.Code != "InvalidParameterException" || !strings.Contains(r.Message, want) {
				t.Errorf("%s %s=%.60v:\n got %s %.300q\nwant InvalidParameterException containing %.300q", op, member, value, r.Code, r.Message, want)
			}
		}
		for _, member := range slices.Sorted(maps.Keys(in.Members)) {
			s := m.Shape(in.Members[member])
			if slices.Contains(in.Required, member) {
				try(member, nil, "Value null at '"+member+"' failed to satisfy constraint: Member must not be null")
			}
			at := func(v string) string { return "Value '" + v + "' at '" + member + "' failed to satisfy constraint: " }
			switch s.Type {
			case "string":
				if s.Max != nil {
					v := strings.Repeat("a", int(*s.Max)+1)
					want := at(v) + "Member must have length less than or equal to " + num(*s.Max)
					if s.Name == "LogGroupName" {
						want = groupNameText
					}
					try(member, v, want)
				}
				if s.Min != nil && *s.Min >= 1 {
					try(member, "", at("")+"Member must have length greater than or equal to "+num(*s.Min))
				}
				if s.Pattern != "" {
					if v, ok := breaking(s.Pattern); ok {
						try(member, v, "at '"+member+"' failed to satisfy constraint: Member must satisfy regular expression pattern: "+s.Pattern)
					}
				}
				if len(s.Enum) > 0 {
					try(member, "BOGUS", at("BOGUS")+"Member must satisfy enum value set: ["+strings.Join(s.Enum, ", ")+"]")
				}
			case "integer", "long":
				if s.Min != nil {
					v := *s.Min - 1
					try(member, v, at(num(v))+"Member must have value greater than or equal to "+num(*s.Min))
				}
				if s.Max != nil {
					v := *s.Max + 1
					try(member, v, at(num(v))+"Member must have value less than or equal to "+num(*s.Max))
				}
			case "list":
				if el := m.Shape(s.Member); el.Type == "string" && s.Max != nil {
					vs := make([]any, int(*s.Max)+1)
					for i := range vs {
						vs[i] = "x" + strconv.Itoa(i)
					}
					try(member, vs, "at '"+member+"' failed to satisfy constraint: Member must have length less than or equal to "+num(*s.Max))
				}
				if s.Min != nil && *s.Min >= 1 {
					try(member, []any{}, at("[]")+"Member must have length greater than or equal to "+num(*s.Min))
				}
			case "map":
				if s.Max != nil {
					mv := map[string]any{}
					for i := range int(*s.Max) + 1 {
						mv[fmt.Sprintf("k%02d", i)] = "v"
					}
					try(member, mv, "at '"+member+"' failed to satisfy constraint: Member must have length less than or equal to "+num(*s.Max))
				}
				if s.Min != nil && *s.Min >= 1 {
					try(member, map[string]any{}, "at '"+member+"' failed to satisfy constraint: Member must have length greater than or equal to "+num(*s.Min))
				}
			}
		}
	}
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// breaking is a short value the model pattern p does not match as a whole.
func breaking(p string) (string, bool) {
	re, err := regexp.Compile(`^(?:` + strings.ReplaceAll(p, `-_]`, `\-_]`) + `)$`)
	if err != nil {
		return "", false
	}
	for _, v := range []string{"*", "!", "a b", "$"} {
		if !re.MatchString(v) {
			return v, true
		}
	}
	return "", false
}
