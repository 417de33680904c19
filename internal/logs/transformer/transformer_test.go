package transformer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/leakcheck"
	"github.com/cairnlog/cairn/internal/logs/transformer"
	"github.com/cairnlog/cairn/internal/store"
)

func TestMain(m *testing.M) {
	os.Exit(leakcheck.Main(m, "github.com/cairnlog/cairn/"))
}

// golden is a case of internal/transform/testdata/golden.json, hand-written
// from AWS's documentation examples.
type golden struct {
	Name     string          `json:"name"`
	Config   json.RawMessage `json:"config"`
	Message  string          `json:"message"`
	Expected json.RawMessage `json:"expected"`
}

func loadGolden(t *testing.T) []golden {
	b, err := os.ReadFile("../../transform/testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g []golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// sdkConfig decodes a configuration into the SDK's types (encoding/json
// matches the API's member names to the SDK's fields case-insensitively), so
// that the request the server sees is the one a real client builds.
func sdkConfig(t *testing.T, raw json.RawMessage) []types.Processor {
	var p []types.Processor
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func same(t *testing.T, got string, want json.RawMessage) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("not JSON: %s", got)
	}
	if string(want) == "null" {
		if !strings.Contains(got, "@transformationError") {
			t.Fatalf("want @transformationError, got %s", got)
		}
		return
	}
	json.Unmarshal(want, &w)
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// TestGoldenTestTransformer: every golden case through the SDK's
// TestTransformer.
func TestGoldenTestTransformer(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	for _, g := range loadGolden(t) {
		t.Run(g.Name, func(t *testing.T) {
			out, err := c.TestTransformer(t.Context(), &cwl.TestTransformerInput{TransformerConfig: sdkConfig(t, g.Config),
				LogEventMessages: []string{g.Message}})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.TransformedLogs) != 1 {
				t.Fatalf("%d records", len(out.TransformedLogs))
			}
			r := out.TransformedLogs[0]
			if r.EventNumber != 1 || aws.ToString(r.EventMessage) != g.Message {
				t.Fatalf("record %d %q", r.EventNumber, aws.ToString(r.EventMessage))
			}
			same(t, aws.ToString(r.TransformedEventMessage), g.Expected)
		})
	}
}

// TestGoldenIngest: every golden case as a group's transformer; the event
// PutLogEvents stores is the original for GetLogEvents and FilterLogEvents
// (AWS: "return only the original versions"), and the transformed version
// kept beside it is the documented one.
func TestGoldenIngest(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	kept := transformer.New(transformer.Config{Store: h.Engine()})
	scope := store.Scope{Account: "000000000000", Region: harness.DefaultRegion}
	for i, g := range loadGolden(t) {
		t.Run(g.Name, func(t *testing.T) {
			group := fmt.Sprintf("golden-%d", i)
			mustGroup(t, c, group)
			if _, err := c.PutTransformer(ctx, &cwl.PutTransformerInput{LogGroupIdentifier: aws.String(group),
				TransformerConfig: sdkConfig(t, g.Config)}); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UnixMilli()
			if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"),
				LogEvents: []types.InputLogEvent{{Message: aws.String(g.Message), Timestamp: aws.Int64(now)}}}); err != nil {
				t.Fatal(err)
			}
			ge, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)})
			if err != nil || len(ge.Events) != 1 || aws.ToString(ge.Events[0].Message) != g.Message {
				t.Fatalf("GetLogEvents %v %+v", err, ge)
			}
			fe, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String(group)})
			if err != nil || len(fe.Events) != 1 || aws.ToString(fe.Events[0].Message) != g.Message {
				t.Fatalf("FilterLogEvents %v %+v", err, fe)
			}
			page, err := h.Engine().ReadFeed(ctx, store.FeedRequest{Scope: scope, Group: group, Limit: 10})
			if err != nil || len(page.Events) != 1 {
				t.Fatalf("feed %v %d", err, len(page.Events))
			}
			tr, err := kept.Transformed(ctx, scope, group, page.Events[0].Pos.Seq)
			if err != nil || tr == nil {
				t.Fatalf("transformed %v", err)
			}
			v, ok := tr(page.Events[0])
			if !ok {
				t.Fatal("the event has no transformed version")
			}
			same(t, v, g.Expected)
		})
	}
}

