package syslogconfig

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/policygate"
	"github.com/cairnlog/cairn/internal/logs/resourcepolicy"
	"github.com/cairnlog/cairn/internal/metrics"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
	"github.com/cairnlog/cairn/internal/syslog"
)

// revokeAfterFirst is the real writer (the enforcer over the core) with one
// hook: once its first PutLogEvents is stored, the group's resource policy
// is deleted, so the enforcer refuses the stream's later batches. It times
// the policy change; the refusal itself is the enforcer's.
type revokeAfterFirst struct {
	logs.Writer
	revoke func()
	once   sync.Once
}

func (r *revokeAfterFirst) PutLogEvents(ctx context.Context, c caller.Caller, in *logs.PutLogEventsInput) (*logs.PutLogEventsOutput, error) {
	out, err := r.Writer.PutLogEvents(ctx, c, in)
	if err == nil {
		r.once.Do(r.revoke)
	}
	return out, err
}

// TestRefusedCountsOnlyWhatWasRefused: one host's messages, more than one
// PutLogEvents batch (over 1 MiB), are written while the group's policy is
// deleted after the first batch. The refused counter counts exactly the
// messages that were not stored (read back from the store), not the whole
// stream.
func TestRefusedCountsOnlyWhatWasRefused(t *testing.T) {
	ctx := context.Background()
	st, err := embedded.Open(embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ep := &Endpoint{ID: DefaultEndpointID, Scope: store.Scope{Account: "000000000000", Region: "us-east-1"}}
	admin := caller.System(ep.Scope.Account, ep.Scope.Region, "test", "logs:CreateLogGroup", "logs:PutResourcePolicy",
		"logs:DeleteResourcePolicy", "logs:PutSyslogConfiguration", "logs:GetLogEvents")
	core := logs.New(logs.Config{Store: st})
	policies := resourcepolicy.New(resourcepolicy.Config{Store: st})
	enforce := policygate.New(policies, nil)

	const group = "sys"
	arn := "arn:aws:logs:us-east-1:000000000000:log-group:" + group
	if _, err := core.CreateLogGroup(ctx, admin, &logs.CreateLogGroupInput{LogGroupName: group}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"syslog.logs.amazonaws.com"},` +
		`"Action":["logs:PutLogEvents","logs:CreateLogStream"],"Resource":"` + arn + `:*",` +
		`"Condition":{"StringEquals":{"aws:sourceVpce":"` + ep.ID + `"}}}]}`
	put, err := policies.PutResourcePolicy(ctx, admin, &resourcepolicy.PutResourcePolicyInput{ResourceArn: arn, PolicyDocument: &doc})
	if err != nil {
		t.Fatal(err)
	}
	p := policygate.Principal{Writer: "syslog", Service: policygate.SyslogPrincipal, Keys: map[string]string{"aws:sourcevpce": ep.ID}}
	w := &revokeAfterFirst{Writer: enforce.Writer(core, p), revoke: func() {
		if _, err := policies.DeleteResourcePolicy(ctx, admin, &resourcepolicy.DeleteResourcePolicyInput{ResourceArn: arn,
			ExpectedRevisionID: put.ResourcePolicy.RevisionID}); err != nil {
			t.Error(err)
		}
	}}
	s, err := New(ctx, Config{Store: st, Logs: w, Endpoint: ep})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.PutSyslogConfiguration(ctx, admin, &PutSyslogConfigurationInput{LogGroupIdentifier: group}); err != nil {
		t.Fatal(err)
	}

	// 3,000 messages of about 1 KiB from one host: three PutLogEvents
	// batches of at most 1 MiB.
	const total = 3000
	now := time.Now()
	batch := make([]item, total)
	for i := range batch {
		batch[i] = item{m: syslog.Message{Format: "rfc5424", Hostname: "web01", Message: fmt.Sprintf("%05d %s", i, strings.Repeat("x", 1000))},
			from: netip.MustParseAddr("127.0.0.1"), at: now}
	}
	s.write(batch)

	stored := 0
	head := true
	in := &logs.GetLogEventsInput{LogGroupName: group, LogStreamName: "web01", StartFromHead: &head}
	for {
		out, err := core.GetLogEvents(ctx, admin, in)
		if err != nil {
			t.Fatal(err)
		}
		stored += len(out.Events)
		if len(out.Events) == 0 {
			break
		}
		in.NextToken = out.NextForwardToken
	}
	refused := 0.0
	s.Collect(func(f metrics.Family) {
		if f.Name == "cairn_syslog_messages_refused_total" {
			refused = f.Samples[0].Value
		}
	})
	if stored == 0 || stored == total {
		t.Fatalf("stored %d of %d: the policy was not deleted between batches", stored, total)
	}
	if int(refused) != total-stored {
		t.Fatalf("refused counter %v, want %d (%d of %d stored)", refused, total-stored, stored, total)
	}
}
