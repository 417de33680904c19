package dataprotection_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/awsclient"
	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
)

const account = "123456789012"

// masked may do everything but logs:Unmask (denied explicitly, as an
// operator would); harness.Admin may do everything.
func maskedUser() harness.User {
	return harness.User{Name: "masked", Key: aws.Credentials{AccessKeyID: "AKIAMASKEDTEST000001", SecretAccessKey: "masked-secret-0123456789"},
		PolicyName: "all-but-unmask", Statements: []harness.Statement{harness.AllowAll(), harness.Deny([]string{"logs:Unmask"}, "*")}}
}

func clients(t *testing.T, opts ...harness.Option) (*harness.Server, *cwl.Client, *cwl.Client) {
	s := harness.Start(t, append([]harness.Option{harness.WithUsers(account, harness.Admin(), maskedUser())}, opts...)...)
	admin := s.ClientAs(harness.Admin().Creds(), "us-east-1", awsclient.NoHostPrefix)
	masked := s.ClientAs(maskedUser().Creds(), "us-east-1", awsclient.NoHostPrefix)
	return s, admin, masked
}

const managed = "arn:aws:dataprotection::aws:data-identifier/"

// allIdentifiers are the managed identifiers Cairn detects, and the doc
// example's custom identifier.
var allIdentifiers = []string{"AwsSecretKey", "AwsAccessKeyId", "EmailAddress", "CreditCardNumber", "IpAddress", "Ssn-US",
	"JsonWebToken", "OpenSshPrivateKey", "PgpPrivateKey", "PkcsPrivateKey", "PuttyPrivateKey"}

