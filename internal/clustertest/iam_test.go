package clustertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/pgtest"
)

const iamBase = `accounts:
  - id: "123456789012"
    root:
      accessKeys:
        - id: AKIAROOTCLUSTER00001
          secret: "root-secret-at-least-16-chars-long"
    users:
%s`

const writerUser = `      - name: writer
        accessKeys:
          - id: %s
            secret: "%s"
        policies:
          - name: logs
            document:
              Version: "2012-10-17"
              Statement:
                - Effect: Allow
                  Action: ["logs:CreateLogGroup", "logs:DescribeLogGroups"]
                  Resource: "*"
`

// TestSharedIAM: two nodes on one database, each with its own copy of the
// IAM file. A user created in the first node's file and published there
// (SIGHUP: ReloadIdentities) is accepted by the second node, which never
// re-read its own file; the user's key rotated the same way is refused by
// the second node afterwards and the new key accepted. A third node started
// later with the stale original file uses the cluster's document.
func TestSharedIAM(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	orig := fmt.Sprintf(iamBase, "      []\n")
	a := harness.Start(t, harness.WithStore(url), harness.WithIAM(orig))
	b := harness.Start(t, harness.WithStore(url), harness.WithIAM(orig))
	ctx := context.Background()
	call := func(h *harness.Server, key, secret string) error {
		_, err := h.ClientAs(aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, "us-east-1").
			DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
		return err
	}
	refused := func(err error) bool {
		var ae smithy.APIError
		return errors.As(err, &ae) && ae.ErrorCode() == "UnrecognizedClientException"
	}
	const key1, secret1 = "AKIAWRITERKEY0000001", "writer-secret-one-long-enough"
	const key2, secret2 = "AKIAWRITERKEY0000002", "writer-secret-two-long-enough"
	if err := call(b, key1, secret1); !refused(err) {
		t.Fatalf("an unknown key on b: %v", err)
	}
	edit := func(key, secret string) {
		t.Helper()
		if err := os.WriteFile(a.IAMFile, []byte(fmt.Sprintf(iamBase, fmt.Sprintf(writerUser, key, secret))), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := a.ReloadIdentities(); err != nil {
			t.Fatal(err)
		}
	}
	edit(key1, secret1) // the user created
	if err := call(a, key1, secret1); err != nil {
		t.Fatalf("the new user on a: %v", err)
	}
	harness.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error { return call(b, key1, secret1) })
	edit(key2, secret2) // the key rotated
	harness.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		if err := call(b, key1, secret1); !refused(err) {
			return fmt.Errorf("the old key on b: %v", err)
		}
		return call(b, key2, secret2)
	})
	if a.IAMVersion() != 3 || b.IAMVersion() != 3 {
		t.Fatalf("document versions %d and %d, want 3 (the offer and two publishes)", a.IAMVersion(), b.IAMVersion())
	}
	// A broken file is not published: the cluster keeps version 3.
	if err := os.WriteFile(a.IAMFile, []byte("accounts: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.ReloadIdentities(); err == nil {
		t.Fatal("a broken IAM file was published")
	}
	c := harness.Start(t, harness.WithStore(url), harness.WithIAM(orig))
	if err := call(c, key2, secret2); err != nil || c.IAMVersion() != 3 {
		t.Fatalf("a node started with the stale file: %v (version %d)", err, c.IAMVersion())
	}
	if err := call(c, key1, secret1); !refused(err) {
		t.Fatalf("the rotated-out key on a new node: %v", err)
	}
}
