package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
)

const account = "123456789012"

const testIAM = `
accounts:
  - id: "123456789012"
    root:
      accessKeys:
        - id: AKIAROOTTEST00000001
          secret: "root-secret-0123456789"
    users:
      - name: alice
        accessKeys:
          - id: AKIAALICETEST0000001
            secret: "alice-secret-0123456789"
        policies:
          - name: all
            document:
              Version: "2012-10-17"
              Statement:
                - Effect: Allow
                  Action: ["logs:*", "sts:AssumeRole", "sts:GetFederationToken"]
                  Resource: "*"
      - name: reader
        accessKeys:
          - id: AKIAREADERTEST000001
            secret: "reader-secret-0123456789"
        policies:
          - name: read
            document:
              Version: "2012-10-17"
              Statement:
                - Effect: Allow
                  Action: ["logs:Describe*"]
                  Resource: "*"
    roles:
      - name: sender
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal:
                AWS: "arn:aws:iam::123456789012:user/alice"
              Action: sts:AssumeRole
        policies:
          - name: logs
            document:
              Version: "2012-10-17"
              Statement:
                - Effect: Allow
                  Action: ["logs:*"]
                  Resource: "*"
`

var (
	root   = aws.Credentials{AccessKeyID: "AKIAROOTTEST00000001", SecretAccessKey: "root-secret-0123456789"}
	alice  = aws.Credentials{AccessKeyID: "AKIAALICETEST0000001", SecretAccessKey: "alice-secret-0123456789"}
	reader = aws.Credentials{AccessKeyID: "AKIAREADERTEST000001", SecretAccessKey: "reader-secret-0123456789"}
)

// bodyMarker is a message body that must never reach a record.
const bodyMarker = "BODY-MARKER-7f3a9c"

func start(t *testing.T, dataEvents bool) *harness.Server {
	return harness.Start(t, harness.WithIAM(testIAM), harness.Configure(func(c *server.Config) {
		c.AccountID = account
		c.AuditLogGroup = "cloudtrail"
		c.AuditDataEvents = dataEvents
		c.AuditFlushInterval = 10 * time.Millisecond
	}))
}

// records reads every record of the audit group (as root), parsed, polling
// until cond holds for them.
func records(t *testing.T, h *harness.Server, cond func([]map[string]any) bool) ([]map[string]any, []string) {
	t.Helper()
	c := h.ClientAs(root, "us-east-1")
	var recs []map[string]any
	var raws []string
	harness.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		recs, raws = nil, nil
		p := cwl.NewFilterLogEventsPaginator(c, &cwl.FilterLogEventsInput{LogGroupName: aws.String("cloudtrail")})
		for p.HasMorePages() {
			out, err := p.NextPage(context.Background())
			if err != nil {
				return err
			}
			for _, e := range out.Events {
				var m map[string]any
				if err := json.Unmarshal([]byte(*e.Message), &m); err != nil {
					return fmt.Errorf("record is not JSON: %v: %s", err, *e.Message)
				}
				if *e.LogStreamName != account+"_CloudTrail_us-east-1" {
					return fmt.Errorf("record in stream %q", *e.LogStreamName)
				}
				recs, raws = append(recs, m), append(raws, *e.Message)
			}
		}
		if !cond(recs) {
			return fmt.Errorf("%d records so far", len(recs))
		}
		return nil
	})
	return recs, raws
}

func find(recs []map[string]any, name string, pred func(map[string]any) bool) map[string]any {
	for _, r := range recs {
		if r["eventName"] == name && (pred == nil || pred(r)) {
			return r
		}
	}
	return nil
}

var (
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	timeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
)

