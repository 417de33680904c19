package anomaly_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// detectorOn creates group "app" with stream "s" and a FIVE_MIN detector on
// it with the given anomalyVisibilityTime (0: the default).
func detectorOn(t *testing.T, c *cwl.Client, visibility int64) string {
	t.Helper()
	ctx := t.Context()
	c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("app")})
	c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s")})
	in := &cwl.CreateLogAnomalyDetectorInput{LogGroupArnList: []string{"arn:aws:logs:" + harness.DefaultRegion + ":000000000000:log-group:app"},
		EvaluationFrequency: types.EvaluationFrequencyFiveMin}
	if visibility != 0 {
		in.AnomalyVisibilityTime = aws.Int64(visibility)
	}
	out, err := c.CreateLogAnomalyDetector(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.AnomalyDetectorArn)
}

func waitStatus(t *testing.T, c *cwl.Client, detector string, want types.AnomalyDetectorStatus) {
	t.Helper()
	harness.CheckFor(t, 15*time.Second, 50*time.Millisecond, func() error {
		g, err := c.GetLogAnomalyDetector(t.Context(), &cwl.GetLogAnomalyDetectorInput{AnomalyDetectorArn: aws.String(detector)})
		if err != nil {
			return err
		}
		if g.AnomalyDetectorStatus != want {
			return fmt.Errorf("status %s, want %s", g.AnomalyDetectorStatus, want)
		}
		return nil
	})
}

// anomalies lists a detector's anomalies by patternString.
func anomalies(t *testing.T, c *cwl.Client, detector string) map[string]types.Anomaly {
	t.Helper()
	la, err := c.ListAnomalies(t.Context(), &cwl.ListAnomaliesInput{AnomalyDetectorArn: aws.String(detector)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]types.Anomaly{}
	for _, a := range la.Anomalies {
		if _, dup := out[aws.ToString(a.PatternString)]; dup {
			t.Fatalf("two anomalies of pattern %q", aws.ToString(a.PatternString))
		}
		out[aws.ToString(a.PatternString)] = a
	}
	return out
}

func repeat(n int, f func(i int) string) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, f(i))
	}
	return out
}

func logins(n int) []string {
	return repeat(n, func(i int) string { return fmt.Sprintf("user %d logged in from 10.0.0.%d", i, i%200) })
}

func slow(n int) []string {
	return repeat(n, func(i int) string { return fmt.Sprintf("cache miss for key order-%d took %dms", i, i%90) })
}

// TestRestartKeepsLearning: a detector trains, the server restarts on the
// same data directory, and the next evaluation knows what it learnt: the
// familiar pattern is not reported, a new one is, and the pattern whose
// count rose is measured against the mean learnt before the restart (a
// detector that trained afresh would report the familiar pattern, or call
// the risen one new).
func TestRestartKeepsLearning(t *testing.T) {
	clk := &clock{t: time.Now()}
	h := harness.Start(t, harness.AuthOff(), harness.WithClock(clk.now))
	c := h.Client()
	detector := detectorOn(t, c, 0)
	put(t, c, "app", clk.now(), append(logins(40), slow(5)...)...)
	clk.add(5 * time.Minute)
	waitStatus(t, c, detector, types.AnomalyDetectorStatusAnalyzing)
	if got := anomalies(t, c, detector); len(got) != 0 {
		t.Fatalf("training reported %v", got)
	}

	h.Restart()
	waitStatus(t, c, detector, types.AnomalyDetectorStatusAnalyzing) // not training again
	put(t, c, "app", clk.now(), append(append(logins(40), slow(30)...), "FATAL disk /dev/sda1 failed with code 17", "FATAL disk /dev/sdb2 failed with code 19")...)
	clk.add(5 * time.Minute)
	var got map[string]types.Anomaly
	harness.CheckFor(t, 15*time.Second, 50*time.Millisecond, func() error {
		if got = anomalies(t, c, detector); len(got) < 2 {
			return fmt.Errorf("%d anomalies", len(got))
		}
		return nil
	})
	if len(got) != 2 {
		t.Fatalf("want the new and the risen pattern, got %v", keys(got))
	}
	if a, ok := got["FATAL disk <*> failed with code <*>"]; !ok || aws.ToString(a.Description) != "New pattern detected." {
		t.Fatalf("new pattern: %v", keys(got))
	}
	// 30 against the mean 5 learnt before the restart: +500%.
	a, ok := got["cache miss for key <*> took <*>"]
	if !ok || aws.ToString(a.Description) != "Count of pattern deviated expected by: 500.00%" || aws.ToString(a.Priority) != "LOW" {
		t.Fatalf("risen pattern: %v %q", keys(got), aws.ToString(a.Description))
	}
}

