package importtask_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

const (
	eds  = "arn:aws:cloudtrail:us-east-1:000000000000:eventdatastore/f1d45bff-d0e3-4868-b5d9-2eb678aa32fb"
	role = "arn:aws:iam::000000000000:role/import"
)

// TestImportTasks: no CloudTrail Lake here, so a well-formed import is
// refused for its missing source, none is ever listed, and Cancel/Batches of
// any id are ResourceNotFound; every model rule and check beyond it answers
// its own error.
func TestImportTasks(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	_, err := c.CreateImportTask(ctx, &cwl.CreateImportTaskInput{ImportSourceArn: aws.String(eds), ImportRoleArn: aws.String(role),
		ImportFilter: &types.ImportFilter{StartEventTime: aws.Int64(1), EndEventTime: aws.Int64(2)}})
	harness.WantErr(t, err, "ResourceNotFoundException", "Event data store "+eds+" does not exist.")
	out, err := c.DescribeImportTasks(ctx, &cwl.DescribeImportTasksInput{})
	if err != nil || out.Imports == nil || len(out.Imports) != 0 || out.NextToken != nil {
		t.Fatalf("describe: %v %+v", err, out)
	}
	out, err = c.DescribeImportTasks(ctx, &cwl.DescribeImportTasksInput{ImportId: aws.String("abc"), ImportStatus: types.ImportStatusInProgress, ImportSourceArn: aws.String(eds), Limit: aws.Int32(50)})
	if err != nil || len(out.Imports) != 0 {
		t.Fatalf("describe filtered: %v %+v", err, out)
	}
	_, err = c.CancelImportTask(ctx, &cwl.CancelImportTaskInput{ImportId: aws.String("abc-1")})
	harness.WantErr(t, err, "ResourceNotFoundException", "Import task abc-1 does not exist.")
	_, err = c.DescribeImportTaskBatches(ctx, &cwl.DescribeImportTaskBatchesInput{ImportId: aws.String("abc-1"), BatchImportStatus: []types.ImportStatus{types.ImportStatusFailed}})
	harness.WantErr(t, err, "ResourceNotFoundException", "Import task abc-1 does not exist.")

	cases := []struct{ op, body, code, msg string }{
		{"CreateImportTask", `{"importRoleArn":"` + role + `"}`, "ValidationException", "1 validation error detected: Value null at 'importSourceArn' failed to satisfy constraint: Member must not be null"},
		{"CreateImportTask", `{"importSourceArn":"` + eds + `","importRoleArn":""}`, "ValidationException", "1 validation error detected: Value '' at 'importRoleArn' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"CreateImportTask", `{"importSourceArn":"` + eds + `","importRoleArn":"` + role + `","importFilter":{"startEventTime":-1}}`, "ValidationException", "1 validation error detected: Value '-1' at 'importFilter.startEventTime' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{"CreateImportTask", `{"importSourceArn":"` + eds + `","importRoleArn":"` + role + `","importFilter":{"startEventTime":5,"endEventTime":4}}`, "InvalidParameterException", "importFilter startEventTime must not be after endEventTime."},
		{"CreateImportTask", `{"importSourceArn":"arn:aws:s3:::bucket","importRoleArn":"` + role + `"}`, "InvalidParameterException", "Invalid importSourceArn: arn:aws:s3:::bucket. Currently, CloudTrail Event Data Store is the only supported data source."},
		{"CreateImportTask", `{"importSourceArn":"` + eds + `","importRoleArn":"arn:aws:iam::000000000000:user/u"}`, "InvalidParameterException", "Invalid importRoleArn: arn:aws:iam::000000000000:user/u. It must be the ARN of an IAM role."},
		{"CancelImportTask", `{}`, "InvalidParameterException", "1 validation error detected: Value null at 'importId' failed to satisfy constraint: Member must not be null"},
		{"CancelImportTask", `{"importId":"a_b"}`, "InvalidParameterException", "1 validation error detected: Value 'a_b' at 'importId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\-a-zA-Z0-9]+"},
		{"CancelImportTask", `{"importId":"` + strings.Repeat("a", 257) + `"}`, "InvalidParameterException", "1 validation error detected: Value '" + strings.Repeat("a", 257) + "' at 'importId' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"DescribeImportTasks", `{"limit":51}`, "InvalidParameterException", "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50"},
		{"DescribeImportTasks", `{"importStatus":"DONE"}`, "InvalidParameterException", "1 validation error detected: Value 'DONE' at 'importStatus' failed to satisfy constraint: Member must satisfy enum value set: [IN_PROGRESS, CANCELLED, COMPLETED, FAILED]"},
		{"DescribeImportTasks", `{"nextToken":"forged"}`, "InvalidParameterException", "The specified nextToken is invalid."},
		{"DescribeImportTaskBatches", `{"importId":"x","limit":0}`, "InvalidParameterException", "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"DescribeImportTaskBatches", `{"importId":"x","batchImportStatus":["NOPE"]}`, "InvalidParameterException", "1 validation error detected: Value 'NOPE' at 'batchImportStatus.1.member' failed to satisfy constraint: Member must satisfy enum value set: [IN_PROGRESS, CANCELLED, COMPLETED, FAILED]"},
	}
	for _, tc := range cases {
		r := h.Call(t, tc.op, []byte(tc.body))
		if r.Code != tc.code || r.Message != tc.msg {
			t.Errorf("%s %s:\n got %s\nwant %s %q", tc.op, tc.body, r, tc.code, tc.msg)
		}
	}
}
