package insights

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// TestGetQueryResultsEncoding: AppendJSON writes json.Marshal's bytes.
func TestGetQueryResultsEncoding(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tok := "dG9r"
	outs := []*GetQueryResultsOutput{
		{QueryLanguage: "CWLI", Results: [][]ResultField{}, Status: "Running"},
		{Results: nil, Status: "Complete"},
		{QueryLanguage: "CWLI", Status: "Complete", NextToken: &tok,
			Results: [][]ResultField{
				{{Field: "@timestamp", Value: "2026-12-01 16:00:00.000"}, {Field: "@message", Value: "a \"quoted\" <tag> & \\ \n\t\x01 \u2028 é \xff end"}},
				{},
				nil,
				{{Field: "user", Value: ""}},
			},
			Statistics: QueryStatistics{RecordsMatched: 1e21, RecordsScanned: 123456789, BytesScanned: 0.5e-7,
				EstimatedRecordsSkipped: f(0), EstimatedBytesSkipped: f(1e-6), LogGroupsScanned: f(3)}},
		{Statistics: QueryStatistics{RecordsMatched: math.MaxFloat64, RecordsScanned: 5e-324, BytesScanned: -2.5}},
	}
	for i, o := range outs {
		want, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("output %d:\n got %s\nwant %s", i, got, want)
		}
	}
	var nilOut *GetQueryResultsOutput
	if got := nilOut.AppendJSON(nil); string(got) != "null" {
		t.Errorf("nil: %s", got)
	}
}
