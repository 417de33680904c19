package metricfilter_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/harness"
)

func createGroup(t testing.TB, c *cwl.Client, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := c.CreateLogGroup(context.Background(), &cwl.CreateLogGroupInput{LogGroupName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
}

func wantErr(t testing.TB, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want %s %q", err, code, msg)
	}
	if ae.ErrorCode() != code || ae.ErrorMessage() != msg {
		t.Fatalf("got %s %q\nwant %s %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

func counter(name string) []types.MetricTransformation {
	return []types.MetricTransformation{{MetricName: aws.String(name), MetricNamespace: aws.String("App"), MetricValue: aws.String("1")}}
}

// TestPutMetricFilterRules: each rule of the model and of AWS, through the
// real server and the SDK, or raw JSON where an SDK would refuse to send.
func TestPutMetricFilterRules(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := context.Background()
	createGroup(t, c, "g")
	put := func(in *cwl.PutMetricFilterInput) error {
		_, err := c.PutMetricFilter(ctx, in)
		return err
	}
	raw := func(body, code, msg string) {
		t.Helper()
		r := h.Call(t, "PutMetricFilter", []byte(body))
		if r.Code != code || r.Message != msg {
			t.Fatalf("%s:\ngot %s %q\nwant %s %q", body, r.Code, r.Message, code, msg)
		}
	}
	mt := `"metricTransformations":[{"metricName":"m","metricNamespace":"n","metricValue":"1"}]`

	wantErr(t, put(&cwl.PutMetricFilterInput{LogGroupName: aws.String("nope"), FilterName: aws.String("f"), FilterPattern: aws.String(""), MetricTransformations: counter("m")}),
		"ResourceNotFoundException", "The specified log group does not exist.")
	raw(`{"logGroupName":"`+strings.Repeat("a", 513)+`","filterName":"f","filterPattern":"",`+mt+`}`,
		"InvalidParameterException", "Invalid LogGroup or LogStream, both must have length less than or equal to 512.")
	long := strings.Repeat("f", 513)
	raw(`{"logGroupName":"g","filterName":"`+long+`","filterPattern":"",`+mt+`}`,
		"InvalidParameterException", "1 validation error detected: Value '"+long+"' at 'filterName' failed to satisfy constraint: Member must have length less than or equal to 512")
	lp := strings.Repeat("p", 1025)
	raw(`{"logGroupName":"g","filterName":"f","filterPattern":"`+lp+`",`+mt+`}`,
		"InvalidParameterException", "1 validation error detected: Value '"+lp+"' at 'filterPattern' failed to satisfy constraint: Member must have length less than or equal to 1024")
	// Two transformations: AWS's recorded Java toString text (reference §1).
	raw(`{"logGroupName":"g","filterName":"f","filterPattern":"","metricTransformations":[{"metricName":"metric1","metricNamespace":"namespace1","metricValue":"1"},{"metricName":"metric2","metricNamespace":"namespace2","metricValue":"1"}]}`,
		"InvalidParameterException", "1 validation error detected: Value '[MetricTransformation(metricName=metric1, metricNamespace=namespace1, metricValue=1, defaultValue=null, unit=null, dimensions=null), MetricTransformation(metricName=metric2, metricNamespace=namespace2, metricValue=1, defaultValue=null, unit=null, dimensions=null)]' at 'metricTransformations' failed to satisfy constraint: Member must have length less than or equal to 1")
	raw(`{"logGroupName":"g","filterName":"f","filterPattern":""}`,
		"InvalidParameterException", "1 validation error detected: Value null at 'metricTransformations' failed to satisfy constraint: Member must not be null")
	raw(`{"logGroupName":"g","filterName":"f","filterPattern":"","metricTransformations":[{"metricName":"m","metricNamespace":"n","metricValue":"1","unit":"Parsecs"}]}`,
		"InvalidParameterException", "1 validation error detected: Value 'Parsecs' at 'metricTransformations.1.member.unit' failed to satisfy constraint: Member must satisfy enum value set: [Seconds, Microseconds, Milliseconds, Bytes, Kilobytes, Megabytes, Gigabytes, Terabytes, Bits, Kilobits, Megabits, Gigabits, Terabits, Percent, Count, Bytes/Second, Kilobytes/Second, Megabytes/Second, Gigabytes/Second, Terabytes/Second, Bits/Second, Kilobits/Second, Megabits/Second, Gigabits/Second, Terabits/Second, Count/Second, None]")
	raw(`{"logGroupName":"g","filterName":"f","filterPattern":"","metricTransformations":[{"metricNamespace":"n","metricValue":"1"}]}`,
		"InvalidParameterException", "1 validation error detected: Value null at 'metricTransformations.1.member.metricName' failed to satisfy constraint: Member must not be null")
	raw(`{"logGroupName":"g","filterName":"f","filterPattern":"","metricTransformations":[{"metricName":"a*b","metricNamespace":"n","metricValue":"1"}]}`,
		"InvalidParameterException", "1 validation error detected: Value 'a*b' at 'metricTransformations.1.member.metricName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*$]*")
	raw(`{"logGroupName":"g","filterName":"f","filterPattern":"","metricTransformations":[{"metricName":"m","metricNamespace":"n","metricValue":"`+strings.Repeat("1", 101)+`"}]}`,
		"InvalidParameterException", "1 validation error detected: Value '"+strings.Repeat("1", 101)+"' at 'metricTransformations.1.member.metricValue' failed to satisfy constraint: Member must have length less than or equal to 100")
	raw(`{"logGroupName":"g","filterName":"f","filterPattern":"{","metricTransformations":[{"metricName":"m","metricNamespace":"n","metricValue":"1"}]}`,
		"InvalidParameterException", patternError(t, h, "{"))

	wantErr(t, put(&cwl.PutMetricFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String("f"), FilterPattern: aws.String(""),
		MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("m"), MetricNamespace: aws.String("n"), MetricValue: aws.String("lots")}}}),
		"InvalidParameterException", "Invalid metric value: lots. The metric value must be a number or a field selector such as $.latency or $size.")
	wantErr(t, put(&cwl.PutMetricFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String("f"), FilterPattern: aws.String("{ $.a = 1 }"),
		MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("m"), MetricNamespace: aws.String("n"), MetricValue: aws.String("1"),
			DefaultValue: aws.Float64(0), Dimensions: map[string]string{"A": "$.a"}}}}),
		"InvalidParameterException", "Invalid metric transformation: dimensions and default value are mutually exclusive properties")
	wantErr(t, put(&cwl.PutMetricFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String("f"), FilterPattern: aws.String("ERROR"),
		MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("m"), MetricNamespace: aws.String("n"), MetricValue: aws.String("1"),
			Dimensions: map[string]string{"A": "$.a"}}}}),
		"InvalidParameterException", "The specified filter pattern does not support dimensions")
	wantErr(t, put(&cwl.PutMetricFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String("f"), FilterPattern: aws.String("{ $.a = 1 }"),
		MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("m"), MetricNamespace: aws.String("n"), MetricValue: aws.String("1"),
			Dimensions: map[string]string{"A": "$.a", "B": "$.b", "C": "$.c", "D": "$.d"}}}}),
		"InvalidParameterException", "Invalid metric transformation: a metric filter can have at most 3 dimensions.")
	wantErr(t, put(&cwl.PutMetricFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String("f"), FilterPattern: aws.String("[ip, user, bytes]"),
		MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("m"), MetricNamespace: aws.String("n"), MetricValue: aws.String("$.bytes")}}}),
		"InvalidParameterException", "Invalid metric transformation: $.bytes is not a field of the filter pattern.")
	wantErr(t, put(&cwl.PutMetricFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String("f"), FilterPattern: aws.String("{ $.a = 1 }"),
		MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("m"), MetricNamespace: aws.String("n"), MetricValue: aws.String("1"),
			Dimensions: map[string]string{"A": "fixed"}}}}),
		"InvalidParameterException", "Invalid dimension value for A: fixed. Dimension values must be field selectors such as $.requestId or $ip.")

	// A ':' in the namespace is accepted and found again (recorded, reference §4.1).
	ns := "A.B-c_d/1#2:metricNamespace"
	if err := put(&cwl.PutMetricFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String("colon"), FilterPattern: aws.String(" "),
		MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("m1"), MetricNamespace: aws.String(ns), MetricValue: aws.String("1"), DefaultValue: aws.Float64(0)}}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{MetricName: aws.String("m1"), MetricNamespace: aws.String(ns)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.MetricFilters) != 1 || *out.MetricFilters[0].FilterPattern != " " || *out.MetricFilters[0].MetricTransformations[0].DefaultValue != 0 ||
		out.MetricFilters[0].MetricTransformations[0].Unit != "" || *out.MetricFilters[0].LogGroupName != "g" || *out.MetricFilters[0].CreationTime == 0 {
		t.Fatalf("describe: %+v", out.MetricFilters)
	}

	// 100 per group: the 101st new name is refused, a replacement is not.
	for i := 1; i < 100; i++ {
		if err := put(&cwl.PutMetricFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String(fmt.Sprintf("f%03d", i)), FilterPattern: aws.String(""), MetricTransformations: counter("m")}); err != nil {
			t.Fatal(i, err)
		}
	}
	wantErr(t, put(&cwl.PutMetricFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String("one-too-many"), FilterPattern: aws.String(""), MetricTransformations: counter("m")}),
		"LimitExceededException", "Resource limit exceeded.")
	if err := put(&cwl.PutMetricFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String("f001"), FilterPattern: aws.String("ERROR"), MetricTransformations: counter("m2")}); err != nil {
		t.Fatalf("replacing at the limit: %v", err)
	}
	gs, err := c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("g")})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs.LogGroups) != 1 || *gs.LogGroups[0].MetricFilterCount != 100 {
		t.Fatalf("metricFilterCount: %+v", gs.LogGroups)
	}
	if _, err := c.DeleteMetricFilter(ctx, &cwl.DeleteMetricFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String("f001")}); err != nil {
		t.Fatal(err)
	}
	gs, _ = c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("g")})
	if *gs.LogGroups[0].MetricFilterCount != 99 {
		t.Fatalf("metricFilterCount after a delete: %d", *gs.LogGroups[0].MetricFilterCount)
	}
}

