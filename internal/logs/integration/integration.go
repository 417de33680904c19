// Package integration is the family of CloudWatch Logs integrations with
// other services: OpenSearch Service integrations (Put/Get/List/
// DeleteIntegration) and S3 Table integration sources
// (AssociateSourceToS3TableIntegration, DisassociateSourceFromS3TableIntegration,
// ListSourcesForS3TableIntegration).
//
// An OpenSearch integration asks AWS to provision an OpenSearch Serverless
// collection, application, workspace and policies for vended-log dashboards.
// No OpenSearch Service exists behind Cairn, so PutIntegration validates and
// stores the integration (one store record of the account and region, kind
// "integration", keyed by name) and the integration then reads back FAILED,
// with every OpenSearch resource NOT_FOUND and a status message saying why:
// that is what AWS reports for an integration whose provisioning did not
// succeed, and it never claims an ACTIVE integration that does not exist.
//
// S3 Table integrations are resources of another AWS service (CloudWatch
// observability admin, CreateS3TableIntegration), which Cairn does not serve:
// no integration ARN exists here, so associating, listing and disassociating
// answer ResourceNotFoundException after validating the input, and nothing is
// stored (docs/control-plane.md).
package integration

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

const kind = "integration"

// maxIntegrations is AWS's quota: "currently you can have only one
// integration in your account" (PutIntegration's documentation).
const maxIntegrations = 1

// Config configures a Service.
type Config struct {
	Store store.Store
}

// Service implements the integration operations.
type Service struct {
	st store.Store
	// put serialises PutIntegration's count-then-store, so two callers
	// cannot both take the account's one integration.
	put sync.Mutex
}

// New returns a Service.
func New(cfg Config) *Service { return &Service{st: cfg.Store} }

// Register adds the family's operations to t. The operations whose model
// errors list ValidationException answer model violations with it (as the
// newer operations do on AWS, shared/reference/pipeline-and-control-plane.md
// §1); GetIntegration and ListIntegrations list only
// InvalidParameterException, so they keep it.
func (s *Service) Register(t *protocol.Table) {
	t.Add("PutIntegration", protocol.DecodedValidation(s.PutIntegration))
	t.Add("GetIntegration", protocol.Decoded(s.GetIntegration))
	t.Add("ListIntegrations", protocol.Decoded(s.ListIntegrations))
	t.Add("DeleteIntegration", protocol.DecodedValidation(s.DeleteIntegration))
	t.Add("AssociateSourceToS3TableIntegration", protocol.DecodedValidation(s.AssociateSourceToS3TableIntegration))
	t.Add("DisassociateSourceFromS3TableIntegration", protocol.DecodedValidation(s.DisassociateSourceFromS3TableIntegration))
	t.Add("ListSourcesForS3TableIntegration", protocol.DecodedValidation(s.ListSourcesForS3TableIntegration))
}

// Wire shapes.

type OpenSearchResourceConfig struct {
	KmsKeyArn                 string   `json:"kmsKeyArn,omitempty"`
	DataSourceRoleArn         string   `json:"dataSourceRoleArn"`
	DashboardViewerPrincipals []string `json:"dashboardViewerPrincipals"`
	ApplicationArn            string   `json:"applicationArn,omitempty"`
	RetentionDays             int      `json:"retentionDays"`
}

type ResourceConfig struct {
	OpenSearchResourceConfig *OpenSearchResourceConfig `json:"openSearchResourceConfig,omitempty"`
}

type ResourceStatus struct {
	Status        string `json:"status"`
	StatusMessage string `json:"statusMessage,omitempty"`
}

type named struct {
	PolicyName string          `json:"policyName,omitempty"`
	Status     *ResourceStatus `json:"status,omitempty"`
}

type OpenSearchIntegrationDetails struct {
	DataSource *struct {
		DataSourceName string          `json:"dataSourceName,omitempty"`
		Status         *ResourceStatus `json:"status,omitempty"`
	} `json:"dataSource,omitempty"`
	Application *struct {
		ApplicationArn string          `json:"applicationArn,omitempty"`
		Status         *ResourceStatus `json:"status,omitempty"`
	} `json:"application,omitempty"`
	Collection *struct {
		Status *ResourceStatus `json:"status,omitempty"`
	} `json:"collection,omitempty"`
	Workspace *struct {
		Status *ResourceStatus `json:"status,omitempty"`
	} `json:"workspace,omitempty"`
	EncryptionPolicy *named `json:"encryptionPolicy,omitempty"`
	NetworkPolicy    *named `json:"networkPolicy,omitempty"`
	AccessPolicy     *named `json:"accessPolicy,omitempty"`
	LifecyclePolicy  *named `json:"lifecyclePolicy,omitempty"`
}

type IntegrationDetails struct {
	OpenSearchIntegrationDetails *OpenSearchIntegrationDetails `json:"openSearchIntegrationDetails,omitempty"`
}

// record is what the store keeps of an integration.
type record struct {
	Name   string         `json:"name"`
	Type   string         `json:"type"`
	Config ResourceConfig `json:"config"`
}