func mustGroup(t *testing.T, c *cwl.Client, group string) {
	t.Helper()
	ctx := t.Context()
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
}

func apiErr(t *testing.T, err error, code, contains string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), contains) {
		t.Fatalf("want %s containing %q, got %s: %s", code, contains, ae.ErrorCode(), ae.ErrorMessage())
	}
}

// TestValidation: every transformer-wide and processor rule, refused with
// InvalidParameterException by PutTransformer and TestTransformer alike.
func TestValidation(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	mustGroup(t, c, "v")
	many := func(n int, p string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(p+",", n), ",") + "]"
	}
	cases := []struct{ name, config, contains string }{
		{"empty", `[]`, "transformerConfig"},
		{"21 processors", `[{"parseJSON":{}},` + strings.TrimPrefix(many(20, `{"lowerCaseString":{"withKeys":["a"]}}`), "["), "transformerConfig"},
		{"no member", `[{}]`, "exactly one processor type"},
		{"two members", `[{"parseJSON":{},"csv":{}}]`, "exactly one processor type"},
		{"first not a parser", `[{"lowerCaseString":{"withKeys":["a"]}}]`, "first processor in a transformer must be a parser"},
		{"six parsers", many(6, `{"csv":{}}`), "at most 5 parser-type"},
		{"vended not first", `[{"parseJSON":{}},{"parseVPC":{}}]`, "must be the first processor"},
		{"two vended", `[{"parseVPC":{}},{"parseWAF":{}}]`, "must be the first processor"},
		{"vended source", `[{"parseVPC":{"source":"x"}}]`, "source must be @message"},
		{"two grok", `[{"grok":{"match":"%{WORD:a}"}},{"grok":{"match":"%{WORD:b}"}}]`, "at most one grok"},
		{"two addKeys", `[{"parseJSON":{}},{"addKeys":{"entries":[{"key":"a","value":"b"}]}},{"addKeys":{"entries":[{"key":"c","value":"d"}]}}]`, "at most one addKeys"},
		{"two copyValue", `[{"parseJSON":{}},{"copyValue":{"entries":[{"source":"a","target":"b"}]}},{"copyValue":{"entries":[{"source":"a","target":"c"}]}}]`, "at most one copyValue"},
		{"parseJSON first with source", `[{"parseJSON":{"source":"x"}}]`, "source must be @message"},
		{"unknown grok pattern", `[{"grok":{"match":"%{NOPE:x}"}}]`, "not a supported grok pattern"},
		{"grok without pattern", `[{"grok":{"match":"plain"}}]`, "at least one grok pattern"},
		{"grok too many patterns", `[{"grok":{"match":"` + strings.Repeat("%{WORD:a} ", 21) + `"}}]`, "at most"},
		{"grok NOTSPACE limit", `[{"grok":{"match":"` + strings.Repeat("%{NOTSPACE:a} ", 6) + `"}}]`, "NOTSPACE pattern can be used at most 5"},
		{"grok greedy group", `[{"grok":{"match":"%{DATA:a} %{DATA:b} %{SPACE} %{URI:c} %{URIPARAM:d} %{GREEDYDATA:e}"}}]`, "at most 5 times together"},
		{"grok two common", `[{"grok":{"match":"%{APACHE_ACCESS_LOG} %{SYSLOG5424}"}}]`, "first pattern"},
		{"grok NUMBER after common", `[{"grok":{"match":"%{NGINX_ACCESS_LOG} %{NUMBER:num}"}}]`, "only DATA, GREEDYDATA"},
		{"grok common not first", `[{"grok":{"match":"%{GREEDYDATA:logMsg} %{SYSLOG5424}"}}]`, "first pattern"},
		{"csv long delimiter", `[{"csv":{"delimiter":"ab"}}]`, "delimiter must be a single character"},
		{"key too deep", `[{"parseJSON":{}},{"deleteKeys":{"withKeys":["a.b.c.d"]}}]`, "nested deeper than 3"},
		{"typeConverter 6 entries", `[{"parseJSON":{}},{"typeConverter":{"entries":[` + strings.TrimSuffix(strings.Repeat(`{"key":"a","type":"integer"},`, 6), ",") + `]}}]`, "entries"},
		{"typeConverter bad type", `[{"parseJSON":{}},{"typeConverter":{"entries":[{"key":"a","type":"long"}]}}]`, "type"},
		{"listToMap flatten without element", `[{"parseJSON":{}},{"listToMap":{"source":"a","key":"k","flatten":true}}]`, "flattenedElement is required"},
		{"substituteString bad regex", `[{"parseJSON":{}},{"substituteString":{"entries":[{"source":"a","from":"(","to":"x"}]}}]`, "not a valid regular expression"},
		{"substituteString backreference thrice", `[{"parseJSON":{}},{"substituteString":{"entries":[{"source":"a","from":"(x)","to":"$1$1$1"}]}}]`, "at most twice"},
		{"dateTimeConverter bad zone", `[{"parseJSON":{}},{"dateTimeConverter":{"source":"a","target":"b","matchPatterns":["yyyy"],"sourceTimezone":"Mars/Olympus"}}]`, "not a valid time zone"},
		{"dateTimeConverter bad pattern", `[{"parseJSON":{}},{"dateTimeConverter":{"source":"a","target":"b","matchPatterns":["yyyy-QQ"]}}]`, "not a supported date-time pattern"},
		{"copyValue unknown metadata", `[{"parseJSON":{}},{"copyValue":{"entries":[{"source":"@bogus","target":"b"}]}}]`, "not a metadata key"},
		{"ocsf mappingVersion with V1.1", `[{"parseToOCSF":{"eventSource":"VPCFlow","ocsfVersion":"V1.1","mappingVersion":"1.5.0"}}]`, "not supported with ocsfVersion V1.1"},
		{"ocsf bad eventSource", `[{"parseToOCSF":{"eventSource":"S3","ocsfVersion":"V1.5"}}]`, "eventSource"},
		{"grok match too long", `[{"grok":{"match":"` + strings.Repeat("x", 513) + `"}}]`, "match"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, body := range []string{
				`{"logGroupIdentifier":"v","transformerConfig":` + tc.config + `}`,
				`{"logEventMessages":["x"],"transformerConfig":` + tc.config + `}`,
			} {
				op := "PutTransformer"
				if strings.HasPrefix(body, `{"logEventMessages"`) {
					op = "TestTransformer"
				}
				r := h.Call(t, op, []byte(body))
				if r.Status != 400 || r.Code != "InvalidParameterException" || !strings.Contains(r.Message, tc.contains) {
					t.Fatalf("%s: %d %s %q, want InvalidParameterException containing %q", op, r.Status, r.Code, r.Message, tc.contains)
				}
			}
		})
	}
}