// checkCommon checks the fields every record of a logs call has, against
// CloudTrail's documented record contents.
func checkCommon(t *testing.T, r map[string]any, source, version, reqID string) {
	t.Helper()
	want := map[string]any{"eventVersion": version, "eventSource": source, "awsRegion": "us-east-1", "sourceIPAddress": "127.0.0.1",
		"eventType": "AwsApiCall", "recipientAccountId": account}
	for k, v := range want {
		if r[k] != v {
			t.Errorf("%s %s = %v, want %v", r["eventName"], k, r[k], v)
		}
	}
	if id, _ := r["eventID"].(string); !uuidRE.MatchString(id) {
		t.Errorf("eventID %q is not a UUID", id)
	}
	if ts, _ := r["eventTime"].(string); !timeRE.MatchString(ts) {
		t.Errorf("eventTime %q is not yyyy-MM-ddTHH:mm:ssZ", ts)
	}
	if ua, _ := r["userAgent"].(string); !strings.Contains(ua, "aws-sdk-go-v2") {
		t.Errorf("userAgent %q", ua)
	}
	if reqID != "" && r["requestID"] != reqID {
		t.Errorf("%s requestID %v, want %s", r["eventName"], r["requestID"], reqID)
	}
	for _, k := range []string{"requestParameters", "responseElements", "readOnly", "managementEvent", "eventCategory", "userIdentity"} {
		if _, ok := r[k]; !ok {
			t.Errorf("%s has no %s", r["eventName"], k)
		}
	}
}

func jsonEq(t *testing.T, what string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(got)
	wb, _ := json.Marshal(w)
	if string(g) != string(wb) {
		t.Errorf("%s = %s\nwant %s", what, g, wb)
	}
}

