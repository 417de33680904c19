// Package importtask is the family of CloudWatch Logs import tasks
// (CreateImportTask, CancelImportTask, DescribeImportTasks,
// DescribeImportTaskBatches).
//
// An import copies events from a CloudTrail Lake event data store (the only
// source the API has) into a managed log group. No CloudTrail Lake exists
// behind Cairn, so no source can exist either: CreateImportTask validates its
// input as AWS does and then answers, as AWS does for a source that does not
// exist, ResourceNotFoundException. No import is ever created, so nothing is
// stored: DescribeImportTasks lists none, and Cancel/DescribeImportTaskBatches
// of any id answer ResourceNotFoundException (docs/control-plane.md).
package importtask

import (
	"context"
	"regexp"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/protocol"
)

// Service implements the import task operations.
type Service struct{}

// New returns a Service.
func New() *Service { return &Service{} }

// Register adds the family's operations to t. CreateImportTask's model
// errors list ValidationException, so its model violations answer with it
// (the newer operations' style, pipeline-and-control-plane.md §1); the
// other three list only InvalidParameterException.
func (s *Service) Register(t *protocol.Table) {
	t.Add("CreateImportTask", protocol.DecodedValidation(s.CreateImportTask))
	t.Add("CancelImportTask", protocol.Decoded(s.CancelImportTask))
	t.Add("DescribeImportTasks", protocol.Decoded(s.DescribeImportTasks))
	t.Add("DescribeImportTaskBatches", protocol.Decoded(s.DescribeImportTaskBatches))
}

// eventDataStoreARN is a CloudTrail Lake event data store's ARN
// (arn:aws:cloudtrail:REGION:ACCOUNT:eventdatastore/ID, the documentation's
// example IAM policy); roleARN an IAM role's.
var (
	eventDataStoreARN = regexp.MustCompile(`^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:eventdatastore/[A-Za-z0-9-]{1,128}$`)
	roleARN           = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
)

type ImportFilter struct {
	StartEventTime *int64 `json:"startEventTime,omitempty"`
	EndEventTime   *int64 `json:"endEventTime,omitempty"`
}

type CreateImportTaskInput struct {
	ImportSourceArn string        `json:"importSourceArn"`
	ImportRoleArn   string        `json:"importRoleArn"`
	ImportFilter    *ImportFilter `json:"importFilter"`
}

type CreateImportTaskOutput struct {
	ImportID             string `json:"importId"`
	ImportDestinationArn string `json:"importDestinationArn"`
	CreationTime         int64  `json:"creationTime"`
}

// CreateImportTask checks, in order: the caller's permission, the filter's
// range (start after end is refused), that the source is an event data store
// ("Currently, CloudTrail Event Data Store is the only supported data
// source"), that the role is an IAM role, and then that the source exists,
// which here it never does. The texts of the first three are Cairn's (AWS's
// are not recorded).
func (s *Service) CreateImportTask(ctx context.Context, c caller.Caller, in *CreateImportTaskInput) (*CreateImportTaskOutput, error) {
	if err := c.Authorize("logs:CreateImportTask", in.ImportSourceArn); err != nil {
		return nil, err
	}
	if f := in.ImportFilter; f != nil && f.StartEventTime != nil && f.EndEventTime != nil && *f.StartEventTime > *f.EndEventTime {
		return nil, awserr.InvalidParameterMessage("importFilter startEventTime must not be after endEventTime.")
	}
	if !eventDataStoreARN.MatchString(in.ImportSourceArn) {
		return nil, awserr.InvalidParameterMessage("Invalid importSourceArn: " + in.ImportSourceArn + ". Currently, CloudTrail Event Data Store is the only supported data source.")
	}
	if !roleARN.MatchString(in.ImportRoleArn) {
		return nil, awserr.InvalidParameterMessage("Invalid importRoleArn: " + in.ImportRoleArn + ". It must be the ARN of an IAM role.")
	}
	return nil, awserr.ImportSourceNotFound(in.ImportSourceArn)
}

type CancelImportTaskInput struct {
	ImportID string `json:"importId"`
}

func (s *Service) CancelImportTask(ctx context.Context, c caller.Caller, in *CancelImportTaskInput) (*struct{}, error) {
	if err := c.Authorize("logs:CancelImportTask", "*"); err != nil {
		return nil, err
	}
	return nil, awserr.ImportTaskNotFound(in.ImportID)
}

type DescribeImportTasksInput struct {
	ImportID        string `json:"importId"`
	ImportStatus    string `json:"importStatus"`
	ImportSourceArn string `json:"importSourceArn"`
	Limit           int    `json:"limit"`
	NextToken       string `json:"nextToken"`
}

type DescribeImportTasksOutput struct {
	Imports   []struct{} `json:"imports"`
	NextToken string     `json:"nextToken,omitempty"`
}

// DescribeImportTasks lists no import (none can exist). Its filters select
// among imports, so an importId that matches none is an empty list, as
// DescribeExportTasks answers for an unknown taskId; a nextToken, which this
// operation never hands out, is refused as any invalid token is.
func (s *Service) DescribeImportTasks(ctx context.Context, c caller.Caller, in *DescribeImportTasksInput) (*DescribeImportTasksOutput, error) {
	if err := c.Authorize("logs:DescribeImportTasks", "*"); err != nil {
		return nil, err
	}
	if _, err := logs.DecodePageToken(in.NextToken); err != nil {
		return nil, err
	}
	return &DescribeImportTasksOutput{Imports: []struct{}{}}, nil
}

type DescribeImportTaskBatchesInput struct {
	ImportID          string   `json:"importId"`
	BatchImportStatus []string `json:"batchImportStatus"`
	Limit             int      `json:"limit"`
	NextToken         string   `json:"nextToken"`
}

func (s *Service) DescribeImportTaskBatches(ctx context.Context, c caller.Caller, in *DescribeImportTaskBatchesInput) (*struct{}, error) {
	if err := c.Authorize("logs:DescribeImportTaskBatches", "*"); err != nil {
		return nil, err
	}
	return nil, awserr.ImportTaskNotFound(in.ImportID)
}
