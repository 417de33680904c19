package accountpolicy

import (
	"testing"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/pattern"
)

// FuzzCheckDocument: PutAccountPolicy's document and selection checks,
// for every type, never panic and refuse only with InvalidParameterException
// (a plain error is answered as a 500), and what they accept they accept
// again. The transformer family's deep check of TRANSFORMER_POLICY is
// fuzzed in its own package (FuzzCheckAccountDocument).
func FuzzCheckDocument(f *testing.F) {
	types := []string{DataProtection, SubscriptionFilter, FieldIndex, Transformer, MetricExtraction}
	for i, doc := range []string{
		`{"DestinationArn":"arn:aws:lambda:us-east-1:123456789012:function:f","FilterPattern":"{ $.a = %x+% }","Distribution":"Random"}`,
		`{"DestinationArn":"arn:aws:kinesis:us-east-1:123456789012:stream/s","RoleArn":"arn:aws:iam::123456789012:role/r"}`,
		`{"Fields":["a","b.c"],"FieldsV2":{"x":{"type":"FIELD_INDEX"}}}`,
		`{"transformerConfig":[{"parseJSON":{}},{"addKeys":{"entries":[{"key":"k","value":"v"}]}}]}`,
		`{"EmbeddedMetricFormat":true}`,
		`{"Name":"n","Version":"2021-06-01","Statement":[]}`,
		`[]`, `{`, `null`, `{"a":` + "[[[[[[[[" + `}`,
	} {
		f.Add(uint8(i), doc, `LogGroupNamePrefix IN ["/aws"]`)
		f.Add(uint8(i+1), doc, `LogGroupName NOT IN ["a", "b"]`)
		f.Add(uint8(i+2), doc, `DataSourceName = "amazon_vpc" AND DataSourceType = "flow"`)
	}
	s := New(Config{Compile: func(e string) (logs.Pattern, error) { return pattern.Compile(e) }})
	check := func(t *testing.T, what string, err error, codes ...awserr.Code) {
		t.Helper()
		if err == nil {
			return
		}
		e, ok := awserr.As(err)
		if ok && e.Code == awserr.InvalidParameter {
			return
		}
		for _, c := range codes {
			if ok && e.Code == c {
				return
			}
		}
		t.Fatalf("%s: %v (%T), want InvalidParameterException", what, err, err)
	}
	f.Fuzz(func(t *testing.T, which uint8, doc, criteria string) {
		typ := types[int(which)%len(types)]
		err := s.checkDocument(typ, doc)
		check(t, typ+" document", err)
		if err == nil {
			check(t, typ+" document again", s.checkDocument(typ, doc))
		}
		sel, why := parseSelection(criteria)
		if why != "" {
			return
		}
		check(t, typ+" selection", checkSelection(typ, sel, criteria))
		check(t, typ+" limits", checkLimits(typ, sel, []Policy{{PolicyType: typ, SelectionCriteria: criteria}}), awserr.LimitExceeded)
	})
}