// The status every stored integration reads back with, and why.
const (
	statusFailed  = "FAILED"
	notProvisoned = "OpenSearch Service is not available in Cairn; no OpenSearch resource was provisioned for this integration."
)

func key(scope store.Scope, name string) store.ResourceKey {
	return store.ResourceKey{Scope: scope, Kind: kind, Name: name}
}

func arnOf(scope store.Scope, name string) string {
	return strings.TrimSuffix(logs.GroupARN(scope, ""), "log-group:") + "integration:" + name
}

// ARN forms the OpenSearch configuration names. AWS checks them as ARNs of
// their services (an IAM role for dataSourceRoleArn, IAM users or roles for
// the viewers, a KMS key, an OpenSearch application); the model gives only
// "Arn", so the forms are Cairn's reading of the documentation and the
// refusals are ValidationException with Cairn's text.
var (
	roleARN        = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
	principalARN   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]{1,512}$`)
	kmsKeyARN      = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]{1,128}$`)
	applicationARN = regexp.MustCompile(`^arn:aws[a-z-]*:opensearch:[a-z0-9-]+:\d{12}:application/[A-Za-z0-9-]{1,128}$`)
)

type PutIntegrationInput struct {
	IntegrationName string          `json:"integrationName"`
	ResourceConfig  *ResourceConfig `json:"resourceConfig"`
	IntegrationType string          `json:"integrationType"`
}

type PutIntegrationOutput struct {
	IntegrationName   string `json:"integrationName"`
	IntegrationStatus string `json:"integrationStatus"`
}

// PutIntegration creates an integration. It answers PROVISIONING, as AWS
// always does for an accepted integration (the reference's recorded shape);
// the stored integration reads back FAILED (see the package doc). A second
// integration of any name is LimitExceededException (one per account), and
// an existing integration cannot be modified (the documentation), so Put of
// the same name again is refused the same way.
func (s *Service) PutIntegration(ctx context.Context, c caller.Caller, in *PutIntegrationInput) (*PutIntegrationOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:PutIntegration", arnOf(scope, in.IntegrationName)); err != nil {
		return nil, err
	}
	// resourceConfig is a union: exactly one member, and OpenSearch is
	// the only one the model has.
	if in.ResourceConfig == nil || in.ResourceConfig.OpenSearchResourceConfig == nil {
		return nil, awserr.ValidationMessage("resourceConfig must specify exactly one member: openSearchResourceConfig.")
	}
	os := in.ResourceConfig.OpenSearchResourceConfig
	if !roleARN.MatchString(os.DataSourceRoleArn) {
		return nil, awserr.ValidationMessage("Invalid dataSourceRoleArn: " + os.DataSourceRoleArn + ". It must be the ARN of an IAM role.")
	}
	if len(os.DashboardViewerPrincipals) == 0 {
		return nil, awserr.ValidationMessage("dashboardViewerPrincipals must name at least one IAM user or role.")
	}
	for _, p := range os.DashboardViewerPrincipals {
		if !principalARN.MatchString(p) {
			return nil, awserr.ValidationMessage("Invalid dashboardViewerPrincipals entry: " + p + ". It must be the ARN of an IAM user or role.")
		}
	}
	if os.KmsKeyArn != "" && !kmsKeyARN.MatchString(os.KmsKeyArn) {
		return nil, awserr.ValidationMessage("Invalid kmsKeyArn: " + os.KmsKeyArn + ". It must be the ARN of a KMS key.")
	}
	if os.ApplicationArn != "" && !applicationARN.MatchString(os.ApplicationArn) {
		return nil, awserr.ValidationMessage("Invalid applicationArn: " + os.ApplicationArn + ". It must be the ARN of an OpenSearch application.")
	}
	s.put.Lock()
	defer s.put.Unlock()
	n := 0
	err := s.st.ListResources(ctx, store.ResourceKey{Scope: scope, Kind: kind}, "", "", func(string, []byte) bool { n++; return true })
	if err != nil {
		return nil, logs.StoreError(err)
	}
	if n >= maxIntegrations {
		return nil, awserr.IntegrationLimit(maxIntegrations)
	}
	b, err := json.Marshal(record{Name: in.IntegrationName, Type: in.IntegrationType, Config: *in.ResourceConfig})
	if err != nil {
		return nil, err
	}
	if err := s.st.PutResource(ctx, key(scope, in.IntegrationName), b); err != nil {
		return nil, logs.StoreError(err)
	}
	return &PutIntegrationOutput{IntegrationName: in.IntegrationName, IntegrationStatus: "PROVISIONING"}, nil
}