// patternError is the text TestMetricFilter gives for a bad pattern: the
// same compiler, so the same answer.
func patternError(t testing.TB, h *harness.Server, expr string) string {
	r := h.Call(t, "TestMetricFilter", []byte(`{"filterPattern":"`+expr+`","logEventMessages":["x"]}`))
	if r.Code != "InvalidParameterException" || r.Message == "" {
		t.Fatalf("TestMetricFilter(%q): %s", expr, r)
	}
	return r.Message
}

func TestDescribeAndDeleteMetricFilters(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := context.Background()
	out, err := c.DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{})
	if err != nil || len(out.MetricFilters) != 0 || out.NextToken != nil {
		t.Fatalf("empty: %+v %v", out, err)
	}
	if r := h.Call(t, "DescribeMetricFilters", []byte(`{}`)); string(r.Body) != `{"metricFilters":[]}` {
		t.Fatalf("empty body: %s", r.Body)
	}
	createGroup(t, c, "a", "b")
	for _, p := range [][2]string{{"b", "x-1"}, {"a", "x-0"}, {"a", "y"}, {"b", "x-0"}} {
		if _, err := c.PutMetricFilter(ctx, &cwl.PutMetricFilterInput{LogGroupName: aws.String(p[0]), FilterName: aws.String(p[1]), FilterPattern: aws.String(""),
			MetricTransformations: counter("m-" + p[1])}); err != nil {
			t.Fatal(err)
		}
	}
	names := func(fs []types.MetricFilter) string {
		var s []string
		for _, f := range fs {
			s = append(s, *f.LogGroupName+"/"+*f.FilterName)
		}
		return strings.Join(s, " ")
	}
	// The prefix works without a group, across groups, in filterName order.
	out, err = c.DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{FilterNamePrefix: aws.String("x-")})
	if err != nil || names(out.MetricFilters) != "a/x-0 b/x-0 b/x-1" {
		t.Fatalf("prefix: %s %v", names(out.MetricFilters), err)
	}
	out, err = c.DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{LogGroupName: aws.String("a")})
	if err != nil || names(out.MetricFilters) != "a/x-0 a/y" {
		t.Fatalf("group: %s %v", names(out.MetricFilters), err)
	}
	out, err = c.DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{MetricName: aws.String("m-y"), MetricNamespace: aws.String("App")})
	if err != nil || names(out.MetricFilters) != "a/y" {
		t.Fatalf("metric: %s %v", names(out.MetricFilters), err)
	}
	// Pages of one, to the end, with the SDK's paginator.
	var all []types.MetricFilter
	pg := cwl.NewDescribeMetricFiltersPaginator(c, &cwl.DescribeMetricFiltersInput{Limit: aws.Int32(1)})
	pages := 0
	for pg.HasMorePages() {
		p, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, p.MetricFilters...)
	}
	if names(all) != "a/x-0 b/x-0 b/x-1 a/y" || pages != 4 {
		t.Fatalf("paged: %s in %d pages", names(all), pages)
	}
	wantErr(t, func() error {
		_, err := c.DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{MetricName: aws.String("m")})
		return err
	}(), "InvalidParameterException", "Describe Metric Filters request must contain both MetricName and MetricNamespace")
	wantErr(t, func() error {
		_, err := c.DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{MetricNamespace: aws.String("App")})
		return err
	}(), "InvalidParameterException", "Describe Metric Filters request must contain both MetricName and MetricNamespace")
	wantErr(t, func() error {
		_, err := c.DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{LogGroupName: aws.String("nope")})
		return err
	}(), "ResourceNotFoundException", "The specified log group does not exist.")
	wantErr(t, func() error {
		_, err := c.DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{NextToken: aws.String("bogus")})
		return err
	}(), "InvalidParameterException", "The specified nextToken is invalid.")
	long := strings.Repeat("p", 513)
	if r := h.Call(t, "DescribeMetricFilters", []byte(`{"filterNamePrefix":"`+long+`"}`)); r.Message != "1 validation error detected: Value '"+long+"' at 'filterNamePrefix' failed to satisfy constraint: Member must have length less than or equal to 512" {
		t.Fatalf("long prefix: %s", r)
	}
	if r := h.Call(t, "DescribeMetricFilters", []byte(`{"limit":51}`)); r.Code != "InvalidParameterException" {
		t.Fatalf("limit 51: %s", r)
	}
	// Delete.
	wantErr(t, func() error {
		_, err := c.DeleteMetricFilter(ctx, &cwl.DeleteMetricFilterInput{LogGroupName: aws.String("a"), FilterName: aws.String("nope")})
		return err
	}(), "ResourceNotFoundException", "The specified metric filter does not exist.")
	wantErr(t, func() error {
		_, err := c.DeleteMetricFilter(ctx, &cwl.DeleteMetricFilterInput{LogGroupName: aws.String("nope"), FilterName: aws.String("y")})
		return err
	}(), "ResourceNotFoundException", "The specified log group does not exist.")
	if r := h.Call(t, "DeleteMetricFilter", []byte(`{"logGroupName":"`+strings.Repeat("g", 513)+`","filterName":"y"}`)); r.Message != "Invalid LogGroup or LogStream, both must have length less than or equal to 512." {
		t.Fatalf("long group: %s", r)
	}
	if _, err := c.DeleteMetricFilter(ctx, &cwl.DeleteMetricFilterInput{LogGroupName: aws.String("a"), FilterName: aws.String("y")}); err != nil {
		t.Fatal(err)
	}
	// Deleting the group takes its filters (a new group of that name has none).
	if _, err := c.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("b")}); err != nil {
		t.Fatal(err)
	}
	createGroup(t, c, "b")
	out, err = c.DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{})
	if err != nil || names(out.MetricFilters) != "a/x-0" {
		t.Fatalf("after deletes: %s %v", names(out.MetricFilters), err)
	}
}

