package syslogconfig_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
)

func withSyslog(c *server.Config) { c.SyslogListen = "127.0.0.1:0" }

func apiCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err %v, want %s", err, code)
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("got %s %q, want %s %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

func TestOperations(t *testing.T) {
	h := harness.Start(t, harness.Configure(withSyslog))
	c := h.Client()
	ctx := context.Background()
	for _, g := range []string{"/syslog/a", "/syslog/b", "/syslog/c"} {
		if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
	}
	// No configuration yet.
	l, err := c.ListSyslogConfigurations(ctx, &cwl.ListSyslogConfigurationsInput{})
	if err != nil || len(l.SyslogConfigurations) != 0 {
		t.Fatalf("%v %v", l, err)
	}
	_, err = c.PutSyslogConfiguration(ctx, &cwl.PutSyslogConfigurationInput{LogGroupIdentifier: aws.String("/syslog/missing")})
	apiCode(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	_, err = c.PutSyslogConfiguration(ctx, &cwl.PutSyslogConfigurationInput{LogGroupIdentifier: aws.String("/syslog/a"), VpcEndpointId: aws.String("vpce-0abc")})
	apiCode(t, err, "ResourceNotFoundException", "The specified VPC endpoint vpce-0abc does not exist.")
	_, err = c.PutSyslogConfiguration(ctx, &cwl.PutSyslogConfigurationInput{LogGroupIdentifier: aws.String("/syslog/a"), VpcEndpointId: aws.String("vpce-XYZ")})
	apiCode(t, err, "InvalidParameterException", "")
	// A client of another region has no endpoint.
	west := h.ClientAs(h.Creds, "eu-west-1")
	if _, err := west.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/syslog/a")}); err != nil {
		t.Fatal(err)
	}
	_, err = west.PutSyslogConfiguration(ctx, &cwl.PutSyslogConfigurationInput{LogGroupIdentifier: aws.String("/syslog/a")})
	apiCode(t, err, "ResourceNotFoundException", "The specified VPC endpoint (default) does not exist.")

	before := time.Now().UnixMilli()
	arnB := "arn:aws:logs:us-east-1:000000000000:log-group:/syslog/b"
	for _, id := range []string{"/syslog/a", arnB, "/syslog/c"} {
		if _, err := c.PutSyslogConfiguration(ctx, &cwl.PutSyslogConfigurationInput{LogGroupIdentifier: aws.String(id)}); err != nil {
			t.Fatal(id, err)
		}
	}
	// Paging, one at a time.
	var got []types.SyslogConfiguration
	var token *string
	for i := 0; ; i++ {
		out, err := c.ListSyslogConfigurations(ctx, &cwl.ListSyslogConfigurationsInput{MaxResults: 1, NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out.SyslogConfigurations...)
		if token = out.NextToken; token == nil || i > 5 {
			break
		}
	}
	if len(got) != 3 {
		t.Fatalf("listed %d: %+v", len(got), got)
	}
	for i, g := range []string{"/syslog/a", "/syslog/b", "/syslog/c"} {
		sc := got[i]
		if *sc.LogGroupArn != "arn:aws:logs:us-east-1:000000000000:log-group:"+g || sc.SourceType != types.SyslogSourceTypeVpce ||
			*sc.VpcEndpointId != "vpce-0000000000000000c" || *sc.CreatedAt < before {
			t.Errorf("%d: %+v", i, sc)
		}
	}
	f, err := c.ListSyslogConfigurations(ctx, &cwl.ListSyslogConfigurationsInput{LogGroupIdentifier: aws.String("/syslog/b")})
	if err != nil || len(f.SyslogConfigurations) != 1 || *f.SyslogConfigurations[0].LogGroupArn != arnB {
		t.Fatalf("%+v %v", f, err)
	}
	if _, err := c.ListSyslogConfigurations(ctx, &cwl.ListSyslogConfigurationsInput{NextToken: aws.String("bogus")}); err == nil {
		t.Fatal("bad token accepted")
	} else {
		apiCode(t, err, "InvalidParameterException", "The specified nextToken is invalid.")
	}
	_, err = c.ListSyslogConfigurations(ctx, &cwl.ListSyslogConfigurationsInput{MaxResults: 51})
	apiCode(t, err, "InvalidParameterException", "")

	_, err = c.DeleteSyslogConfiguration(ctx, &cwl.DeleteSyslogConfigurationInput{LogGroupIdentifier: aws.String("/syslog/c"), VpcEndpointId: aws.String("vpce-1")})
	apiCode(t, err, "ResourceNotFoundException", "The specified syslog configuration does not exist.")
	if _, err := c.DeleteSyslogConfiguration(ctx, &cwl.DeleteSyslogConfigurationInput{LogGroupIdentifier: aws.String("/syslog/c")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteSyslogConfiguration(ctx, &cwl.DeleteSyslogConfigurationInput{LogGroupIdentifier: aws.String("/syslog/c")})
	apiCode(t, err, "ResourceNotFoundException", "The specified syslog configuration does not exist.")
	// A deleted group's configuration is not listed.
	if _, err := c.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("/syslog/a")}); err != nil {
		t.Fatal(err)
	}
	l, err = c.ListSyslogConfigurations(ctx, &cwl.ListSyslogConfigurationsInput{})
	if err != nil || len(l.SyslogConfigurations) != 1 || *l.SyslogConfigurations[0].LogGroupArn != arnB {
		t.Fatalf("%+v %v", l, err)
	}
}

// TestNoListener: without a listener no configuration can be made.
func TestNoListener(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.PutSyslogConfiguration(ctx, &cwl.PutSyslogConfigurationInput{LogGroupIdentifier: aws.String("g")})
	apiCode(t, err, "ResourceNotFoundException", "The specified VPC endpoint (default) does not exist.")
}

func TestNonLoopbackRefused(t *testing.T) {
	_, err := server.Start(server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), SyslogListen: "0.0.0.0:0"})
	if err == nil {
		t.Fatal("non-loopback syslog address accepted without SyslogRemote")
	}
}