func policyDoc(findings string, ids ...string) string {
	var list []string
	for _, id := range ids {
		if id == "EmployeeId" {
			list = append(list, id)
		} else {
			list = append(list, managed+id)
		}
	}
	dest := map[string]any{}
	if findings != "" {
		dest["CloudWatchLogs"] = map[string]string{"LogGroup": findings}
	}
	doc := map[string]any{
		"Name": "all-identifiers", "Description": "test", "Version": "2021-06-01",
		"Statement": []any{
			map[string]any{"Sid": "audit", "DataIdentifier": list, "Operation": map[string]any{"Audit": map[string]any{"FindingsDestination": dest}}},
			map[string]any{"Sid": "redact", "DataIdentifier": list, "Operation": map[string]any{"Deidentify": map[string]any{"MaskConfig": map[string]any{}}}},
		},
	}
	if slices.Contains(ids, "EmployeeId") {
		doc["Configuration"] = map[string]any{"CustomDataIdentifier": []any{map[string]string{"Name": "EmployeeId", "Regex": `EmployeeId-\d{9}`}}}
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// golden is one hand-written case: before + secret + after goes in; before +
// one asterisk per character of secret + after comes out (secret "" : the
// message must come out unchanged). The values are the AWS documentation's
// examples (the example secret key, AKIAIOSFODNN7EXAMPLE, 4111 1111 1111
// 1111, 2001:db8::/32 addresses, EmployeeId-123456789) or written to each
// identifier's documented form.
type golden struct {
	id                    string
	before, secret, after string
}

var goldens = []golden{
	{"AwsSecretKey", "aws_secret_access_key = ", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", " (from env)"},
	{"AwsSecretKey", "set-awscredential -SecretKey ", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY", ""},
	{"AwsSecretKey", "no keyword near wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY here", "", ""},
	{"AwsAccessKeyId", "access key ", "AKIAIOSFODNN7EXAMPLE", " was used"},
	{"AwsAccessKeyId", "session ", "ASIAY34FZKBOKMUTVV7A", ""},
	{"EmailAddress", "contact ", "jane.doe@example.com", ", please"},
	{"EmailAddress", "to=<", "ops+alerts@mail.example.co.uk", ">"},
	{"EmailAddress", "not an address: user@localhost and @handle", "", ""},
	{"CreditCardNumber", "card ", "4111 1111 1111 1111", " charged"},
	{"CreditCardNumber", "amex ", "378282246310005", ""},
	{"CreditCardNumber", "mc ", "5555-5555-5555-4444", " ok"},
	{"CreditCardNumber", "bad luhn 4111 1111 1111 1112 and timestamp 1700000000000", "", ""},
	{"IpAddress", "client ", "192.168.1.10", " connected"},
	{"IpAddress", "peer ", "2001:db8::ff00:42:8329", " closed"},
	{"IpAddress", "at 10:30:45 version 1.2.3 std::vector 999.1.1.1", "", ""},
	{"Ssn-US", "ssn: ", "123-45-6789", " on file"},
	{"Ssn-US", "invalid 000-12-3456 and 666-12-3456", "", ""},
	{"JsonWebToken", "Authorization: Bearer ", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", ""},
	{"PkcsPrivateKey", "key: ", "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----", " loaded"},
	{"PkcsPrivateKey", "", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC", ""},
	{"OpenSshPrivateKey", "id_ed25519: ", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----", ""},
	{"PgpPrivateKey", "", "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGRcZkEBCAC7pV0\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----", " end"},
	{"PuttyPrivateKey", "ppk ", "PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nComment: rsa-key\nPublic-Lines: 1\nAAAAB3NzaC1yc2E\nPrivate-Lines: 1\nAAABAQCx\nPrivate-MAC: 4f1c2a9b0e", " done"},
	{"EmployeeId", "employee ", "EmployeeId-123456789", " badge"},
	{"", "public key -----BEGIN PUBLIC KEY----- MFkwEwYH -----END PUBLIC KEY-----", "", ""},
}

func (g golden) input() string { return g.before + g.secret + g.after }
func (g golden) masked() string {
	return g.before + strings.Repeat("*", len([]rune(g.secret))) + g.after
}

func getAll(t *testing.T, c *cwl.Client, group, stream string, unmask bool) []string {
	t.Helper()
	out, err := c.GetLogEvents(context.Background(), &cwl.GetLogEventsInput{LogGroupName: &group, LogStreamName: &stream,
		StartFromHead: aws.Bool(true), Unmask: unmask})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range out.Events {
		msgs = append(msgs, aws.ToString(e.Message))
	}
	return msgs
}

func filterAll(t *testing.T, c *cwl.Client, group string, unmask bool) []string {
	t.Helper()
	var msgs []string
	p := cwl.NewFilterLogEventsPaginator(c, &cwl.FilterLogEventsInput{LogGroupName: &group, Unmask: unmask})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			msgs = append(msgs, aws.ToString(e.Message))
		}
	}
	return msgs
}

func wantCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("got %v, want %s %q", err, code, msg)
	}
}

// TestGolden: every data identifier's hand-written cases through the real
// server: PutLogEvents, then GetLogEvents, FilterLogEvents and Live Tail
// show the masked text; with unmask=true a caller allowed logs:Unmask gets
// the originals and one denied it gets AccessDeniedException; events put
// before the policy are not rewritten; the audit findings arrive.
func TestGolden(t *testing.T) {
	_, admin, masked := clients(t)
	ctx := context.Background()
	harness.CreateGroup(t, admin, "app", "s")
	harness.CreateGroup(t, admin, "audit")
	harness.PutMessages(t, admin, "app", "s", "before the policy: jane.doe@example.com")

	doc := policyDoc("audit", append(slices.Clone(allIdentifiers), "EmployeeId")...)
	if _, err := admin.PutDataProtectionPolicy(ctx, &cwl.PutDataProtectionPolicyInput{LogGroupIdentifier: aws.String("app"), PolicyDocument: &doc}); err != nil {
		t.Fatal(err)
	}
	got, err := admin.GetDataProtectionPolicy(ctx, &cwl.GetDataProtectionPolicyInput{LogGroupIdentifier: aws.String("app")})
	if err != nil || aws.ToString(got.PolicyDocument) != doc || aws.ToString(got.LogGroupIdentifier) != "app" || got.LastUpdatedTime == nil {
		t.Fatalf("GetDataProtectionPolicy: %+v %v", got, err)
	}

	tail, err := masked.StartLiveTail(ctx, &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"arn:aws:logs:us-east-1:" + account + ":log-group:app"}})
	if err != nil {
		t.Fatal(err)
	}
	stream := tail.GetStream()
	defer stream.Close()
	if ev := <-stream.Events(); ev == nil {
		t.Fatal("no sessionStart")
	}

	var in, want, orig []string
	in = append(in, "before the policy: jane.doe@example.com")
	want = append(want, "before the policy: jane.doe@example.com")
	orig = append(orig, in[0])
	var batch []string
	for _, g := range goldens {
		batch = append(batch, g.input())
		want = append(want, g.masked())
		orig = append(orig, g.input())
	}
	harness.PutMessages(t, admin, "app", "s", batch...)

	check := func(what string, got, want []string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d events, want %d: %q", what, len(got), len(want), got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s event %d:\n got  %q\n want %q", what, i, got[i], want[i])
			}
		}
	}
	check("GetLogEvents", getAll(t, masked, "app", "s", false), want)
	check("FilterLogEvents", filterAll(t, masked, "app", false), want)
	check("GetLogEvents unmask (allowed)", getAll(t, admin, "app", "s", true), orig)
	check("FilterLogEvents unmask (allowed)", filterAll(t, admin, "app", true), orig)

	_, err = masked.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s"), Unmask: true})
	wantCode(t, err, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/masked is not authorized to perform: logs:Unmask on resource: "+
		"arn:aws:logs:us-east-1:123456789012:log-group:app:log-stream: with an explicit deny in an identity-based policy")
	_, err = masked.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("app"), Unmask: true})
	wantCode(t, err, "AccessDeniedException", "")

	// Live Tail sees the masked text (the batch after the session started).
	var live []string
	deadline := time.After(10 * time.Second)
	for len(live) < len(batch) {
		select {
		case ev, ok := <-stream.Events():
			if !ok {
				t.Fatalf("live tail ended: %v", stream.Err())
			}
			if up, isUp := ev.(*types.StartLiveTailResponseStreamMemberSessionUpdate); isUp {
				for _, r := range up.Value.SessionResults {
					live = append(live, aws.ToString(r.Message))
				}
			}
		case <-deadline:
			t.Fatalf("live tail: %d of %d events", len(live), len(batch))
		}
	}
	check("Live Tail", live, want[1:])

	// Findings: one record per event with findings, AWS's format.
	var findings []map[string]any
	harness.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		findings = nil
		for _, m := range filterAll(t, admin, "audit", false) {
			var f map[string]any
			if err := json.Unmarshal([]byte(m), &f); err != nil {
				return err
			}
			findings = append(findings, f)
		}
		wantN := 0
		for _, g := range goldens {
			if g.secret != "" {
				wantN++
			}
		}
		if len(findings) != wantN {
			return errors.New("findings not all there yet")
		}
		return nil
	})
	first := findings[0] // the first golden: AwsSecretKey at characters 24..64
	if first["resourceArn"] != "arn:aws:logs:us-east-1:123456789012:log-group:app:*" {
		t.Errorf("resourceArn %v", first["resourceArn"])
	}
	if _, err := time.Parse("2006-01-02T15:04:05Z", first["auditTimestamp"].(string)); err != nil {
		t.Errorf("auditTimestamp %v", first["auditTimestamp"])
	}
	ids, _ := json.Marshal(first["dataIdentifiers"])
	if string(ids) != `[{"count":1,"detections":[{"end":64,"start":24}],"name":"AwsSecretKey"}]` {
		t.Errorf("dataIdentifiers %s", ids)
	}

	// Delete: later events are stored as sent; earlier ones stay masked.
	if _, err := admin.DeleteDataProtectionPolicy(ctx, &cwl.DeleteDataProtectionPolicyInput{LogGroupIdentifier: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	harness.PutMessages(t, admin, "app", "s", "after: jane.doe@example.com")
	check("after delete", getAll(t, masked, "app", "s", false), append(slices.Clone(want), "after: jane.doe@example.com"))
	_, err = admin.DeleteDataProtectionPolicy(ctx, &cwl.DeleteDataProtectionPolicyInput{LogGroupIdentifier: aws.String("app")})
	wantCode(t, err, "ResourceNotFoundException", "The specified log group does not have a data protection policy.")
	got, err = admin.GetDataProtectionPolicy(ctx, &cwl.GetDataProtectionPolicyInput{LogGroupIdentifier: aws.String("app")})
	if err != nil || got.PolicyDocument != nil {
		t.Fatalf("Get after delete: %+v %v", got, err)
	}
}

type syncBuffer = harness.SyncBuffer

// TestSecretNowhere plants one secret in 1,000 events. It appears in no
// response to a caller without logs:Unmask (GetLogEvents, FilterLogEvents,
// Live Tail), in no server log line (debug level), and, after a clean stop,
// in no file of the data directory: the originals are kept encrypted
// (unmask.key holds the key, not the secret). A canary sent in an unmasked
// event of the same size must be found by the same grep, so a grep that
// cannot see stored text fails the test instead of passing it.
func TestSecretNowhere(t *testing.T) {
	logBuf := &syncBuffer{}
	s, admin, masked := clients(t, harness.Configure(func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}))
	ctx := context.Background()
	harness.CreateGroup(t, admin, "app", "s")
	doc := policyDoc("", allIdentifiers...)
	if _, err := admin.PutDataProtectionPolicy(ctx, &cwl.PutDataProtectionPolicyInput{LogGroupIdentifier: aws.String("app"), PolicyDocument: &doc}); err != nil {
		t.Fatal(err)
	}
	const secret = "Q9mZ/2vLr8TqB1xKp7WnEy4HcJ0sUdFgA6oXiV3b" // 40 characters
	const canary = "canaryZ9qL2mXw7VbT4rK8pN1sH6dF3gJ0cY5uEo" // never masked: no keyword near it
	tail, err := masked.StartLiveTail(ctx, &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"arn:aws:logs:us-east-1:" + account + ":log-group:app"}})
	if err != nil {
		t.Fatal(err)
	}
	stream := tail.GetStream()
	defer stream.Close()
	<-stream.Events()

	var msgs []string
	for i := range 1000 {
		msgs = append(msgs, "request "+strings.Repeat("x", i%7)+" aws_secret_access_key="+secret+" done")
	}
	harness.PutMessages(t, admin, "app", "s", msgs[:500]...)
	harness.PutMessages(t, admin, "app", "s", msgs[500:]...)
	harness.PutMessages(t, admin, "app", "s", "canary "+canary)

	seen := 0
	deadline := time.After(20 * time.Second)
	for seen < 1001 {
		select {
		case ev, ok := <-stream.Events():
			if !ok {
				t.Fatalf("live tail ended: %v", stream.Err())
			}
			if up, isUp := ev.(*types.StartLiveTailResponseStreamMemberSessionUpdate); isUp {
				for _, r := range up.Value.SessionResults {
					if strings.Contains(aws.ToString(r.Message), secret) {
						t.Fatal("Live Tail sent the secret")
					}
					seen++
				}
			}
		case <-deadline:
			t.Fatalf("live tail: %d of 1001 events", seen)
		}
	}
	stream.Close()
	for _, m := range append(getAll(t, masked, "app", "s", false), filterAll(t, masked, "app", false)...) {
		if strings.Contains(m, secret) {
			t.Fatal("a read without unmask returned the secret")
		}
	}
	un := filterAll(t, admin, "app", true)
	if n := len(un); n != 1001 || !strings.Contains(un[0], secret) {
		t.Fatalf("unmask returned %d events; first %q", n, un[0])
	}

	s.Stop()
	var found, canaryFiles []string
	err = filepath.WalkDir(s.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.Dir, path)
		if bytes.Contains(b, []byte(secret)) {
			found = append(found, rel)
		}
		if bytes.Contains(b, []byte(canary)) {
			canaryFiles = append(canaryFiles, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(canaryFiles) == 0 {
		t.Fatal("the canary is in no file: the grep cannot see stored text")
	}
	if len(found) > 0 {
		t.Fatalf("the secret is in %v (canary in %v)", found, canaryFiles)
	}
	t.Logf("canary found in %v; secret in none", canaryFiles)
	if strings.Contains(logBuf.String(), secret) {
		t.Fatal("the secret is in the server log")
	}
	if !strings.Contains(logBuf.String(), "PutLogEvents") {
		t.Fatal("the debug log recorded no request: the log check proves nothing")
	}
}

// TestPolicyReplaced: the compiled policy is cached by the stored record,
// so a policy put again (other identifiers) or deleted applies to the very
// next batch, on the same group, and each batch keeps what was applied to
// it.
func TestPolicyReplaced(t *testing.T) {
	_, admin, masked := clients(t)
	ctx := context.Background()
	harness.CreateGroup(t, admin, "app", "s")
	harness.CreateGroup(t, admin, "audit")
	const msg = "from 10.1.2.3 by jane.doe@example.com"
	put := func(ids ...string) {
		t.Helper()
		doc := policyDoc("audit", ids...)
		if _, err := admin.PutDataProtectionPolicy(ctx, &cwl.PutDataProtectionPolicyInput{LogGroupIdentifier: aws.String("app"), PolicyDocument: &doc}); err != nil {
			t.Fatal(err)
		}
	}
	put("EmailAddress")
	harness.PutMessages(t, admin, "app", "s", msg)
	put("IpAddress")
	harness.PutMessages(t, admin, "app", "s", msg)
	put("IpAddress", "EmailAddress")
	harness.PutMessages(t, admin, "app", "s", msg)
	if _, err := admin.DeleteDataProtectionPolicy(ctx, &cwl.DeleteDataProtectionPolicyInput{LogGroupIdentifier: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	harness.PutMessages(t, admin, "app", "s", msg)
	want := []string{"from 10.1.2.3 by ********************", "from ******** by jane.doe@example.com",
		"from ******** by ********************", msg}
	if got := getAll(t, masked, "app", "s", false); !slices.Equal(got, want) {
		t.Fatalf("GetLogEvents:\n got  %q\n want %q", got, want)
	}
}
