package anomaly_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/leakcheck"
)

func TestMain(m *testing.M) {
	os.Exit(leakcheck.Main(m, "github.com/cairnlog/cairn/"))
}

// clock is a controllable server clock near the real time (SigV4 checks
// request times against it).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func apiErr(t *testing.T, err error, code, contains string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), contains) {
		t.Fatalf("want %s containing %q, got %v", code, contains, err)
	}
}

func put(t *testing.T, c *cwl.Client, group string, at time.Time, msgs ...string) {
	t.Helper()
	var evs []types.InputLogEvent
	for _, m := range msgs {
		evs = append(evs, types.InputLogEvent{Message: aws.String(m), Timestamp: aws.Int64(at.UnixMilli())})
	}
	if _, err := c.PutLogEvents(t.Context(), &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
}

// TestPlantedPattern: a detector trains on one window of familiar lines,
// then reports a planted new pattern (and not the familiar ones) once its
// evaluation frequency has passed on the server's clock.
func TestPlantedPattern(t *testing.T) {
	clk := &clock{t: time.Now()}
	h := harness.Start(t, harness.WithClock(clk.now))
	c := h.Client()
	ctx := t.Context()
	c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("app")})
	c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s")})
	arn := "arn:aws:logs:" + harness.DefaultRegion + ":000000000000:log-group:app"
	out, err := c.CreateLogAnomalyDetector(ctx, &cwl.CreateLogAnomalyDetectorInput{LogGroupArnList: []string{arn},
		DetectorName: aws.String("d"), EvaluationFrequency: types.EvaluationFrequencyFiveMin})
	if err != nil {
		t.Fatal(err)
	}
	detector := aws.ToString(out.AnomalyDetectorArn)
	if !strings.HasPrefix(detector, "arn:aws:logs:"+harness.DefaultRegion+":000000000000:anomaly-detector:") {
		t.Fatal(detector)
	}
	familiar := func(n int) []string {
		var m []string
		for i := 0; i < n; i++ {
			m = append(m, fmt.Sprintf("user %d logged in from 10.0.0.%d", i, i%200), fmt.Sprintf("GET /api/orders/%d 200 %dms", i*7, i%90))
		}
		return m
	}
	put(t, c, "app", clk.now(), familiar(50)...)
	status := func() types.AnomalyDetectorStatus {
		g, err := c.GetLogAnomalyDetector(ctx, &cwl.GetLogAnomalyDetectorInput{AnomalyDetectorArn: aws.String(detector)})
		if err != nil {
			t.Fatal(err)
		}
		return g.AnomalyDetectorStatus
	}
	if s := status(); s != types.AnomalyDetectorStatusTraining {
		t.Fatalf("status %s before the first evaluation", s)
	}
	clk.add(5 * time.Minute)
	harness.CheckFor(t, 15*time.Second, 50*time.Millisecond, func() error {
		if s := status(); s != types.AnomalyDetectorStatusAnalyzing {
			return fmt.Errorf("status %s", s)
		}
		return nil
	})
	la, err := c.ListAnomalies(ctx, &cwl.ListAnomaliesInput{AnomalyDetectorArn: aws.String(detector)})
	if err != nil || len(la.Anomalies) != 0 {
		t.Fatalf("training reported anomalies: %v %+v", err, la)
	}
	// Familiar lines again, plus the planted pattern.
	put(t, c, "app", clk.now(), append(familiar(20), "FATAL disk /dev/sda1 failed with code 17", "FATAL disk /dev/sdb2 failed with code 19")...)
	clk.add(5 * time.Minute)
	var got types.Anomaly
	harness.CheckFor(t, 15*time.Second, 50*time.Millisecond, func() error {
		la, err := c.ListAnomalies(ctx, &cwl.ListAnomaliesInput{AnomalyDetectorArn: aws.String(detector)})
		if err != nil {
			return err
		}
		if len(la.Anomalies) == 0 {
			return errors.New("no anomaly yet")
		}
		if len(la.Anomalies) != 1 {
			var s []string
			for _, a := range la.Anomalies {
				s = append(s, aws.ToString(a.PatternString))
			}
			t.Fatalf("want only the planted pattern, got %q", s)
		}
		got = la.Anomalies[0]
		return nil
	})
	if ps := aws.ToString(got.PatternString); ps != "FATAL disk <*> failed with code <*>" {
		t.Fatalf("patternString %q", ps)
	}
	if aws.ToString(got.Priority) != "HIGH" || got.State != types.StateActive || !aws.ToBool(got.Active) ||
		len(aws.ToString(got.AnomalyId)) != 36 || len(aws.ToString(got.PatternId)) != 32 || len(got.LogSamples) != 2 ||
		got.FirstSeen != clk.now().UnixMilli() || len(got.Histogram) != 1 || got.LogGroupArnList[0] != arn {
		t.Fatalf("anomaly %+v", got)
	}
	if !strings.Contains(aws.ToString(got.PatternRegex), `\Q failed with code \E`) {
		t.Fatalf("patternRegex %q", aws.ToString(got.PatternRegex))
	}
	dyn := 0
	for _, tok := range got.PatternTokens {
		if aws.ToBool(tok.IsDynamic) {
			dyn++
			if tok.DynamicTokenPosition != int32(dyn) || len(tok.Enumerations) != 2 {
				t.Fatalf("token %+v", tok)
			}
		}
	}
	if dyn != 2 {
		t.Fatalf("%d dynamic tokens", dyn)
	}

	// Suppress it; SUPPRESSED lists it, UNSUPPRESSED does not.
	if _, err := c.UpdateAnomaly(ctx, &cwl.UpdateAnomalyInput{AnomalyDetectorArn: aws.String(detector), AnomalyId: got.AnomalyId,
		SuppressionType: types.SuppressionTypeInfinite}); err != nil {
		t.Fatal(err)
	}
	sup, _ := c.ListAnomalies(ctx, &cwl.ListAnomaliesInput{AnomalyDetectorArn: aws.String(detector), SuppressionState: types.SuppressionStateSuppressed})
	unsup, _ := c.ListAnomalies(ctx, &cwl.ListAnomaliesInput{AnomalyDetectorArn: aws.String(detector), SuppressionState: types.SuppressionStateUnsuppressed})
	if len(sup.Anomalies) != 1 || len(unsup.Anomalies) != 0 || sup.Anomalies[0].State != types.StateSuppressed || !aws.ToBool(sup.Anomalies[0].Suppressed) {
		t.Fatalf("suppression: %+v / %+v", sup.Anomalies, unsup.Anomalies)
	}
	_, err = c.UpdateAnomaly(ctx, &cwl.UpdateAnomalyInput{AnomalyDetectorArn: aws.String(detector), AnomalyId: got.AnomalyId, PatternId: got.PatternId})
	apiErr(t, err, "InvalidParameterException", "not both")
	_, err = c.UpdateAnomaly(ctx, &cwl.UpdateAnomalyInput{AnomalyDetectorArn: aws.String(detector), AnomalyId: got.AnomalyId, SuppressionType: types.SuppressionTypeLimited})
	apiErr(t, err, "InvalidParameterException", "suppressionPeriod")

	// Pause, delete.
	if _, err := c.UpdateLogAnomalyDetector(ctx, &cwl.UpdateLogAnomalyDetectorInput{AnomalyDetectorArn: aws.String(detector), Enabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if s := status(); s != types.AnomalyDetectorStatusPaused {
		t.Fatalf("status %s after enabled=false", s)
	}
	if _, err := c.DeleteLogAnomalyDetector(ctx, &cwl.DeleteLogAnomalyDetectorInput{AnomalyDetectorArn: aws.String(detector)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetLogAnomalyDetector(ctx, &cwl.GetLogAnomalyDetectorInput{AnomalyDetectorArn: aws.String(detector)})
	apiErr(t, err, "ResourceNotFoundException", "anomaly detector")
	_, err = c.ListAnomalies(ctx, &cwl.ListAnomaliesInput{AnomalyDetectorArn: aws.String(detector)})
	apiErr(t, err, "ResourceNotFoundException", "anomaly detector")
}

// TestDetectorValidation: the shapes' rules (the model's, checked by the
// protocol) and the documented ones.
func TestDetectorValidation(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")})
	arn := "arn:aws:logs:" + harness.DefaultRegion + ":000000000000:log-group:g"
	cases := []struct{ name, body, code, contains string }{
		{"no groups", `{"logGroupArnList":[]}`, "InvalidParameterException", "exactly one"},
		{"two groups", `{"logGroupArnList":["` + arn + `","` + arn + `"]}`, "InvalidParameterException", "exactly one"},
		{"missing group", `{"logGroupArnList":["arn:aws:logs:` + harness.DefaultRegion + `:000000000000:log-group:nope"]}`, "ResourceNotFoundException", "log group does not exist"},
		{"bad frequency", `{"logGroupArnList":["` + arn + `"],"evaluationFrequency":"TWO_MIN"}`, "", "evaluationFrequency"},
		{"visibility 6", `{"logGroupArnList":["` + arn + `"],"anomalyVisibilityTime":6}`, "", "anomalyVisibilityTime"},
		{"visibility 91", `{"logGroupArnList":["` + arn + `"],"anomalyVisibilityTime":91}`, "", "anomalyVisibilityTime"},
		{"bad kms", `{"logGroupArnList":["` + arn + `"],"kmsKeyId":"alias/x"}`, "", "kmsKeyId"},
		{"bad pattern", `{"logGroupArnList":["` + arn + `"],"filterPattern":"{ $.x = "}`, "InvalidParameterException", ""},
		{"pattern too long", `{"logGroupArnList":["` + arn + `"],"filterPattern":"` + strings.Repeat("a", 1025) + `"}`, "", "filterPattern"},
	}
	for _, tc := range cases {
		r := h.Call(t, "CreateLogAnomalyDetector", []byte(tc.body))
		if r.Status != 400 || (tc.code != "" && r.Code != tc.code) || !strings.Contains(r.Message, tc.contains) {
			t.Errorf("%s: %d %s %q", tc.name, r.Status, r.Code, r.Message)
		}
	}
	out, err := c.CreateLogAnomalyDetector(ctx, &cwl.CreateLogAnomalyDetectorInput{LogGroupArnList: []string{arn},
		KmsKeyId: aws.String("arn:aws:kms:us-east-1:000000000000:key/abc-123"), FilterPattern: aws.String("ERROR")})
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.GetLogAnomalyDetector(ctx, &cwl.GetLogAnomalyDetectorInput{AnomalyDetectorArn: out.AnomalyDetectorArn})
	if err != nil || g.AnomalyVisibilityTime == nil || *g.AnomalyVisibilityTime != 21 || g.EvaluationFrequency != "" ||
		aws.ToString(g.FilterPattern) != "ERROR" || aws.ToString(g.KmsKeyId) == "" {
		t.Fatalf("defaults: %v %+v", err, g)
	}
	l, err := c.ListLogAnomalyDetectors(ctx, &cwl.ListLogAnomalyDetectorsInput{FilterLogGroupArn: aws.String(arn)})
	if err != nil || len(l.AnomalyDetectors) != 1 || aws.ToString(l.AnomalyDetectors[0].AnomalyDetectorArn) != aws.ToString(out.AnomalyDetectorArn) {
		t.Fatalf("list %v %+v", err, l)
	}
	l, _ = c.ListLogAnomalyDetectors(ctx, &cwl.ListLogAnomalyDetectorsInput{FilterLogGroupArn: aws.String(arn + "x")})
	if len(l.AnomalyDetectors) != 0 {
		t.Fatal("filter ignored")
	}
	_, err = c.GetLogAnomalyDetector(ctx, &cwl.GetLogAnomalyDetectorInput{AnomalyDetectorArn: aws.String("arn:aws:logs:us-east-1:000000000000:anomaly-detector:nope")})
	apiErr(t, err, "ResourceNotFoundException", "anomaly detector")
}
