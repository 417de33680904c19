package otlp_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/cairnlog/cairn/internal/harness"
)

const accountID = "123456789012"

// The bearer key of the IAM file below, and its SHA-256 (computed by hand
// here, not by Cairn's NewAPIKey).
const token = "ACWLtesttokentesttokentesttokentesttoken0123"

func iamFile() string {
	sum := sha256.Sum256([]byte(token))
	return fmt.Sprintf(`
accounts:
  - id: "%s"
    root:
      accessKeys:
        - id: AKIAROOTEXAMPLE00001
          secret: "root-secret-at-least-16-chars-long"
    users:
      - name: otel
        apiKeys:
          - id: ACCAOTELEXAMPLE00001
            sha256: %s
            logGroups: ["/otel/*"]
        policies:
          - name: api-key
            document:
              Version: "2012-10-17"
              Statement:
                - Effect: Allow
                  Action: ["logs:PutLogEvents", "logs:CallWithBearerToken"]
                  Resource: "*"
      - name: nobearer
        apiKeys:
          - id: ACCANOBEAREREXAMPLE1
            sha256: %s
            logGroups: ["*"]
        policies:
          - name: put-only
            document:
              Version: "2012-10-17"
              Statement:
                - Effect: Allow
                  Action: ["logs:PutLogEvents"]
                  Resource: "*"
`, accountID, hex.EncodeToString(sum[:]), hex.EncodeToString(func() []byte { s := sha256.Sum256([]byte(token + "2")); return s[:] }()))
}

func start(t *testing.T) (*harness.Server, *cwl.Client) {
	h := harness.Start(t, harness.WithIAM(iamFile()))
	h.Creds = aws.Credentials{AccessKeyID: "AKIAROOTEXAMPLE00001", SecretAccessKey: "root-secret-at-least-16-chars-long"}
	c := h.Client()
	ctx := context.Background()
	for _, g := range []string{"/otel/app", "/other"} {
		if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(g), LogStreamName: aws.String("s")}); err != nil {
			t.Fatal(err)
		}
	}
	return h, c
}

type reply struct {
	status int
	body   string
}

func post(t *testing.T, h *harness.Server, body []byte, header ...string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, h.URL()+"/v1/logs", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sign := true
	for _, hd := range header {
		k, v, _ := strings.Cut(hd, ":")
		if k == "nosign" {
			sign = false
			continue
		}
		req.Header.Set(k, strings.TrimSpace(v))
	}
	if sign {
		harness.Sign(t, req, h.Creds, body, time.Now())
	}
	resp, err := h.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return reply{resp.StatusCode, b.String()}
}