// TestLifecycle: Put/Get/Delete, creationTime kept on replace, the group's
// ARN as identifier, the errors of a missing group, a missing transformer and
// an Infrequent Access group; after Delete, events are no longer transformed.
func TestLifecycle(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { return now }
	h := harness.Start(t, harness.WithClock(func() time.Time { return clock() }))
	c := h.Client()
	ctx := t.Context()
	mustGroup(t, c, "life")
	_, err := c.GetTransformer(ctx, &cwl.GetTransformerInput{LogGroupIdentifier: aws.String("life")})
	apiErr(t, err, "ResourceNotFoundException", "does not have a transformer")
	_, err = c.DeleteTransformer(ctx, &cwl.DeleteTransformerInput{LogGroupIdentifier: aws.String("life")})
	apiErr(t, err, "ResourceNotFoundException", "does not have a transformer")
	cfg := []types.Processor{{ParseJSON: &types.ParseJSON{}}}
	_, err = c.PutTransformer(ctx, &cwl.PutTransformerInput{LogGroupIdentifier: aws.String("missing"), TransformerConfig: cfg})
	apiErr(t, err, "ResourceNotFoundException", "The specified log group does not exist.")

	arn := "arn:aws:logs:" + harness.DefaultRegion + ":000000000000:log-group:life"
	if _, err := c.PutTransformer(ctx, &cwl.PutTransformerInput{LogGroupIdentifier: aws.String(arn), TransformerConfig: cfg}); err != nil {
		t.Fatal(err)
	}
	created := now.UnixMilli()
	now = now.Add(time.Minute)
	cfg2 := []types.Processor{{ParseJSON: &types.ParseJSON{}}, {AddKeys: &types.AddKeys{Entries: []types.AddKeyEntry{{Key: aws.String("env"), Value: aws.String("prod")}}}}}
	if _, err := c.PutTransformer(ctx, &cwl.PutTransformerInput{LogGroupIdentifier: aws.String("life"), TransformerConfig: cfg2}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetTransformer(ctx, &cwl.GetTransformerInput{LogGroupIdentifier: aws.String("life")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(got.CreationTime) != created || aws.ToInt64(got.LastModifiedTime) != now.UnixMilli() ||
		aws.ToString(got.LogGroupIdentifier) != arn || len(got.TransformerConfig) != 2 ||
		aws.ToString(got.TransformerConfig[1].AddKeys.Entries[0].Value) != "prod" {
		t.Fatalf("GetTransformer %+v", got)
	}
	if _, err := c.DeleteTransformer(ctx, &cwl.DeleteTransformerInput{LogGroupIdentifier: aws.String("life")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("life"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{{Message: aws.String(`{"a":1}`), Timestamp: aws.Int64(now.UnixMilli())}}}); err != nil {
		t.Fatal(err)
	}
	scope := store.Scope{Account: "000000000000", Region: harness.DefaultRegion}
	page, err := h.Engine().ReadFeed(ctx, store.FeedRequest{Scope: scope, Group: "life", Limit: 10})
	if err != nil || len(page.Events) != 1 {
		t.Fatal(err, len(page.Events))
	}
	if tr, err := transformer.New(transformer.Config{Store: h.Engine()}).Transformed(ctx, scope, "life", page.Events[0].Pos.Seq); err != nil || tr != nil {
		t.Fatalf("after DeleteTransformer the event was transformed: %v", err)
	}

	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("ia"), LogGroupClass: types.LogGroupClassInfrequentAccess}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutTransformer(ctx, &cwl.PutTransformerInput{LogGroupIdentifier: aws.String("ia"), TransformerConfig: cfg})
	apiErr(t, err, "InvalidOperationException", "Standard log class")
}

// TestAccountLevel: the stage asks Config.AccountLevel for groups without a
// transformer of their own, and a group-level one wins over it.
func TestAccountLevel(t *testing.T) {
	h := harness.Start(t)
	ctx := context.Background()
	scope := store.Scope{Account: "000000000000", Region: harness.DefaultRegion}
	mustGroup(t, h.Client(), "acct")
	asked := 0
	svc := transformer.New(transformer.Config{Store: h.Engine(), AccountLevel: func(_ context.Context, grp store.Group) ([]transformer.Processor, error) {
		asked++
		if grp.Name != "acct" {
			return nil, nil
		}
		var p []transformer.Processor
		json.Unmarshal([]byte(`[{"parseJSON":{}},{"addKeys":{"entries":[{"key":"from","value":"account"}]}}]`), &p)
		return p, nil
	}})
	tr, err := svc.Effective(ctx, scope, "acct")
	if err != nil || tr == nil || asked != 1 {
		t.Fatalf("account-level transformer not used: %v %v", tr, err)
	}
	if out, _ := tr.Apply(`{"a":1}`, transformer.Metadata{}); string(out) != `{"a":1,"from":"account"}` {
		t.Fatal(string(out))
	}
	c := h.Client()
	if _, err := c.PutTransformer(ctx, &cwl.PutTransformerInput{LogGroupIdentifier: aws.String("acct"),
		TransformerConfig: []types.Processor{{ParseJSON: &types.ParseJSON{Destination: aws.String("own")}}}}); err != nil {
		t.Fatal(err)
	}
	tr, _ = svc.Effective(ctx, scope, "acct")
	if out, _ := tr.Apply(`{"a":1}`, transformer.Metadata{}); string(out) != `{"own":{"a":1}}` || asked != 1 {
		t.Fatalf("group-level transformer did not win: %s (asked %d)", out, asked)
	}
}