// TestDefaultValueOnTheWire: defaultValue is a double, and AWS's Java
// service writes one with a fractional digit: a filter put with 0 reads
// back "defaultValue": 0.0 (recorded, reference §4.2), which boto3 and the
// AWS CLI show as 0.0, not the integer 0. Java's scientific notation from
// 10^7 on is kept too; the message that renders two transformations (Java's
// toString) uses the same form.
func TestDefaultValueOnTheWire(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	createGroup(t, c, "g")
	f := func(def, want string) {
		t.Helper()
		body := `{"logGroupName":"g","filterName":"f","filterPattern":" ","metricTransformations":[{"metricName":"m","metricNamespace":"n","metricValue":"1","defaultValue":` + def + `}]}`
		if r := h.Call(t, "PutMetricFilter", []byte(body)); r.Status != 200 {
			t.Fatalf("put %s: %s", def, r.Body)
		}
		r := h.Call(t, "DescribeMetricFilters", []byte(`{"logGroupName":"g"}`))
		if !strings.Contains(string(r.Body), `"defaultValue":`+want+`}`) {
			t.Fatalf("defaultValue %s: got %s, want %s", def, r.Body, want)
		}
	}
	f("0", "0.0")
	f("2", "2.0")
	f("2.5", "2.5")
	f("-1", "-1.0")
	f("10000000", "1.0E7")
	f("0.0001", "1.0E-4")
	f("123456.789", "123456.789")

	r := h.Call(t, "PutMetricFilter", []byte(`{"logGroupName":"g","filterName":"f","filterPattern":" ","metricTransformations":[`+
		`{"metricName":"a","metricNamespace":"n","metricValue":"1","defaultValue":3},{"metricName":"b","metricNamespace":"n","metricValue":"1"}]}`))
	if want := "1 validation error detected: Value '[MetricTransformation(metricName=a, metricNamespace=n, metricValue=1, defaultValue=3.0, unit=null, dimensions=null), " +
		"MetricTransformation(metricName=b, metricNamespace=n, metricValue=1, defaultValue=null, unit=null, dimensions=null)]' at 'metricTransformations' " +
		"failed to satisfy constraint: Member must have length less than or equal to 1"; r.Message != want {
		t.Fatalf("got %q\nwant %q", r.Message, want)
	}
}
