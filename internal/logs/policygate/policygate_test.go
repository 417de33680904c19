package policygate_test

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/delivery"
	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
)

const acct = "000000000000" // the harness's account

func groupARN(g string) string { return "arn:aws:logs:us-east-1:" + acct + ":log-group:" + g }

// refused reads cairn_resource_policy_refused_writes_total{writer=w} from
// the server's /metrics (0 while absent).
func refused(t *testing.T, h *harness.Server, w string) int {
	t.Helper()
	resp, err := http.Get(h.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	prefix := `cairn_resource_policy_refused_writes_total{writer="` + w + `",`
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, prefix) {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				t.Fatal(line, err)
			}
			return int(v)
		}
	}
	return 0
}

// waitRefused waits until writer w's refusals reach at least n.
func waitRefused(t *testing.T, h *harness.Server, w string, n int) {
	t.Helper()
	harness.CheckFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		if got := refused(t, h, w); got < n {
			return fmt.Errorf("%s refused %d times, want ≥ %d", w, got, n)
		}
		return nil
	})
}

// policy is a hand-written statement letting service put events into and
// create streams in group, with condition (JSON, "" for none).
func policy(service, group, condition string) string {
	s := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + service + `"},` +
		`"Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"` + groupARN(group) + `:*"`
	if condition != "" {
		s += `,"Condition":` + condition
	}
	return s + `}]}`
}

// groupPolicy is the group's resource policy, or nil.
func groupPolicy(t *testing.T, c *cwl.Client, g string) *types.ResourcePolicy {
	t.Helper()
	d, err := c.DescribeResourcePolicies(t.Context(), &cwl.DescribeResourcePoliciesInput{PolicyScope: types.PolicyScopeResource, ResourceArn: aws.String(groupARN(g))})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.ResourcePolicies) == 0 {
		return nil
	}
	return &d.ResourcePolicies[0]
}

