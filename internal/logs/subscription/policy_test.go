package subscription_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestDestinationPolicyLimits: an accessPolicy may be up to 5120 bytes (the
// model's documentation of the member), counted in UTF-8 bytes; one byte
// more is refused. "{}" is a JSON object and taken, allowing nobody.
func TestDestinationPolicyLimits(t *testing.T) {
	h := harness.Start(t, threeAccounts())
	a := h.ClientAs(alice, "us-east-1")
	b := h.ClientAs(bob, "us-east-1")
	ctx := context.Background()
	if _, err := a.PutDestination(ctx, &cwl.PutDestinationInput{DestinationName: aws.String("central"), TargetArn: aws.String(kinesisARN), RoleArn: aws.String(roleARN)}); err != nil {
		t.Fatal(err)
	}
	put := func(doc string) error {
		_, err := a.PutDestinationPolicy(ctx, &cwl.PutDestinationPolicyInput{DestinationName: aws.String("central"), AccessPolicy: aws.String(doc)})
		return err
	}
	// padded is a valid policy document of exactly n bytes, its padding in
	// a two-byte character ("é") so that bytes, not characters, are counted.
	padded := func(n int) string {
		head := `{"Version":"2012-10-17","Statement":[{"Sid":"`
		tail := `","Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"logs:PutSubscriptionFilter","Resource":"*"}]}`
		pad := n - len(head) - len(tail)
		return head + strings.Repeat("é", pad/2) + strings.Repeat("x", pad%2) + tail
	}
	if doc := padded(5120); len(doc) != 5120 || put(doc) != nil {
		t.Fatalf("5120 bytes: %v", put(doc))
	}
	doc := padded(5121)
	wantErr(t, put(doc), "InvalidParameterException", "Invalid accessPolicy: it is 5121 bytes long; it can be up to 5120 bytes")
	if n := len([]rune(doc)); n > 5120 {
		t.Fatalf("the 5121-byte document has %d characters; the test wants fewer than 5120", n)
	}
	// The 5120-byte policy stayed, and still lets bob subscribe.
	if _, err := b.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/b")}); err != nil {
		t.Fatal(err)
	}
	dest := "arn:aws:logs:us-east-1:111111111111:destination:central"
	sub := func() error {
		_, err := b.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/b"), FilterName: aws.String("f"),
			FilterPattern: aws.String(""), DestinationArn: aws.String(dest)})
		return err
	}
	if err := sub(); err != nil {
		t.Fatalf("after the refused put: %v", err)
	}
	if err := put(`{}`); err != nil {
		t.Fatalf("{}: %v", err)
	}
	out, err := a.DescribeDestinations(ctx, &cwl.DescribeDestinationsInput{DestinationNamePrefix: aws.String("central")})
	if err != nil || len(out.Destinations) != 1 || aws.ToString(out.Destinations[0].AccessPolicy) != `{}` {
		t.Fatalf("describe: %+v %v", out, err)
	}
	if _, err := b.DeleteSubscriptionFilter(ctx, &cwl.DeleteSubscriptionFilterInput{LogGroupName: aws.String("/b"), FilterName: aws.String("f")}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, sub(), "AccessDeniedException", "User with accountId: 222222222222 is not authorized to perform: logs:PutSubscriptionFilter on resource: "+dest)
}
