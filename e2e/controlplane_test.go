package e2e

import (
	"os"
	"testing"
)

// TestBoto3ResourcePolicies: Debian's boto3 (botocore 1.29, which predates
// deliveries, ListLogGroups and the storage tier, so only the resource
// policy operations are in its model) against the real binary: the verbatim
// echo, the normalised describe, the recorded not-found text, and the
// document checks. (botocore 1.29 drops members it does not know, such as
// policyScope; the SDK tests check those.)
func TestBoto3ResourcePolicies(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s not found (%v): %s", python, err, installHint)
	}
	srv := startServer(t)
	var out struct {
		Put       string       `json:"put"`
		Described []string     `json:"described"`
		Missing   *clientError `json:"missing"`
		Bad       *clientError `json:"bad"`
		After     int          `json:"after"`
	}
	boto3(t, srv, `
doc = '{"Version":"2012-10-17","Statement":[{"Sid":"R53","Effect":"Allow","Principal":{"Service":["route53.amazonaws.com"]},"Action":"logs:PutLogEvents","Resource":"*"}]}'
r = logs.put_resource_policy(policyName="route53", policyDocument=doc)
out["put"] = r["resourcePolicy"]["policyDocument"]
out["described"] = [p["policyDocument"] for p in logs.describe_resource_policies()["resourcePolicies"]]
out["missing"] = error_of(logs.delete_resource_policy, policyName="non-existent")
out["bad"] = error_of(logs.put_resource_policy, policyName="x", policyDocument='{"Statement":[{"Effect":"Allow","Principal":{"AWS":"delivery.logs.amazonaws.com"},"Action":"logs:PutLogEvents"}]}')
logs.delete_resource_policy(policyName="route53")
out["after"] = len(logs.describe_resource_policies()["resourcePolicies"])
`, &out)
	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"R53","Effect":"Allow","Principal":{"Service":["route53.amazonaws.com"]},"Action":"logs:PutLogEvents","Resource":"*"}]}`
	norm := `{"Version":"2012-10-17","Statement":[{"Sid":"R53","Effect":"Allow","Principal":{"Service":"route53.amazonaws.com"},"Action":"logs:PutLogEvents","Resource":"*"}]}`
	if out.Put != doc || len(out.Described) != 1 || out.Described[0] != norm || out.After != 0 {
		t.Fatalf("%+v", out)
	}
	if out.Missing == nil || out.Missing.Code != "ResourceNotFoundException" || out.Missing.Message != "Policy with name [non-existent] does not exist." {
		t.Fatalf("missing: %+v", out.Missing)
	}
	if out.Bad == nil || out.Bad.Code != "InvalidParameterException" || out.Bad.Message != "Could not convert to persistable policy." || out.Bad.Status != 400 {
		t.Fatalf("bad: %+v", out.Bad)
	}
}
