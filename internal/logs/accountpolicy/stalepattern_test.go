package accountpolicy

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// TestSubscriptionsSkipStalePattern: a stored SUBSCRIPTION_FILTER_POLICY
// whose FilterPattern this build no longer compiles (as one with a %regex%
// past pattern.MaxRegexProgram, put by an earlier build) is left out of
// Filters and the other accounts' policies are still delivered. Before,
// Filters failed as a whole, and with it the delivery manager's reload of
// every account's subscriptions.
func TestSubscriptionsSkipStalePattern(t *testing.T) {
	st, err := embedded.Open(embedded.Config{Dir: filepath.Join(t.TempDir(), "d")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	strict := false
	compile := func(expr string) (logs.Pattern, error) {
		if strict && expr == "OLD" {
			return nil, errors.New("does not compile any more")
		}
		return pattern.Compile(expr)
	}
	s := New(Config{Store: st, Compile: compile})
	ctx := context.Background()
	// One subscription policy per account: the stale one in 111..., the
	// good one in 222....
	for acct, pat := range map[string]string{"111111111111": "OLD", "222222222222": "ERROR"} {
		c := caller.System(acct, "us-east-1", "test", "logs:PutAccountPolicy", "logs:PutSubscriptionFilter")
		if err := st.CreateGroup(ctx, store.Group{Scope: store.Scope{Account: acct, Region: "us-east-1"}, Name: "g", CreationTime: 1}); err != nil {
			t.Fatal(err)
		}
		doc := `{"DestinationArn":"arn:aws:lambda:us-east-1:` + acct + `:function:f","FilterPattern":"` + pat + `"}`
		if _, err := s.PutAccountPolicy(ctx, c, &PutAccountPolicyInput{PolicyName: "p" + pat, PolicyType: SubscriptionFilter,
			PolicyDocument: doc}); err != nil {
			t.Fatal(err)
		}
	}
	strict = true
	fs, err := s.Subscriptions(func(context.Context, string) string { return "" }).Filters(ctx)
	if err != nil {
		t.Fatalf("Filters: %v", err)
	}
	if len(fs) != 1 || fs[0].Name != "pERROR" {
		t.Fatalf("Filters = %+v, want policy pERROR's filter only", fs)
	}
}
