package resourcepolicy

import (
	"context"
	"testing"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// A user's PutResourcePolicy that lands between Ensure's checks (the group
// has no policy, nothing allows the writer) and its write must not be
// overwritten: the group keeps the user's policy and Ensure adds none.
func TestEnsureKeepsPolicyPutMeanwhile(t *testing.T) {
	e, err := embedded.Open(embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	scope := store.Scope{Account: "123456789012", Region: "us-east-1"}
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g", CreationTime: 1}); err != nil {
		t.Fatal(err)
	}
	svc := New(Config{Store: e})
	p := Principal{Writer: "test", Service: "delivery.logs.amazonaws.com", SourceArn: "arn:aws:logs:us-east-1:123456789012:*"}

	// The user's own policy: it lets another service write, not p.
	const userDoc = `{"Version":"2012-10-17","Statement":[{"Sid":"Mine","Effect":"Allow","Principal":{"Service":"es.amazonaws.com"},` +
		`"Action":"logs:PutLogEvents","Resource":"arn:aws:logs:us-east-1:123456789012:log-group:g:*"}]}`
	user := caller.System(scope.Account, scope.Region, "user", "logs:PutResourcePolicy")
	doc := userDoc
	var putErr error
	svc.ensureHook = func() {
		svc.ensureHook = nil // once
		_, putErr = svc.PutResourcePolicy(ctx, user, &PutResourcePolicyInput{PolicyName: "mine", PolicyDocument: &doc,
			ResourceArn: logs.GroupARN(scope, "g")})
	}
	added, err := svc.Ensure(ctx, scope, "g", p, WriterPolicy(scope, "g", p, "AWSLogDeliveryWrite20150319"))
	if err != nil {
		t.Fatal(err)
	}
	if putErr != nil {
		t.Fatalf("the user's PutResourcePolicy: %v", putErr)
	}
	if added {
		t.Error("Ensure reports it added a policy to a group that got the user's own meanwhile")
	}
	rec, err := svc.get(ctx, svc.key(scope, "R/g"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.PolicyName != "mine" || rec.PolicyDocument != userDoc {
		t.Errorf("the group's policy is %q %s, want the user's (mine)", rec.PolicyName, rec.PolicyDocument)
	}
}