// hasRecord reports whether the audit group holds a record of CreateLogGroup
// for name.
func hasRecord(t *testing.T, c *cwl.Client, trail, name string) bool {
	t.Helper()
	out, err := c.FilterLogEvents(t.Context(), &cwl.FilterLogEventsInput{LogGroupName: aws.String(trail),
		FilterPattern: aws.String(`{ $.eventName = "CreateLogGroup" && $.requestParameters.logGroupName = "` + name + `" }`)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Events) > 0
}

func createGroup(t *testing.T, c *cwl.Client, g string) {
	t.Helper()
	if _, err := c.CreateLogGroup(t.Context(), &cwl.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
		t.Fatal(err)
	}
}

// TestAuditTrailNeedsPolicy: the audit writer acts as cloudtrail.amazonaws.com
// with the trail's ARN as aws:SourceArn. Cairn adds the group policy when it
// configures the trail; with it records are written; deleted, they are
// refused, counted and kept; a policy for another principal, or for another
// trail's SourceArn, does not let them through; restored, the records kept
// meanwhile are written.
func TestAuditTrailNeedsPolicy(t *testing.T) {
	const trail = "trail"
	h := harness.Start(t, harness.Configure(func(c *server.Config) {
		c.AuditLogGroup = trail
		c.AuditFlushInterval = 10 * time.Millisecond
	}))
	c := h.Client()
	ctx := t.Context()
	p := groupPolicy(t, c, trail)
	if p == nil || !strings.Contains(*p.PolicyDocument, `"Service":"cloudtrail.amazonaws.com"`) ||
		!strings.Contains(*p.PolicyDocument, `"aws:SourceArn":"arn:aws:cloudtrail:us-east-1:`+acct+`:trail/cairn-audit"`) {
		t.Fatalf("the audit group's policy added at start: %+v", p)
	}
	createGroup(t, c, "one")
	harness.CheckFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		if !hasRecord(t, c, trail, "one") {
			return fmt.Errorf("no record of one")
		}
		return nil
	})
	if n := refused(t, h, "audit"); n != 0 {
		t.Fatalf("%d refusals with the policy", n)
	}

	if _, err := c.DeleteResourcePolicy(ctx, &cwl.DeleteResourcePolicyInput{ResourceArn: aws.String(groupARN(trail)), ExpectedRevisionId: p.RevisionId}); err != nil {
		t.Fatal(err)
	}
	createGroup(t, c, "two")
	// Two more refusals after "two" was queued: one flush began after it.
	waitRefused(t, h, "audit", refused(t, h, "audit")+2)
	if hasRecord(t, c, trail, "two") {
		t.Fatal("a record was written with no policy")
	}

	// Another service principal, then CloudTrail from another trail: still refused.
	if _, err := c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{PolicyName: aws.String("other-principal"),
		PolicyDocument: aws.String(policy("delivery.logs.amazonaws.com", trail, ""))}); err != nil {
		t.Fatal(err)
	}
	waitRefused(t, h, "audit", refused(t, h, "audit")+2)
	otherTrail := `{"ArnLike":{"aws:SourceArn":"arn:aws:cloudtrail:us-east-1:` + acct + `:trail/other"}}`
	if _, err := c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{PolicyName: aws.String("other-trail"),
		PolicyDocument: aws.String(policy("cloudtrail.amazonaws.com", trail, otherTrail))}); err != nil {
		t.Fatal(err)
	}
	otherAccount := `{"StringEquals":{"aws:SourceAccount":"111111111111"}}`
	if _, err := c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{PolicyName: aws.String("other-account"),
		PolicyDocument: aws.String(policy("cloudtrail.amazonaws.com", trail, otherAccount))}); err != nil {
		t.Fatal(err)
	}
	waitRefused(t, h, "audit", refused(t, h, "audit")+2)
	if hasRecord(t, c, trail, "two") {
		t.Fatal("a record was written under a policy for another principal, trail or account")
	}

	// Restored (account-wide, this trail's ARN): the kept records arrive.
	ours := `{"ArnLike":{"aws:SourceArn":"arn:aws:cloudtrail:us-east-1:` + acct + `:trail/cairn-audit"},"StringEquals":{"aws:SourceAccount":"` + acct + `"}}`
	if _, err := c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{PolicyName: aws.String("ours"),
		PolicyDocument: aws.String(policy("cloudtrail.amazonaws.com", trail, ours))}); err != nil {
		t.Fatal(err)
	}
	createGroup(t, c, "three")
	harness.CheckFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		for _, g := range []string{"two", "three"} {
			if !hasRecord(t, c, trail, g) {
				return fmt.Errorf("no record of %s", g)
			}
		}
		return nil
	})
	// An explicit Deny wins over the Allow.
	deny := `{"Statement":[{"Effect":"Deny","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"logs:PutLogEvents","Resource":"*"}]}`
	if _, err := c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{PolicyName: aws.String("deny"), PolicyDocument: aws.String(deny)}); err != nil {
		t.Fatal(err)
	}
	createGroup(t, c, "four")
	waitRefused(t, h, "audit", refused(t, h, "audit")+2)
	if hasRecord(t, c, trail, "four") {
		t.Fatal("written despite a Deny")
	}
}

// TestAuditGroupPolicyKept: a group that already has a policy of the user's
// keeps it at start (none is added), and nothing is written until it allows
// the trail.
func TestAuditGroupPolicyKept(t *testing.T) {
	dir := t.TempDir()
	h := harness.Start(t, harness.InDir(dir))
	c := h.Client()
	createGroup(t, c, "trail")
	mine := policy("route53.amazonaws.com", "trail", "")
	if _, err := c.PutResourcePolicy(t.Context(), &cwl.PutResourcePolicyInput{ResourceArn: aws.String(groupARN("trail")), PolicyDocument: aws.String(mine)}); err != nil {
		t.Fatal(err)
	}
	h.Stop()
	h = harness.Start(t, harness.InDir(dir), harness.Configure(func(c *server.Config) {
		c.AuditLogGroup = "trail"
		c.AuditFlushInterval = 10 * time.Millisecond
	}))
	c = h.Client()
	if p := groupPolicy(t, c, "trail"); p == nil || *p.PolicyDocument != mine {
		t.Fatalf("the user's policy was replaced: %+v", p)
	}
	createGroup(t, c, "x")
	waitRefused(t, h, "audit", refused(t, h, "audit")+2)
	if hasRecord(t, c, "trail", "x") {
		t.Fatal("written under a policy for route53")
	}
}