// TestRecords: each caller type and each kind of call gives the record
// CloudTrail documents, field by field.
func TestRecords(t *testing.T) {
	h := start(t, false)
	ctx := context.Background()
	a := h.ClientAs(alice, "us-east-1")
	out, err := a.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	createID, _ := awsmw.GetRequestIDMetadata(out.ResultMetadata)
	if _, err := a.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	// A data event (off by default): not recorded, and its body nowhere.
	if _, err := a.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String(bodyMarker)}}}); err != nil {
		t.Fatal(err)
	}
	// TestMetricFilter's sample messages are bodies too.
	if _, err := a.TestMetricFilter(ctx, &cwl.TestMetricFilterInput{FilterPattern: aws.String("x"), LogEventMessages: []string{bodyMarker}}); err != nil {
		t.Fatal(err)
	}
	_, err = h.ClientAs(reader, "us-east-1").CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("denied")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("reader CreateLogGroup: %v", err)
	}
	if _, err := h.ClientAs(root, "us-east-1").DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("ap")}); err != nil {
		t.Fatal(err)
	}
	const policy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"}]}`
	ar, err := h.STSClientAs(alice, "us-east-1").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/sender"),
		RoleSessionName: aws.String("ci-1"), DurationSeconds: aws.Int32(900), Policy: aws.String(policy)})
	if err != nil {
		t.Fatal(err)
	}
	session := aws.Credentials{AccessKeyID: *ar.Credentials.AccessKeyId, SecretAccessKey: *ar.Credentials.SecretAccessKey, SessionToken: *ar.Credentials.SessionToken}
	if _, err := h.ClientAs(session, "us-east-1").DeleteLogStream(ctx, &cwl.DeleteLogStreamInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	ft, err := h.STSClientAs(alice, "us-east-1").GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String("bob"), Policy: aws.String(policy)})
	if err != nil {
		t.Fatal(err)
	}
	fed := aws.Credentials{AccessKeyID: *ft.Credentials.AccessKeyId, SecretAccessKey: *ft.Credentials.SecretAccessKey, SessionToken: *ft.Credentials.SessionToken}
	if _, err := h.ClientAs(fed, "us-east-1").PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("app"), RetentionInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}

	recs, raws := records(t, h, func(r []map[string]any) bool { return find(r, "PutRetentionPolicy", nil) != nil })

	cg := find(recs, "CreateLogGroup", func(r map[string]any) bool { return r["errorCode"] == nil })
	if cg == nil {
		t.Fatal("no CreateLogGroup record")
	}
	checkCommon(t, cg, "logs.amazonaws.com", "1.09", createID)
	jsonEq(t, "CreateLogGroup userIdentity", cg["userIdentity"].(map[string]any)["type"], `"IAMUser"`)
	ui := cg["userIdentity"].(map[string]any)
	delete(ui, "principalId") // Cairn's user id, checked non-empty below
	jsonEq(t, "IAMUser identity", ui, `{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","accessKeyId":"AKIAALICETEST0000001","userName":"alice"}`)
	jsonEq(t, "CreateLogGroup requestParameters", cg["requestParameters"], `{"logGroupName":"app"}`)
	jsonEq(t, "CreateLogGroup responseElements", cg["responseElements"], `null`)
	jsonEq(t, "CreateLogGroup flags", []any{cg["readOnly"], cg["managementEvent"], cg["eventCategory"]}, `[false,true,"Management"]`)

	denied := find(recs, "CreateLogGroup", func(r map[string]any) bool { return r["errorCode"] != nil })
	if denied == nil {
		t.Fatal("no denied CreateLogGroup record")
	}
	jsonEq(t, "denied errorCode", denied["errorCode"], `"AccessDeniedException"`)
	if msg, _ := denied["errorMessage"].(string); !strings.HasPrefix(msg, "User: arn:aws:iam::123456789012:user/reader is not authorized to perform: logs:CreateLogGroup") {
		t.Errorf("denied errorMessage %q", msg)
	}

	dg := find(recs, "DescribeLogGroups", nil)
	if dg == nil {
		t.Fatal("no DescribeLogGroups record")
	}
	jsonEq(t, "Root identity", dg["userIdentity"], `{"type":"Root","principalId":"123456789012","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012","accessKeyId":"AKIAROOTTEST00000001"}`)
	jsonEq(t, "DescribeLogGroups readOnly/responseElements", []any{dg["readOnly"], dg["responseElements"]}, `[true,null]`)

	as := find(recs, "AssumeRole", nil)
	if as == nil {
		t.Fatal("no AssumeRole record")
	}
	checkCommon(t, as, "sts.amazonaws.com", "1.08", "")
	jsonEq(t, "AssumeRole requestParameters", as["requestParameters"],
		`{"roleArn":"arn:aws:iam::123456789012:role/sender","roleSessionName":"ci-1","durationSeconds":900,"policy":`+mustQuote(policy)+`}`)
	resp := as["responseElements"].(map[string]any)
	creds := resp["credentials"].(map[string]any)
	if creds["accessKeyId"] != *ar.Credentials.AccessKeyId || creds["expiration"] != ar.Credentials.Expiration.UTC().Format("Jan 2, 2006, 3:04:05 PM") {
		t.Errorf("AssumeRole credentials %v", creds)
	}
	if _, ok := creds["sessionToken"]; ok {
		t.Error("AssumeRole record holds the session token")
	}
	jsonEq(t, "AssumeRole assumedRoleUser", resp["assumedRoleUser"], `{"assumedRoleId":`+mustQuote(*ar.AssumedRoleUser.AssumedRoleId)+`,"arn":"arn:aws:sts::123456789012:assumed-role/sender/ci-1"}`)

	ds := find(recs, "DeleteLogStream", nil)
	if ds == nil {
		t.Fatal("no DeleteLogStream record")
	}
	sui := ds["userIdentity"].(map[string]any)
	sc := sui["sessionContext"].(map[string]any)
	attrs := sc["attributes"].(map[string]any)
	if !timeRE.MatchString(attrs["creationDate"].(string)) {
		t.Errorf("creationDate %v", attrs["creationDate"])
	}
	delete(sc, "attributes")
	roleID, _, _ := strings.Cut(*ar.AssumedRoleUser.AssumedRoleId, ":")
	jsonEq(t, "AssumedRole identity", sui, `{"type":"AssumedRole","principalId":`+mustQuote(*ar.AssumedRoleUser.AssumedRoleId)+
		`,"arn":"arn:aws:sts::123456789012:assumed-role/sender/ci-1","accountId":"123456789012","accessKeyId":`+mustQuote(session.AccessKeyID)+
		`,"sessionContext":{"sessionIssuer":{"type":"Role","principalId":`+mustQuote(roleID)+`,"arn":"arn:aws:iam::123456789012:role/sender","accountId":"123456789012","userName":"sender"}}}`)
	jsonEq(t, "mfaAuthenticated", attrs["mfaAuthenticated"], `"false"`)

	pr := find(recs, "PutRetentionPolicy", nil)
	fui := pr["userIdentity"].(map[string]any)
	jsonEq(t, "FederatedUser type/arn", []any{fui["type"], fui["arn"], fui["accessKeyId"]},
		`["FederatedUser","arn:aws:sts::123456789012:federated-user/bob",`+mustQuote(fed.AccessKeyID)+`]`)
	iss := fui["sessionContext"].(map[string]any)["sessionIssuer"].(map[string]any)
	jsonEq(t, "FederatedUser issuer", []any{iss["type"], iss["arn"], iss["userName"]}, `["IAMUser","arn:aws:iam::123456789012:user/alice","alice"]`)

	if find(recs, "PutLogEvents", nil) != nil {
		t.Error("PutLogEvents recorded with data events off")
	}
	// Never a secret or a body, in any record.
	for _, raw := range raws {
		for _, secret := range []string{alice.SecretAccessKey, reader.SecretAccessKey, root.SecretAccessKey, session.SecretAccessKey,
			session.SessionToken, fed.SecretAccessKey, fed.SessionToken, bodyMarker} {
			if strings.Contains(raw, secret) {
				t.Errorf("record holds a secret or body %.20q…: %s", secret, raw)
			}
		}
	}

	// CloudTrail's documented metric filters work on the group unchanged.
	for pattern, want := range map[string][]string{
		`{ ($.eventName = CreateLogGroup) }`: {"CreateLogGroup", "CreateLogGroup"},
		`{ $.errorCode = "AccessDenied*" }`:  {"CreateLogGroup"},
	} {
		c := h.ClientAs(root, "us-east-1")
		fo, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("cloudtrail"), FilterPattern: aws.String(pattern)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range fo.Events {
			var m map[string]any
			json.Unmarshal([]byte(*e.Message), &m)
			got = append(got, m["eventName"].(string))
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("FilterLogEvents %s = %v, want %v", pattern, got, want)
		}
		tm, err := c.TestMetricFilter(ctx, &cwl.TestMetricFilterInput{FilterPattern: aws.String(pattern), LogEventMessages: raws})
		if err != nil {
			t.Fatal(err)
		}
		if len(tm.Matches) != len(want) {
			t.Errorf("TestMetricFilter %s: %d matches, want %d", pattern, len(tm.Matches), len(want))
		}
	}
}