// TestIngest sends over TCP (both framings) and UDP and reads the events
// back: one stream per host, the fields as JSON, the message's timestamp.
// syslogPolicy is the group policy AWS's syslog ingestion scenario puts
// before PutSyslogConfiguration (hand-written from it): the syslog service
// principal may create streams and put events, from the VPC endpoint vpce.
func syslogPolicy(arn, vpce string) string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"SyslogIngestPermissions","Effect":"Allow",` +
		`"Principal":{"Service":"syslog.logs.amazonaws.com"},"Action":["logs:PutLogEvents","logs:CreateLogStream"],` +
		`"Resource":"` + arn + `:*","Condition":{"StringEquals":{"aws:sourceVpce":"` + vpce + `"}}}]}`
}

// allowSyslog puts syslogPolicy on group g for the server's endpoint.
func allowSyslog(t *testing.T, c *cwl.Client, g string) {
	t.Helper()
	arn := "arn:aws:logs:us-east-1:000000000000:log-group:" + g
	if _, err := c.PutResourcePolicy(context.Background(), &cwl.PutResourcePolicyInput{ResourceArn: aws.String(arn),
		PolicyDocument: aws.String(syslogPolicy(arn, "vpce-0000000000000000c"))}); err != nil {
		t.Fatal(err)
	}
}

func TestIngest(t *testing.T) {
	h := harness.Start(t, harness.Configure(withSyslog))
	c := h.Client()
	ctx := context.Background()
	for _, g := range []string{"sys1", "sys2"} {
		if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
		allowSyslog(t, c, g)
		if _, err := c.PutSyslogConfiguration(ctx, &cwl.PutSyslogConfigurationInput{LogGroupIdentifier: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
	}
	ts := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	m1 := fmt.Sprintf(`<165>1 %s web01 nginx 42 ACC [req@1 path="/x" code="200"] GET /x`, ts.Format(time.RFC3339Nano))
	tcp, err := net.Dial("tcp", h.SyslogAddr())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(tcp, "%d %s", len(m1), m1)
	fmt.Fprintf(tcp, "<11>%s db01 postgres[7]: disk \"full\"\n", ts.Local().Format(time.Stamp))
	tcp.Close()
	udp, err := net.Dial("udp", h.SyslogAddr())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(udp, "<14>no header at all")
	udp.Close()

	want := map[string]map[string]any{
		"web01": {"facility": "local4", "severity": "notice", "hostname": "web01", "appName": "nginx", "procId": "42", "msgId": "ACC",
			"structuredData": map[string]any{"req@1": map[string]any{"path": "/x", "code": "200"}}, "sourceIp": "127.0.0.1", "message": "GET /x"},
		"db01":      {"facility": "user", "severity": "err", "hostname": "db01", "appName": "postgres", "procId": "7", "sourceIp": "127.0.0.1", "message": `disk "full"`},
		"127.0.0.1": {"facility": "user", "severity": "info", "sourceIp": "127.0.0.1", "message": "no header at all"},
	}
	for _, g := range []string{"sys1", "sys2"} {
		harness.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
			out, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String(g)})
			if err != nil {
				return err
			}
			if len(out.Events) != 3 {
				return fmt.Errorf("%s: %d events", g, len(out.Events))
			}
			for _, e := range out.Events {
				var got map[string]any
				if err := json.Unmarshal([]byte(*e.Message), &got); err != nil {
					t.Fatalf("%s: %v", *e.Message, err)
				}
				w, ok := want[*e.LogStreamName]
				if !ok {
					t.Fatalf("stream %q", *e.LogStreamName)
				}
				if fmt.Sprint(got) != fmt.Sprint(w) {
					t.Fatalf("%s:\n got %v\nwant %v", *e.LogStreamName, got, w)
				}
				switch *e.LogStreamName {
				case "web01":
					if *e.Timestamp != ts.UnixMilli() {
						t.Errorf("timestamp %d, want %d", *e.Timestamp, ts.UnixMilli())
					}
				case "db01":
					if *e.Timestamp != ts.Truncate(time.Second).UnixMilli() {
						t.Errorf("timestamp %d, want %d", *e.Timestamp, ts.Truncate(time.Second).UnixMilli())
					}
				}
			}
			return nil
		})
	}
}