// TestSubscriptionLogGroupNeedsPolicy: a subscription delivering into a log
// group (the log_group sink) writes as logs.amazonaws.com with the source
// group's ARN as aws:SourceArn: without a policy the batch is retried (a
// retryable failure) and counted; a policy naming another source group does
// not help; with the right one every event arrives, once.
func TestSubscriptionLogGroupNeedsPolicy(t *testing.T) {
	const dest = "arn:aws:lambda:us-east-1:000000000000:function:copy"
	h := harness.Start(t, harness.Configure(func(c *server.Config) {
		c.Sinks = map[string]delivery.SinkConfig{dest: {LogGroup: &delivery.LogGroupConfig{Name: "copy"}}}
	}))
	c := h.Client()
	ctx := t.Context()
	createGroup(t, c, "src")
	createGroup(t, c, "copy")
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("src"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("src"), FilterName: aws.String("all"),
		FilterPattern: aws.String(""), DestinationArn: aws.String(dest)}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	var evs []types.InputLogEvent
	for i := range 5 {
		evs = append(evs, types.InputLogEvent{Timestamp: aws.Int64(now + int64(i)), Message: aws.String(fmt.Sprintf("event %d", i))})
	}
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("src"), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
	copied := func() int {
		out, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("copy")})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Events)
	}
	waitRefused(t, h, "subscription", 2)
	stats := func() delivery.FilterStats {
		for _, s := range h.Delivery().Stats() {
			if s.FilterName == "all" {
				return s
			}
		}
		t.Fatal("no follower")
		return delivery.FilterStats{}
	}
	if s := stats(); s.Retries == 0 || s.FailedEvents != 0 || !strings.Contains(s.LastError, "no resource policy allows logs.amazonaws.com") {
		t.Fatalf("not a retried failure: %+v", s)
	}
	if n := copied(); n != 0 {
		t.Fatalf("%d events copied with no policy", n)
	}
	otherSource := `{"ArnLike":{"aws:SourceArn":"` + groupARN("elsewhere") + `"}}`
	out, err := c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{ResourceArn: aws.String(groupARN("copy")),
		PolicyDocument: aws.String(policy("logs.amazonaws.com", "copy", otherSource))})
	if err != nil {
		t.Fatal(err)
	}
	waitRefused(t, h, "subscription", refused(t, h, "subscription")+2)
	if n := copied(); n != 0 {
		t.Fatalf("%d events copied under a policy for another source", n)
	}
	ours := `{"ArnLike":{"aws:SourceArn":"` + groupARN("src") + `"},"StringEquals":{"aws:SourceAccount":"` + acct + `"}}`
	if _, err := c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{ResourceArn: aws.String(groupARN("copy")), ExpectedRevisionId: out.RevisionId,
		PolicyDocument: aws.String(policy("logs.amazonaws.com", "copy", ours))}); err != nil {
		t.Fatal(err)
	}
	// The next retry is at most MaxBackoff (30 s) away.
	harness.CheckFor(t, 40*time.Second, 20*time.Millisecond, func() error {
		if n := copied(); n != 5 {
			return fmt.Errorf("%d of 5 copied", n)
		}
		if s := stats(); s.FailedEvents != 0 || s.DeliveredEvents != 5 {
			return fmt.Errorf("after the policy: %+v", s)
		}
		return nil
	})
}

