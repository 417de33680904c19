package datasource_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestDataSources: groups written here carry no data source, so the
// aggregate lists none (with groups present) and GetLogFields of any source
// is ResourceNotFound; the model's rules answer their errors.
func TestDataSources(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	for _, g := range []string{"/app/one", "/app/two"} {
		if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.ListAggregateLogGroupSummaries(ctx, &cwl.ListAggregateLogGroupSummariesInput{GroupBy: types.ListAggregateLogGroupSummariesGroupByDataSourceNameAndType,
		LogGroupClass: types.LogGroupClassStandard, LogGroupNamePattern: aws.String("^/app"), Limit: aws.Int32(50)})
	if err != nil || out.AggregateLogGroupSummaries == nil || len(out.AggregateLogGroupSummaries) != 0 || out.NextToken != nil {
		t.Fatalf("aggregate: %v %+v", err, out)
	}
	_, err = c.GetLogFields(ctx, &cwl.GetLogFieldsInput{DataSourceName: aws.String("amazon_vpc"), DataSourceType: aws.String("flow")})
	harness.WantErr(t, err, "ResourceNotFoundException", "Data source with name amazon_vpc and type flow does not exist.")

	cases := []struct{ op, body, code, msg string }{
		{"ListAggregateLogGroupSummaries", `{}`, "ValidationException", "1 validation error detected: Value null at 'groupBy' failed to satisfy constraint: Member must not be null"},
		{"ListAggregateLogGroupSummaries", `{"groupBy":"NAME"}`, "ValidationException", "1 validation error detected: Value 'NAME' at 'groupBy' failed to satisfy constraint: Member must satisfy enum value set: [DATA_SOURCE_NAME_TYPE_AND_FORMAT, DATA_SOURCE_NAME_AND_TYPE]"},
		{"ListAggregateLogGroupSummaries", `{"groupBy":"DATA_SOURCE_NAME_AND_TYPE","limit":51}`, "ValidationException", "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50"},
		{"ListAggregateLogGroupSummaries", `{"groupBy":"DATA_SOURCE_NAME_AND_TYPE","logGroupClass":"COLD"}`, "ValidationException", "1 validation error detected: Value 'COLD' at 'logGroupClass' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]"},
		{"ListAggregateLogGroupSummaries", `{"groupBy":"DATA_SOURCE_NAME_AND_TYPE","dataSources":[]}`, "ValidationException", "1 validation error detected: Value '[]' at 'dataSources' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"ListAggregateLogGroupSummaries", `{"groupBy":"DATA_SOURCE_NAME_AND_TYPE","dataSources":[{"type":"flow"}]}`, "ValidationException", "1 validation error detected: Value null at 'dataSources.1.member.name' failed to satisfy constraint: Member must not be null"},
		{"ListAggregateLogGroupSummaries", `{"groupBy":"DATA_SOURCE_NAME_AND_TYPE","accountIdentifiers":["123"]}`, "ValidationException", "2 validation errors detected: Value '123' at 'accountIdentifiers.1.member' failed to satisfy constraint: Member must have length greater than or equal to 12; Value '123' at 'accountIdentifiers.1.member' failed to satisfy constraint: Member must satisfy regular expression pattern: ^\\d{12}$"},
		{"ListAggregateLogGroupSummaries", `{"groupBy":"DATA_SOURCE_NAME_AND_TYPE","nextToken":"forged"}`, "InvalidParameterException", "The specified nextToken is invalid."},
		{"GetLogFields", `{"dataSourceName":"x"}`, "InvalidParameterException", "1 validation error detected: Value null at 'dataSourceType' failed to satisfy constraint: Member must not be null"},
		{"GetLogObject", `{}`, "InvalidParameterException", "1 validation error detected: Value null at 'logObjectPointer' failed to satisfy constraint: Member must not be null"},
		{"GetLogObject", `{"logObjectPointer":""}`, "InvalidParameterException", "1 validation error detected: Value '' at 'logObjectPointer' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"GetLogObject", `{"logObjectPointer":"ptr-1","unmask":true}`, "ResourceNotFoundException", "The specified log object does not exist."},
	}
	for _, tc := range cases {
		r := h.Call(t, tc.op, []byte(tc.body))
		if r.Code != tc.code || r.Message != tc.msg {
			t.Errorf("%s %s:\n got %s\nwant %s %q", tc.op, tc.body, r, tc.code, tc.msg)
		}
	}
	// Through the SDK: the stream never opens.
	_, err = c.GetLogObject(ctx, &cwl.GetLogObjectInput{LogObjectPointer: aws.String("ptr-1")})
	harness.WantErr(t, err, "ResourceNotFoundException", "The specified log object does not exist.")
}