// TestDataEvents: with data events on, PutLogEvents and reads are recorded
// as data events, without the events they carry.
func TestDataEvents(t *testing.T) {
	h := start(t, true)
	ctx := context.Background()
	a := h.ClientAs(alice, "us-east-1")
	a.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("app")})
	a.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s")})
	if _, err := a.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String(bodyMarker)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	recs, raws := records(t, h, func(r []map[string]any) bool { return find(r, "GetLogEvents", nil) != nil })
	put := find(recs, "PutLogEvents", nil)
	if put == nil {
		t.Fatal("no PutLogEvents record")
	}
	jsonEq(t, "PutLogEvents requestParameters", put["requestParameters"], `{"logGroupName":"app","logStreamName":"s"}`)
	jsonEq(t, "PutLogEvents flags", []any{put["readOnly"], put["managementEvent"], put["eventCategory"]}, `[false,false,"Data"]`)
	jsonEq(t, "PutLogEvents resources", put["resources"], `[{"ARN":"arn:aws:logs:us-east-1:123456789012:log-group:app","accountId":"123456789012","type":"AWS::Logs::LogGroup"}]`)
	get := find(recs, "GetLogEvents", nil)
	jsonEq(t, "GetLogEvents flags", []any{get["readOnly"], get["managementEvent"], get["responseElements"]}, `[true,false,null]`)
	for _, raw := range raws {
		if strings.Contains(raw, bodyMarker) {
			t.Errorf("record holds a message body: %s", raw)
		}
	}
	// The audit writer's own PutLogEvents calls are never recorded: every
	// PutLogEvents record is alice's.
	for _, r := range recs {
		if r["eventName"] == "PutLogEvents" && r["userIdentity"].(map[string]any)["userName"] != "alice" {
			t.Errorf("PutLogEvents by %v recorded", r["userIdentity"])
		}
	}
}

func mustQuote(s string) string { b, _ := json.Marshal(s); return string(b) }