// TestSyslogNeedsPolicy: the syslog writer acts as syslog.logs.amazonaws.com
// from the listener's VPC endpoint: with no policy a message is refused and
// counted; a policy for another endpoint does not allow it; with AWS's
// documented policy it is written.
func TestSyslogNeedsPolicy(t *testing.T) {
	var logged harness.SyncBuffer
	h := harness.Start(t, harness.Configure(func(c *server.Config) {
		c.SyslogListen = "127.0.0.1:0"
		c.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	}))
	c := h.Client()
	ctx := t.Context()
	createGroup(t, c, "sys")
	if _, err := c.PutSyslogConfiguration(ctx, &cwl.PutSyslogConfigurationInput{LogGroupIdentifier: aws.String("sys")}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "syslog configured for a log group no resource policy lets syslog.logs.amazonaws.com write into") {
		t.Fatalf("no hint at PutSyslogConfiguration:\n%s", logged.String())
	}
	send := func(msg string) {
		conn, err := net.Dial("udp", h.SyslogAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "<14>%s", msg)
	}
	messages := func() []string {
		out, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("sys")})
		if err != nil {
			t.Fatal(err)
		}
		var m []string
		for _, e := range out.Events {
			m = append(m, *e.Message)
		}
		return m
	}
	// UDP may lose a datagram even on loopback: send until one is refused.
	harness.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		send("refused message")
		if refused(t, h, "syslog") == 0 {
			return fmt.Errorf("not refused yet")
		}
		return nil
	})
	endpoint := func(vpce string) string { return `{"StringEquals":{"aws:sourceVpce":"` + vpce + `"}}` }
	out, err := c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{ResourceArn: aws.String(groupARN("sys")),
		PolicyDocument: aws.String(policy("syslog.logs.amazonaws.com", "sys", endpoint("vpce-0123456789abcdef0")))})
	if err != nil {
		t.Fatal(err)
	}
	n := refused(t, h, "syslog")
	harness.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		send("another endpoint's message")
		if refused(t, h, "syslog") <= n {
			return fmt.Errorf("not refused yet")
		}
		return nil
	})
	if m := messages(); len(m) != 0 {
		t.Fatalf("written without a policy for this endpoint: %q", m)
	}
	if _, err := c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{ResourceArn: aws.String(groupARN("sys")), ExpectedRevisionId: out.RevisionId,
		PolicyDocument: aws.String(policy("syslog.logs.amazonaws.com", "sys", endpoint("vpce-0000000000000000c")))}); err != nil {
		t.Fatal(err)
	}
	harness.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		send("allowed message")
		for _, m := range messages() {
			if strings.Contains(m, "allowed message") {
				return nil
			}
		}
		return fmt.Errorf("not written yet")
	})
	for _, m := range messages() {
		if strings.Contains(m, "refused") || strings.Contains(m, "another endpoint") {
			t.Fatalf("a refused message was written later: %s", m)
		}
	}
	// Warned once for the group and writer however many refusals, and
	// said once that writing resumes.
	if out := logged.String(); strings.Count(out, "no resource policy allows Cairn's writer") != 1 || strings.Count(out, "writing resumes") != 1 {
		t.Fatalf("warnings (%d refusals):\n%s", refused(t, h, "syslog"), out)
	}
	resp, err := http.Get(h.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "cairn_syslog_messages_refused_total "); ok {
			if f, _ := strconv.ParseFloat(v, 64); f < 2 {
				t.Fatalf("syslog messages refused: %s, want ≥ 2", v)
			}
			return
		}
	}
	t.Fatal("no cairn_syslog_messages_refused_total")
}

// TestFindingsNeedPolicy: data protection findings are written as
// delivery.logs.amazonaws.com. PutDataProtectionPolicy with a CloudWatch Logs
// destination adds the destination's policy (as AWS's delivery does); with
// it findings arrive; deleted, findings are refused and counted while the
// events themselves are still stored (masked).
func TestFindingsNeedPolicy(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	createGroup(t, c, "app")
	createGroup(t, c, "findings")
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	const email = "arn:aws:dataprotection::aws:data-identifier/EmailAddress"
	doc := `{"Name":"p","Version":"2021-06-01","Statement":[` +
		`{"Sid":"audit","DataIdentifier":["` + email + `"],"Operation":{"Audit":{"FindingsDestination":{"CloudWatchLogs":{"LogGroup":"findings"}}}}},` +
		`{"Sid":"redact","DataIdentifier":["` + email + `"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}`
	if _, err := c.PutDataProtectionPolicy(ctx, &cwl.PutDataProtectionPolicyInput{LogGroupIdentifier: aws.String("app"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	p := groupPolicy(t, c, "findings")
	if p == nil || !strings.Contains(*p.PolicyDocument, `"Service":"delivery.logs.amazonaws.com"`) {
		t.Fatalf("the findings group's policy: %+v", p)
	}
	put := func(msg string) {
		t.Helper()
		if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s"),
			LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String(msg)}}}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(g string) int {
		out, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String(g)})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Events)
	}
	put("mail alice@example.com")
	if n := count("findings"); n != 1 {
		t.Fatalf("%d findings with the policy, want 1", n)
	}
	if _, err := c.DeleteResourcePolicy(ctx, &cwl.DeleteResourcePolicyInput{ResourceArn: aws.String(groupARN("findings")), ExpectedRevisionId: p.RevisionId}); err != nil {
		t.Fatal(err)
	}
	put("mail bob@example.com")
	if n := refused(t, h, "findings"); n != 1 {
		t.Fatalf("%d findings writes refused, want 1", n)
	}
	if f, a := count("findings"), count("app"); f != 1 || a != 2 {
		t.Fatalf("%d findings and %d events after the policy was deleted, want 1 and 2", f, a)
	}
}