func keys(m map[string]types.Anomaly) []string {
	var out []string
	for k, a := range m {
		out = append(out, k+" ("+aws.ToString(a.Description)+")")
	}
	return out
}

// TestAutoBaseline: an anomaly is baselined when anomalyVisibilityTime (7
// days) has passed since it was first seen, not an evaluation before, and
// then its new occurrences are normal (not reported) while a new pattern of
// the same evaluation still is.
func TestAutoBaseline(t *testing.T) {
	clk := &clock{t: time.Now()}
	h := harness.Start(t, harness.AuthOff(), harness.WithClock(clk.now))
	c := h.Client()
	ctx := t.Context()
	detector := detectorOn(t, c, 7)
	put(t, c, "app", clk.now(), logins(40)...)
	clk.add(5 * time.Minute)
	waitStatus(t, c, detector, types.AnomalyDetectorStatusAnalyzing)

	const fatal = "FATAL disk <*> failed with code <*>"
	disk := func(n int) []string {
		return repeat(n, func(i int) string { return fmt.Sprintf("FATAL disk /dev/sd%c1 failed with code %d", 'a'+i%26, i) })
	}
	put(t, c, "app", clk.now(), append(logins(40), disk(2)...)...)
	clk.add(5 * time.Minute)
	firstSeen := clk.now().UnixMilli()
	var a types.Anomaly
	harness.CheckFor(t, 15*time.Second, 50*time.Millisecond, func() error {
		var ok bool
		if a, ok = anomalies(t, c, detector)[fatal]; !ok {
			return errors.New("not reported yet")
		}
		return nil
	})
	if a.FirstSeen != firstSeen || a.State != types.StateActive {
		t.Fatalf("anomaly %+v", a)
	}

	// One evaluation before the visibility time: still Active, and a risen
	// count (20 against a mean of 2) updates it.
	clk.add(7*24*time.Hour - 10*time.Minute)
	put(t, c, "app", clk.now(), disk(20)...)
	clk.add(5 * time.Minute)
	before := clk.now().UnixMilli()
	harness.CheckFor(t, 15*time.Second, 50*time.Millisecond, func() error {
		if a = anomalies(t, c, detector)[fatal]; a.LastSeen != before {
			return fmt.Errorf("lastSeen %d, want %d", a.LastSeen, before)
		}
		return nil
	})
	if a.State != types.StateActive || !strings.HasPrefix(aws.ToString(a.Description), "Count of pattern deviated") {
		t.Fatalf("before the visibility time: %s %q", a.State, aws.ToString(a.Description))
	}

	// At the visibility time: Baseline; a new occurrence of it (60 against
	// a mean of 11) is normal, while a new pattern is still reported.
	put(t, c, "app", clk.now(), append(disk(60), "panic: runtime error: index out of range [3] with length 3")...)
	clk.add(5 * time.Minute)
	if clk.now().UnixMilli() != firstSeen+(7*24*time.Hour).Milliseconds() {
		t.Fatal("BUG: the test's clock")
	}
	harness.CheckFor(t, 15*time.Second, 50*time.Millisecond, func() error {
		if len(anomalies(t, c, detector)) < 2 {
			return errors.New("the new pattern not reported yet")
		}
		return nil
	})
	got := anomalies(t, c, detector)
	if a = got[fatal]; a.State != types.StateBaseline || a.LastSeen != before {
		t.Fatalf("at the visibility time: %s, lastSeen %d (want %d)", a.State, a.LastSeen, before)
	}
	if len(got) != 2 {
		t.Fatalf("anomalies %v", keys(got))
	}
	// The baselined anomaly is listed as unsuppressed.
	un, err := c.ListAnomalies(ctx, &cwl.ListAnomaliesInput{AnomalyDetectorArn: aws.String(detector), SuppressionState: types.SuppressionStateUnsuppressed})
	if err != nil || len(un.Anomalies) != 2 {
		t.Fatalf("unsuppressed: %v %d", err, len(un.Anomalies))
	}
}
