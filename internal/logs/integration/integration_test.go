package integration_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

const role = "arn:aws:iam::000000000000:role/os-source"

func openSearch(cfg types.OpenSearchResourceConfig) *types.ResourceConfigMemberOpenSearchResourceConfig {
	return &types.ResourceConfigMemberOpenSearchResourceConfig{Value: cfg}
}

func valid() types.OpenSearchResourceConfig {
	return types.OpenSearchResourceConfig{DataSourceRoleArn: aws.String(role), RetentionDays: aws.Int32(7),
		DashboardViewerPrincipals: []string{"arn:aws:iam::000000000000:user/viewer"}}
}

// TestIntegrationLifecycle: Put answers PROVISIONING, the integration reads
// back FAILED with every OpenSearch resource NOT_FOUND (none is provisioned
// here), List filters, one per account, Delete, not-found texts.
func TestIntegrationLifecycle(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	cfg := valid()
	cfg.ApplicationArn = aws.String("arn:aws:opensearch:us-east-1:000000000000:application/abc-123")
	put, err := c.PutIntegration(ctx, &cwl.PutIntegrationInput{IntegrationName: aws.String("my-os"), IntegrationType: types.IntegrationTypeOpensearch, ResourceConfig: openSearch(cfg)})
	if err != nil {
		t.Fatal(err)
	}
	if *put.IntegrationName != "my-os" || put.IntegrationStatus != types.IntegrationStatusProvisioning {
		t.Fatalf("put %+v", put)
	}
	got, err := c.GetIntegration(ctx, &cwl.GetIntegrationInput{IntegrationName: aws.String("my-os")})
	if err != nil {
		t.Fatal(err)
	}
	if *got.IntegrationName != "my-os" || got.IntegrationType != types.IntegrationTypeOpensearch || got.IntegrationStatus != types.IntegrationStatusFailed {
		t.Fatalf("get %+v", got)
	}
	d, ok := got.IntegrationDetails.(*types.IntegrationDetailsMemberOpenSearchIntegrationDetails)
	if !ok {
		t.Fatalf("details %T", got.IntegrationDetails)
	}
	v := d.Value
	for name, st := range map[string]*types.OpenSearchResourceStatus{"dataSource": v.DataSource.Status, "application": v.Application.Status,
		"collection": v.Collection.Status, "workspace": v.Workspace.Status, "encryption": v.EncryptionPolicy.Status,
		"network": v.NetworkPolicy.Status, "access": v.AccessPolicy.Status, "lifecycle": v.LifecyclePolicy.Status} {
		if st.Status != types.OpenSearchResourceStatusTypeNotFound || !strings.Contains(aws.ToString(st.StatusMessage), "not available in Cairn") {
			t.Errorf("%s status %+v", name, st)
		}
	}
	if aws.ToString(v.Application.ApplicationArn) != *cfg.ApplicationArn {
		t.Errorf("application arn %v", v.Application.ApplicationArn)
	}

	// One integration per account, whatever its name; the same name
	// cannot be modified either.
	for _, name := range []string{"other", "my-os"} {
		_, err = c.PutIntegration(ctx, &cwl.PutIntegrationInput{IntegrationName: aws.String(name), IntegrationType: types.IntegrationTypeOpensearch, ResourceConfig: openSearch(valid())})
		harness.WantErr(t, err, "LimitExceededException", "Resource limit exceeded: an account can have only 1 integration.")
	}

	list := func(in *cwl.ListIntegrationsInput) []string {
		t.Helper()
		out, err := c.ListIntegrations(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range out.IntegrationSummaries {
			if s.IntegrationStatus != types.IntegrationStatusFailed || s.IntegrationType != types.IntegrationTypeOpensearch {
				t.Errorf("summary %+v", s)
			}
			names = append(names, *s.IntegrationName)
		}
		return names
	}
	if n := list(&cwl.ListIntegrationsInput{}); len(n) != 1 || n[0] != "my-os" {
		t.Fatalf("list %v", n)
	}
	if n := list(&cwl.ListIntegrationsInput{IntegrationNamePrefix: aws.String("my-")}); len(n) != 1 {
		t.Fatalf("prefix %v", n)
	}
	if n := list(&cwl.ListIntegrationsInput{IntegrationNamePrefix: aws.String("zz")}); len(n) != 0 {
		t.Fatalf("other prefix %v", n)
	}
	if n := list(&cwl.ListIntegrationsInput{IntegrationStatus: types.IntegrationStatusActive}); len(n) != 0 {
		t.Fatalf("ACTIVE %v", n)
	}
	if n := list(&cwl.ListIntegrationsInput{IntegrationStatus: types.IntegrationStatusFailed, IntegrationType: types.IntegrationTypeOpensearch}); len(n) != 1 {
		t.Fatalf("FAILED %v", n)
	}

	if _, err := c.DeleteIntegration(ctx, &cwl.DeleteIntegrationInput{IntegrationName: aws.String("my-os")}); err != nil {
		t.Fatal(err)
	}
	if r := h.Call(t, "DeleteIntegration", []byte(`{"integrationName":"my-os"}`)); r.Code != "ResourceNotFoundException" || r.Message != "Integration my-os does not exist." {
		t.Fatalf("delete again: %s", r)
	}
	_, err = c.GetIntegration(ctx, &cwl.GetIntegrationInput{IntegrationName: aws.String("my-os")})
	harness.WantErr(t, err, "ResourceNotFoundException", "Integration my-os does not exist.")
	if n := list(&cwl.ListIntegrationsInput{}); len(n) != 0 {
		t.Fatalf("list after delete %v", n)
	}
	// The slot is free again; an empty output shape answers {}.
	if _, err := c.PutIntegration(ctx, &cwl.PutIntegrationInput{IntegrationName: aws.String("second"), IntegrationType: types.IntegrationTypeOpensearch, ResourceConfig: openSearch(valid())}); err != nil {
		t.Fatal(err)
	}
	if r := h.Call(t, "DeleteIntegration", []byte(`{"integrationName":"second","force":true}`)); r.Code != "" || strings.TrimSpace(string(r.Body)) != "{}" {
		t.Fatalf("delete with force: %s %q", r, r.Body)
	}
}

// TestIntegrationValidation: the model's rules (ValidationException for
// Put/Delete, whose model errors list it; InvalidParameterException for
// Get/List) and the ARN checks beyond it.
func TestIntegrationValidation(t *testing.T) {
	h := harness.Start(t)
	good := `"dataSourceRoleArn":"` + role + `","dashboardViewerPrincipals":["arn:aws:iam::000000000000:role/v"],"retentionDays":7`
	cases := []struct{ op, body, code, msg string }{
		{"PutIntegration", `{"integrationName":"a b","integrationType":"OPENSEARCH","resourceConfig":{"openSearchResourceConfig":{` + good + `}}}`,
			"ValidationException", "1 validation error detected: Value 'a b' at 'integrationName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"},
		{"PutIntegration", `{"integrationName":"` + strings.Repeat("a", 51) + `","integrationType":"OPENSEARCH","resourceConfig":{"openSearchResourceConfig":{` + good + `}}}`,
			"ValidationException", "1 validation error detected: Value '" + strings.Repeat("a", 51) + "' at 'integrationName' failed to satisfy constraint: Member must have length less than or equal to 50"},
		{"PutIntegration", `{"integrationName":"a","integrationType":"SPLUNK","resourceConfig":{"openSearchResourceConfig":{` + good + `}}}`,
			"ValidationException", "1 validation error detected: Value 'SPLUNK' at 'integrationType' failed to satisfy constraint: Member must satisfy enum value set: [OPENSEARCH]"},
		{"PutIntegration", `{"integrationName":"a","integrationType":"OPENSEARCH","resourceConfig":{"openSearchResourceConfig":{"dataSourceRoleArn":"` + role + `","dashboardViewerPrincipals":[],"retentionDays":31}}}`,
			"ValidationException", "1 validation error detected: Value '31' at 'resourceConfig.openSearchResourceConfig.retentionDays' failed to satisfy constraint: Member must have value less than or equal to 30"},
		{"PutIntegration", `{"integrationName":"a","integrationType":"OPENSEARCH"}`,
			"ValidationException", "1 validation error detected: Value null at 'resourceConfig' failed to satisfy constraint: Member must not be null"},
		{"PutIntegration", `{"integrationName":"a","integrationType":"OPENSEARCH","resourceConfig":{}}`,
			"ValidationException", "resourceConfig must specify exactly one member: openSearchResourceConfig."},
		{"PutIntegration", `{"integrationName":"a","integrationType":"OPENSEARCH","resourceConfig":{"openSearchResourceConfig":{"dataSourceRoleArn":"arn:aws:iam::000000000000:user/u","dashboardViewerPrincipals":["arn:aws:iam::000000000000:role/v"],"retentionDays":7}}}`,
			"ValidationException", "Invalid dataSourceRoleArn: arn:aws:iam::000000000000:user/u. It must be the ARN of an IAM role."},
		{"PutIntegration", `{"integrationName":"a","integrationType":"OPENSEARCH","resourceConfig":{"openSearchResourceConfig":{"dataSourceRoleArn":"` + role + `","dashboardViewerPrincipals":[],"retentionDays":7}}}`,
			"ValidationException", "dashboardViewerPrincipals must name at least one IAM user or role."},
		{"PutIntegration", `{"integrationName":"a","integrationType":"OPENSEARCH","resourceConfig":{"openSearchResourceConfig":{"dataSourceRoleArn":"` + role + `","dashboardViewerPrincipals":["bob"],"retentionDays":7}}}`,
			"ValidationException", "Invalid dashboardViewerPrincipals entry: bob. It must be the ARN of an IAM user or role."},
		{"PutIntegration", `{"integrationName":"a","integrationType":"OPENSEARCH","resourceConfig":{"openSearchResourceConfig":{` + good + `,"kmsKeyArn":"alias/x"}}}`,
			"ValidationException", "Invalid kmsKeyArn: alias/x. It must be the ARN of a KMS key."},
		{"PutIntegration", `{"integrationName":"a","integrationType":"OPENSEARCH","resourceConfig":{"openSearchResourceConfig":{` + good + `,"applicationArn":"arn:aws:s3:::b"}}}`,
			"ValidationException", "Invalid applicationArn: arn:aws:s3:::b. It must be the ARN of an OpenSearch application."},
		{"GetIntegration", `{}`, "InvalidParameterException", "1 validation error detected: Value null at 'integrationName' failed to satisfy constraint: Member must not be null"},
		{"GetIntegration", `{"integrationName":"nope"}`, "ResourceNotFoundException", "Integration nope does not exist."},
		{"ListIntegrations", `{"integrationStatus":"DONE"}`, "InvalidParameterException", "1 validation error detected: Value 'DONE' at 'integrationStatus' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONING, ACTIVE, FAILED]"},
		{"ListIntegrations", `{"integrationNamePrefix":""}`, "InvalidParameterException", "2 validation errors detected: Value '' at 'integrationNamePrefix' failed to satisfy constraint: Member must have length greater than or equal to 1; Value '' at 'integrationNamePrefix' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"},
		{"DeleteIntegration", `{"integrationName":""}`, "ValidationException", "2 validation errors detected: Value '' at 'integrationName' failed to satisfy constraint: Member must have length greater than or equal to 1; Value '' at 'integrationName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"},
	}
	for _, tc := range cases {
		r := h.Call(t, tc.op, []byte(tc.body))
		if r.Code != tc.code || r.Message != tc.msg {
			t.Errorf("%s %s:\n got %s\nwant %s %q", tc.op, tc.body, r, tc.code, tc.msg)
		}
	}
	// Nothing was stored by the refusals.
	if r := h.Call(t, "ListIntegrations", []byte(`{}`)); r.Code != "" || !strings.Contains(string(r.Body), `"integrationSummaries":[]`) {
		t.Fatalf("list: %s %s", r, r.Body)
	}
}

// TestS3TableIntegrations: no S3 Table integration exists here (they live in
// observability admin), so every well-formed call is ResourceNotFound.
func TestS3TableIntegrations(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	arn := "arn:aws:observabilityadmin:us-east-1:000000000000:s3tableintegration/abc-123"
	_, err := c.AssociateSourceToS3TableIntegration(ctx, &cwl.AssociateSourceToS3TableIntegrationInput{IntegrationArn: aws.String(arn),
		DataSource: &types.DataSource{Name: aws.String("amazon_vpc"), Type: aws.String("flow")}})
	harness.WantErr(t, err, "ResourceNotFoundException", "S3 Table integration "+arn+" does not exist.")
	_, err = c.ListSourcesForS3TableIntegration(ctx, &cwl.ListSourcesForS3TableIntegrationInput{IntegrationArn: aws.String(arn), MaxResults: aws.Int32(10)})
	harness.WantErr(t, err, "ResourceNotFoundException", "S3 Table integration "+arn+" does not exist.")
	_, err = c.DisassociateSourceFromS3TableIntegration(ctx, &cwl.DisassociateSourceFromS3TableIntegrationInput{Identifier: aws.String("src-1")})
	harness.WantErr(t, err, "ResourceNotFoundException", "S3 Table integration source src-1 does not exist.")
	cases := []struct{ op, body, code, msg string }{
		{"AssociateSourceToS3TableIntegration", `{"integrationArn":"arn:aws:s3:::b","dataSource":{"name":"x"}}`, "ValidationException", "Invalid integrationArn: arn:aws:s3:::b. It must be the ARN of an S3 Table integration."},
		{"AssociateSourceToS3TableIntegration", `{"integrationArn":"` + arn + `"}`, "ValidationException", "1 validation error detected: Value null at 'dataSource' failed to satisfy constraint: Member must not be null"},
		{"AssociateSourceToS3TableIntegration", `{"integrationArn":"` + arn + `","dataSource":{}}`, "ValidationException", "1 validation error detected: Value null at 'dataSource.name' failed to satisfy constraint: Member must not be null"},
		{"AssociateSourceToS3TableIntegration", `{"integrationArn":"` + arn + `","dataSource":{"name":""}}`, "ValidationException", "dataSource name must not be empty."},
		{"ListSourcesForS3TableIntegration", `{"integrationArn":"` + arn + `","maxResults":101}`, "ValidationException", "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100"},
		{"ListSourcesForS3TableIntegration", `{"integrationArn":"` + arn + `","maxResults":0}`, "ValidationException", "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"ListSourcesForS3TableIntegration", `{"integrationArn":"x"}`, "ValidationException", "Invalid integrationArn: x. It must be the ARN of an S3 Table integration."},
		{"DisassociateSourceFromS3TableIntegration", `{"identifier":""}`, "ValidationException", "1 validation error detected: Value '' at 'identifier' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"DisassociateSourceFromS3TableIntegration", `{"identifier":"` + strings.Repeat("i", 2049) + `"}`, "ValidationException", "1 validation error detected: Value '" + strings.Repeat("i", 2049) + "' at 'identifier' failed to satisfy constraint: Member must have length less than or equal to 2048"},
	}
	for _, tc := range cases {
		r := h.Call(t, tc.op, []byte(tc.body))
		if r.Code != tc.code || r.Message != tc.msg {
			t.Errorf("%s %s:\n got %s\nwant %s %q", tc.op, tc.body, r, tc.code, tc.msg)
		}
	}
}