// TestAccountFindingsPolicy: a DATA_PROTECTION_POLICY account policy with a
// CloudWatch Logs findings destination adds the destination's policy too
// (it did not: only PutDataProtectionPolicy did, so an account-level
// policy's findings were refused until the user added it), and the
// findings of a group it covers arrive.
func TestAccountFindingsPolicy(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	createGroup(t, c, "app")
	createGroup(t, c, "acct-findings")
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	const email = "arn:aws:dataprotection::aws:data-identifier/EmailAddress"
	doc := `{"Name":"acct","Version":"2021-06-01","Statement":[` +
		`{"Sid":"audit","DataIdentifier":["` + email + `"],"Operation":{"Audit":{"FindingsDestination":{"CloudWatchLogs":{"LogGroup":"acct-findings"}}}}},` +
		`{"Sid":"redact","DataIdentifier":["` + email + `"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}`
	if p := groupPolicy(t, c, "acct-findings"); p != nil {
		t.Fatalf("a policy before any was put: %+v", p)
	}
	if _, err := c.PutAccountPolicy(ctx, &cwl.PutAccountPolicyInput{PolicyName: aws.String("acct"), PolicyType: types.PolicyTypeDataProtectionPolicy,
		PolicyDocument: aws.String(doc), Scope: types.ScopeAll}); err != nil {
		t.Fatal(err)
	}
	p := groupPolicy(t, c, "acct-findings")
	if p == nil || !strings.Contains(*p.PolicyDocument, `"Service":"delivery.logs.amazonaws.com"`) {
		t.Fatalf("the findings group's policy: %+v", p)
	}
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String("mail alice@example.com")}}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("acct-findings")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 1 || !strings.Contains(aws.ToString(out.Events[0].Message), `"name":"EmailAddress"`) {
		t.Fatalf("findings %+v", out.Events)
	}
	if n := refused(t, h, "findings"); n != 0 {
		t.Fatalf("%d findings writes refused, want 0", n)
	}
}

