package integration

import (
	"context"
	"regexp"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
)

// S3 Table integrations. An integration is created in CloudWatch
// observability admin (CreateS3TableIntegration), a service Cairn does not
// serve, so no integration ARN ever exists here: after the input checks,
// every operation answers ResourceNotFoundException for the integration (or,
// for Disassociate, the association) named. AWS's texts for these are not
// recorded; Cairn's say which resource is missing.

// s3TableIntegrationARN is the ARN form of an observability admin S3 Table
// integration (arn:aws:observabilityadmin:REGION:ACCOUNT:s3tableintegration/ID,
// the form CloudFormation's AWS::ObservabilityAdmin::S3TableIntegration
// returns). Any other string is not an integration ARN: ValidationException.
var s3TableIntegrationARN = regexp.MustCompile(`^arn:aws[a-z-]*:observabilityadmin:[a-z0-9-]+:\d{12}:s3tableintegration/[A-Za-z0-9-]{1,128}$`)

type DataSource struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

type AssociateSourceToS3TableIntegrationInput struct {
	IntegrationArn string      `json:"integrationArn"`
	DataSource     *DataSource `json:"dataSource"`
}

type S3TableIntegrationSourceOutput struct {
	Identifier string `json:"identifier,omitempty"`
}

func checkIntegrationARN(arn string) error {
	if !s3TableIntegrationARN.MatchString(arn) {
		return awserr.ValidationMessage("Invalid integrationArn: " + arn + ". It must be the ARN of an S3 Table integration.")
	}
	return nil
}

func (s *Service) AssociateSourceToS3TableIntegration(ctx context.Context, c caller.Caller, in *AssociateSourceToS3TableIntegrationInput) (*S3TableIntegrationSourceOutput, error) {
	if err := c.Authorize("logs:AssociateSourceToS3TableIntegration", in.IntegrationArn); err != nil {
		return nil, err
	}
	if err := checkIntegrationARN(in.IntegrationArn); err != nil {
		return nil, err
	}
	if in.DataSource.Name == "" {
		return nil, awserr.ValidationMessage("dataSource name must not be empty.")
	}
	return nil, awserr.S3TableIntegrationNotFound(in.IntegrationArn)
}

type DisassociateSourceFromS3TableIntegrationInput struct {
	Identifier string `json:"identifier"`
}

func (s *Service) DisassociateSourceFromS3TableIntegration(ctx context.Context, c caller.Caller, in *DisassociateSourceFromS3TableIntegrationInput) (*S3TableIntegrationSourceOutput, error) {
	if err := c.Authorize("logs:DisassociateSourceFromS3TableIntegration", "*"); err != nil {
		return nil, err
	}
	return nil, awserr.S3TableIntegrationSourceNotFound(in.Identifier)
}

type ListSourcesForS3TableIntegrationInput struct {
	IntegrationArn string `json:"integrationArn"`
	MaxResults     int    `json:"maxResults"`
	NextToken      string `json:"nextToken"`
}

type ListSourcesForS3TableIntegrationOutput struct {
	Sources   []struct{} `json:"sources"`
	NextToken string     `json:"nextToken,omitempty"`
}

func (s *Service) ListSourcesForS3TableIntegration(ctx context.Context, c caller.Caller, in *ListSourcesForS3TableIntegrationInput) (*ListSourcesForS3TableIntegrationOutput, error) {
	if err := c.Authorize("logs:ListSourcesForS3TableIntegration", in.IntegrationArn); err != nil {
		return nil, err
	}
	if err := checkIntegrationARN(in.IntegrationArn); err != nil {
		return nil, err
	}
	return nil, awserr.S3TableIntegrationNotFound(in.IntegrationArn)
}