func events(t *testing.T, c *cwl.Client, group string) []map[string]any {
	t.Helper()
	out, err := c.GetLogEvents(context.Background(), &cwl.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var evs []map[string]any
	for _, e := range out.Events {
		var m map[string]any
		if err := json.Unmarshal([]byte(*e.Message), &m); err != nil {
			t.Fatalf("%s: %v", *e.Message, err)
		}
		m["@timestamp"] = float64(*e.Timestamp)
		evs = append(evs, m)
	}
	return evs
}

func TestJSONExportSigV4(t *testing.T) {
	h, c := start(t)
	ns := time.Now().Add(-time.Minute).UnixNano()
	body := fmt.Sprintf(`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
	  "scopeLogs":[{"scope":{"name":"my-lib","version":"1.0.0"},"logRecords":[
	    {"timeUnixNano":"%d","severityNumber":9,"severityText":"INFO","body":{"stringValue":"User logged in"},
	     "attributes":[{"key":"user.id","value":{"stringValue":"12345"}},{"key":"n","value":{"intValue":"7"}},{"key":"ok","value":{"boolValue":true}},
	       {"key":"list","value":{"arrayValue":{"values":[{"doubleValue":1.5},{"kvlistValue":{"values":[{"key":"k","value":{"stringValue":"v"}}]}}]}}}],
	     "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}]}`, ns)
	r := post(t, h, []byte(body), "x-aws-log-group: /otel/app", "x-aws-log-stream: s")
	if r.status != 200 || r.body != "{}" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got := events(t, c, "/otel/app")
	want := []map[string]any{{
		"resource":     map[string]any{"attributes": map[string]any{"service.name": "checkout"}},
		"scope":        map[string]any{"name": "my-lib", "version": "1.0.0"},
		"timeUnixNano": float64(ns), "severityNumber": float64(9), "severityText": "INFO", "body": "User logged in",
		"attributes": map[string]any{"user.id": "12345", "n": float64(7), "ok": true, "list": []any{1.5, map[string]any{"k": "v"}}},
		"traceId":    "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
		"@timestamp": float64(ns / 1e6),
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
	// An old record is rejected and reported as AWS reports it.
	old := time.Now().Add(-15 * 24 * time.Hour).UnixNano()
	r = post(t, h, []byte(fmt.Sprintf(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"%d","body":{"stringValue":"x"}}]}]}]}`, old)),
		"x-aws-log-group: /otel/app", "x-aws-log-stream: s")
	if r.status != 200 || r.body != `{"partialSuccess":{"rejectedLogRecords":1,"errorMessage":"{\"tooOldLogEventCount\": 1, \"tooNewLogEventCount\": 0, \"expiredLogEventCount\": 0}"}}` {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func protoBody(t *testing.T, msgs ...string) []byte {
	var recs []*logspb.LogRecord
	for _, m := range msgs {
		recs = append(recs, &logspb.LogRecord{TimeUnixNano: uint64(time.Now().UnixNano()), Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: m}}})
	}
	b, err := proto.Marshal(&logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{
		Resource:  &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "host.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "h1"}}}}},
		ScopeLogs: []*logspb.ScopeLogs{{LogRecords: recs}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestProtobufGzipBearer(t *testing.T) {
	h, c := start(t)
	body := gz(protoBody(t, "one", "two"))
	hdr := []string{"nosign:", "Content-Type: application/x-protobuf", "Content-Encoding: gzip", "x-aws-log-group: /otel/app", "x-aws-log-stream: s", "Authorization: Bearer " + token}
	// Not enabled on the group yet.
	if r := post(t, h, body, hdr...); r.status != 403 || !strings.Contains(r.body, "Bearer token authentication is not enabled") {
		t.Fatalf("%d %q", r.status, r.body)
	}
	for _, g := range []string{"/otel/app", "/other"} {
		if _, err := c.PutBearerTokenAuthentication(context.Background(), &cwl.PutBearerTokenAuthenticationInput{
			LogGroupIdentifier: aws.String(g), BearerTokenAuthenticationEnabled: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
	}
	if r := post(t, h, body, hdr...); r.status != 200 || r.body != "" {
		t.Fatalf("%d %q", r.status, r.body)
	}
	got := events(t, c, "/otel/app")
	if len(got) != 2 || got[0]["body"] != "one" || got[1]["body"] != "two" {
		t.Fatalf("%v", got)
	}
	// Outside the key's scope; a wrong key; a key whose user lacks
	// logs:CallWithBearerToken.
	other := append(append([]string{}, hdr...), "x-aws-log-group: /other")
	if r := post(t, h, body, other...); r.status != 403 {
		t.Fatalf("out of scope: %d %q", r.status, r.body)
	}
	if r := post(t, h, body, append(append([]string{}, hdr...), "Authorization: Bearer ACWLwrong")...); r.status != 401 {
		t.Fatalf("wrong key: %d %q", r.status, r.body)
	}
	if r := post(t, h, body, append(append([]string{}, other...), "Authorization: Bearer "+token+"2")...); r.status != 403 || !strings.Contains(r.body, "logs:CallWithBearerToken") {
		t.Fatalf("no CallWithBearerToken: %d %q", r.status, r.body)
	}
	// PutLogEvents over the JSON protocol takes the key too; nothing else does.
	call := func(op, body string) harness.Reply {
		req := h.Request(t, op, []byte(body))
		req.Header.Set("Authorization", "Bearer "+token)
		return h.Do(t, req)
	}
	ts := time.Now().UnixMilli()
	if r := call("PutLogEvents", fmt.Sprintf(`{"logGroupName":"/otel/app","logStreamName":"s","logEvents":[{"timestamp":%d,"message":"three"}]}`, ts)); r.Status != 200 {
		t.Fatalf("PutLogEvents: %v", r)
	}
	if r := call("DescribeLogGroups", `{}`); r.Code != "AccessDeniedException" {
		t.Fatalf("DescribeLogGroups with a bearer key: %v", r)
	}
	if r := call("CreateLogStream", `{"logGroupName":"/otel/app","logStreamName":"x"}`); r.Code != "AccessDeniedException" {
		t.Fatalf("CreateLogStream with a bearer key: %v", r)
	}
	// Disabled again: refused.
	if _, err := c.PutBearerTokenAuthentication(context.Background(), &cwl.PutBearerTokenAuthenticationInput{
		LogGroupIdentifier: aws.String("/otel/app"), BearerTokenAuthenticationEnabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if r := post(t, h, body, hdr...); r.status != 403 {
		t.Fatalf("after disabling: %d %q", r.status, r.body)
	}
	if _, err := c.PutBearerTokenAuthentication(context.Background(), &cwl.PutBearerTokenAuthenticationInput{
		LogGroupIdentifier: aws.String("/missing"), BearerTokenAuthenticationEnabled: aws.Bool(true)}); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Fatalf("missing group: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	h, _ := start(t)
	ok := []string{"x-aws-log-group: /otel/app", "x-aws-log-stream: s"}
	bomb := gz(bytes.Repeat([]byte{' '}, 30<<20)) // 30 MiB of spaces, ~30 KiB gzipped
	cases := []struct {
		name   string
		body   []byte
		header []string
		status int
	}{
		{"no headers", []byte(`{}`), nil, 400},
		{"no stream header", []byte(`{}`), ok[:1], 400},
		{"bad content type", []byte(`{}`), append([]string{"Content-Type: text/plain"}, ok...), 415},
		{"bad json", []byte(`{"resourceLogs":`), ok, 400},
		{"bad protobuf", []byte{0xff, 0xff, 0xff}, append([]string{"Content-Type: application/x-protobuf"}, ok...), 400},
		{"unsigned", []byte(`{}`), append([]string{"nosign:"}, ok...), 401},
		{"gzip bomb", bomb, append([]string{"Content-Encoding: gzip"}, ok...), 413},
		{"not gzip", []byte("plain"), append([]string{"Content-Encoding: gzip"}, ok...), 400},
		{"missing stream", []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"x"}}]}]}]}`), []string{"x-aws-log-group: /otel/app", "x-aws-log-stream: nope"}, 404},
		{"missing group", []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"x"}}]}]}]}`), []string{"x-aws-log-group: /nope", "x-aws-log-stream: s"}, 404},
	}
	for _, c := range cases {
		r := post(t, h, c.body, c.header...)
		if r.status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.status)
		}
		var st struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if c.name == "bad protobuf" {
			// google.rpc.Status: code = 1 (varint), message = 2 (string).
			b := []byte(r.body)
			n1, t1, l1 := protowire.ConsumeTag(b)
			code, l2 := protowire.ConsumeVarint(b[max(l1, 0):])
			if l1 < 0 || l2 < 0 || n1 != 1 || t1 != protowire.VarintType || code != 3 || !bytes.Contains(b, []byte("not a valid OTLP protobuf")) {
				t.Errorf("%s: body %q is not a google.rpc.Status", c.name, r.body)
			}
			continue
		}
		if json.Unmarshal([]byte(r.body), &st) != nil || st.Code == 0 || st.Message == "" {
			t.Errorf("%s: body %q is not a google.rpc.Status", c.name, r.body)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, h.URL()+"/v1/logs", nil)
	resp, err := h.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

// TestRevoke: deleting a key from the IAM file and reloading it (SIGHUP)
// refuses the key at once.
func TestRevoke(t *testing.T) {
	h, c := start(t)
	if _, err := c.PutBearerTokenAuthentication(context.Background(), &cwl.PutBearerTokenAuthenticationInput{
		LogGroupIdentifier: aws.String("/otel/app"), BearerTokenAuthenticationEnabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	hdr := []string{"nosign:", "x-aws-log-group: /otel/app", "x-aws-log-stream: s", "Authorization: Bearer " + token}
	body := []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"x"}}]}]}]}`)
	if r := post(t, h, body, hdr...); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	doc := iamFile()
	i := strings.Index(doc, "        apiKeys:\n          - id: ACCAOTEL")
	j := strings.Index(doc[i:], "        policies:")
	if err := os.WriteFile(h.IAMFile, []byte(doc[:i]+doc[i+j:]), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.ReloadIdentities(); err != nil {
		t.Fatal(err)
	}
	if r := post(t, h, body, hdr...); r.status != 401 {
		t.Fatalf("revoked key: %d %s", r.status, r.body)
	}
}