// TestVendedDeliveryAddsPolicy: CreateDelivery into a CWL destination gives
// the group AWS's delivery policy when it has none (AWS's documented
// AWSLogDeliveryWrite20150319 statement, checked member by member), and
// keeps a group's own policy.
func TestVendedDeliveryAddsPolicy(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	const cf = "arn:aws:cloudfront::000000000000:distribution/E1ABCDEF"
	if _, err := c.PutDeliverySource(ctx, &cwl.PutDeliverySourceInput{Name: aws.String("cf"), ResourceArn: aws.String(cf), LogType: aws.String("ACCESS_LOGS")}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"vended", "mine"} {
		createGroup(t, c, g)
	}
	mine := policy("cloudfront.amazonaws.com", "mine", "")
	if _, err := c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{ResourceArn: aws.String(groupARN("mine")), PolicyDocument: aws.String(mine)}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"vended", "mine"} {
		d, err := c.PutDeliveryDestination(ctx, &cwl.PutDeliveryDestinationInput{Name: aws.String(g),
			DeliveryDestinationConfiguration: &types.DeliveryDestinationConfiguration{DestinationResourceArn: aws.String(groupARN(g))}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateDelivery(ctx, &cwl.CreateDeliveryInput{DeliverySourceName: aws.String("cf"), DeliveryDestinationArn: d.DeliveryDestination.Arn}); err != nil {
			t.Fatal(err)
		}
	}
	want := `{"Version":"2012-10-17","Statement":[{"Sid":"AWSLogDeliveryWrite20150319","Effect":"Allow","Principal":{"Service":"delivery.logs.amazonaws.com"},` +
		`"Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"` + groupARN("vended") + `:log-stream:*",` +
		`"Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:logs:us-east-1:` + acct + `:*"},"StringEquals":{"aws:SourceAccount":"` + acct + `"}}}]}`
	if p := groupPolicy(t, c, "vended"); p == nil || *p.PolicyDocument != want {
		t.Fatalf("vended group's policy:\n got %v\nwant %s", p, want)
	}
	if p := groupPolicy(t, c, "mine"); p == nil || *p.PolicyDocument != mine {
		t.Fatalf("the user's policy was replaced: %+v", p)
	}
}

// alice and bob administer accounts 111111111111 and 222222222222.
var (
	alice = harness.UserAllowedAll("alice", "AKIAALICE00000000001", "alice-secret-0123456789")
	bob   = harness.UserAllowedAll("bob", "AKIABOB0000000000001", "bob-secret-0123456789")
)

// TestCrossAccountDestinationNeedsPolicy: account 222222222222 subscribes to
// account 111111111111's logs destination, whose target is a log group sink:
// the events are written into the destination owner's group, under the
// owner's resource policies, as logs.amazonaws.com with the sender's account
// as aws:SourceAccount; a policy naming another source account does not let
// them in, one naming the sender does.
func TestCrossAccountDestinationNeedsPolicy(t *testing.T) {
	const target = "arn:aws:kinesis:us-east-1:111111111111:stream/central"
	h := harness.Start(t, harness.WithAccounts(harness.Account{ID: "111111111111", Users: []harness.User{alice}},
		harness.Account{ID: "222222222222", Users: []harness.User{bob}}), harness.Configure(func(c *server.Config) {
		c.Sinks = map[string]delivery.SinkConfig{target: {LogGroup: &delivery.LogGroupConfig{Name: "collected"}}}
	}))
	ctx := t.Context()
	a := h.ClientAs(alice.Creds(), "us-east-1")
	b := h.ClientAs(bob.Creds(), "us-east-1")
	createGroup(t, a, "collected")
	d, err := a.PutDestination(ctx, &cwl.PutDestinationInput{DestinationName: aws.String("central"), TargetArn: aws.String(target),
		RoleArn: aws.String("arn:aws:iam::111111111111:role/CWLtoKinesis")})
	if err != nil {
		t.Fatal(err)
	}
	access := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"logs:PutSubscriptionFilter","Resource":"` + *d.Destination.Arn + `"}]}`
	if _, err := a.PutDestinationPolicy(ctx, &cwl.PutDestinationPolicyInput{DestinationName: aws.String("central"), AccessPolicy: aws.String(access)}); err != nil {
		t.Fatal(err)
	}
	createGroup(t, b, "app")
	if _, err := b.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("app"), FilterName: aws.String("out"),
		FilterPattern: aws.String(""), DestinationArn: d.Destination.Arn}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String("from bob")}}}); err != nil {
		t.Fatal(err)
	}
	collected := func(c *cwl.Client) int {
		out, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("collected")})
		if err != nil {
			return -1 // bob has no such group
		}
		return len(out.Events)
	}
	waitRefused(t, h, "subscription", 2)
	arn := "arn:aws:logs:us-east-1:111111111111:log-group:collected"
	doc := func(sourceAccount string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"logs.amazonaws.com"},` +
			`"Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"` + arn + `:*",` +
			`"Condition":{"StringEquals":{"aws:SourceAccount":"` + sourceAccount + `"}}}]}`
	}
	out, err := a.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{ResourceArn: aws.String(arn), PolicyDocument: aws.String(doc("111111111111"))})
	if err != nil {
		t.Fatal(err)
	}
	waitRefused(t, h, "subscription", refused(t, h, "subscription")+2)
	if n := collected(a); n != 0 {
		t.Fatalf("%d events in with a policy for the owner's own account as source", n)
	}
	if _, err := a.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{ResourceArn: aws.String(arn), ExpectedRevisionId: out.RevisionId,
		PolicyDocument: aws.String(doc("222222222222"))}); err != nil {
		t.Fatal(err)
	}
	harness.CheckFor(t, 40*time.Second, 20*time.Millisecond, func() error {
		if n := collected(a); n != 1 {
			return fmt.Errorf("%d events in the owner's group", n)
		}
		return nil
	})
	if n := collected(b); n != -1 {
		t.Fatalf("the sender has a collected group with %d events", n)
	}
}