func (s *Service) load(ctx context.Context, scope store.Scope, name string) (*record, error) {
	b, err := s.st.GetResource(ctx, key(scope, name))
	if errors.Is(err, store.ErrResourceNotFound) {
		return nil, awserr.IntegrationNotFound(name)
	}
	if err != nil {
		return nil, logs.StoreError(err)
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

type GetIntegrationInput struct {
	IntegrationName string `json:"integrationName"`
}

type GetIntegrationOutput struct {
	IntegrationName    string              `json:"integrationName"`
	IntegrationType    string              `json:"integrationType"`
	IntegrationStatus  string              `json:"integrationStatus"`
	IntegrationDetails *IntegrationDetails `json:"integrationDetails,omitempty"`
}

// GetIntegration answers the stored integration, FAILED, with each
// OpenSearch resource's status NOT_FOUND and the reason (the model's
// OpenSearchResourceStatus: ACTIVE, NOT_FOUND or ERROR). The resources AWS
// would have named (collection endpoint, workspace id...) do not exist and
// are left out; the application is the one the caller named, if any.
func (s *Service) GetIntegration(ctx context.Context, c caller.Caller, in *GetIntegrationInput) (*GetIntegrationOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:GetIntegration", arnOf(scope, in.IntegrationName)); err != nil {
		return nil, err
	}
	r, err := s.load(ctx, scope, in.IntegrationName)
	if err != nil {
		return nil, err
	}
	missing := func() *ResourceStatus { return &ResourceStatus{Status: "NOT_FOUND", StatusMessage: notProvisoned} }
	d := &OpenSearchIntegrationDetails{
		EncryptionPolicy: &named{Status: missing()},
		NetworkPolicy:    &named{Status: missing()},
		AccessPolicy:     &named{Status: missing()},
		LifecyclePolicy:  &named{Status: missing()},
	}
	d.DataSource = &struct {
		DataSourceName string          `json:"dataSourceName,omitempty"`
		Status         *ResourceStatus `json:"status,omitempty"`
	}{Status: missing()}
	d.Application = &struct {
		ApplicationArn string          `json:"applicationArn,omitempty"`
		Status         *ResourceStatus `json:"status,omitempty"`
	}{Status: missing()}
	if os := r.Config.OpenSearchResourceConfig; os != nil {
		d.Application.ApplicationArn = os.ApplicationArn
	}
	d.Collection = &struct {
		Status *ResourceStatus `json:"status,omitempty"`
	}{Status: missing()}
	d.Workspace = &struct {
		Status *ResourceStatus `json:"status,omitempty"`
	}{Status: missing()}
	return &GetIntegrationOutput{IntegrationName: r.Name, IntegrationType: r.Type, IntegrationStatus: statusFailed,
		IntegrationDetails: &IntegrationDetails{OpenSearchIntegrationDetails: d}}, nil
}

type ListIntegrationsInput struct {
	IntegrationNamePrefix string `json:"integrationNamePrefix"`
	IntegrationType       string `json:"integrationType"`
	IntegrationStatus     string `json:"integrationStatus"`
}

type IntegrationSummary struct {
	IntegrationName   string `json:"integrationName"`
	IntegrationType   string `json:"integrationType"`
	IntegrationStatus string `json:"integrationStatus"`
}

type ListIntegrationsOutput struct {
	IntegrationSummaries []IntegrationSummary `json:"integrationSummaries"`
}

// ListIntegrations lists the account's integrations (the model has no
// pagination: there is at most one), filtered by every filter given.
func (s *Service) ListIntegrations(ctx context.Context, c caller.Caller, in *ListIntegrationsInput) (*ListIntegrationsOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:ListIntegrations", "*"); err != nil {
		return nil, err
	}
	out := &ListIntegrationsOutput{IntegrationSummaries: []IntegrationSummary{}}
	var bad error
	err := s.st.ListResources(ctx, store.ResourceKey{Scope: scope, Kind: kind}, in.IntegrationNamePrefix, "", func(_ string, b []byte) bool {
		var r record
		if bad = json.Unmarshal(b, &r); bad != nil {
			return false
		}
		if in.IntegrationType != "" && r.Type != in.IntegrationType || in.IntegrationStatus != "" && in.IntegrationStatus != statusFailed {
			return true
		}
		out.IntegrationSummaries = append(out.IntegrationSummaries, IntegrationSummary{IntegrationName: r.Name, IntegrationType: r.Type, IntegrationStatus: statusFailed})
		return true
	})
	if err != nil {
		return nil, logs.StoreError(err)
	}
	if bad != nil {
		return nil, bad
	}
	return out, nil
}

type DeleteIntegrationInput struct {
	IntegrationName string `json:"integrationName"`
	Force           bool   `json:"force"`
}

// DeleteIntegration deletes the integration. force matters on AWS only when
// vended-log dashboards exist; none can exist here (nothing was
// provisioned), so the delete succeeds with or without it.
func (s *Service) DeleteIntegration(ctx context.Context, c caller.Caller, in *DeleteIntegrationInput) (*struct{}, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:DeleteIntegration", arnOf(scope, in.IntegrationName)); err != nil {
		return nil, err
	}
	if _, err := s.load(ctx, scope, in.IntegrationName); err != nil {
		return nil, err
	}
	err := s.st.DeleteResource(ctx, key(scope, in.IntegrationName))
	if err != nil && !errors.Is(err, store.ErrResourceNotFound) {
		return nil, logs.StoreError(err)
	}
	return &struct{}{}, nil
}
