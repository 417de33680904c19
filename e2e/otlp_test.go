package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/awsclient"
)

// TestOpenTelemetryJSExporter sends logs with the OpenTelemetry JavaScript
// SDK's OTLP exporters (protobuf and JSON; scripts/test.sh installs them
// from npm into CAIRN_OTEL_JS) to the real binary with a bearer API key,
// and reads them back with the SDK.
func TestOpenTelemetryJSExporter(t *testing.T) {
	otel := os.Getenv("CAIRN_OTEL_JS")
	if otel == "" {
		home, _ := os.UserHomeDir()
		otel = filepath.Join(home, ".cache", "cairn-e2e", "otel-js")
	}
	if _, err := os.Stat(filepath.Join(otel, "node_modules", "@opentelemetry", "exporter-logs-otlp-proto")); err != nil {
		t.Fatalf("the OpenTelemetry JS SDK is not installed in %s (scripts/test.sh installs it): %v", otel, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed (scripts/test.sh installs it): %v", err)
	}
	const token = "ACWLe2eJsExporterTokenAbcdefghijklmnopqrstuvwx"
	sum := sha256.Sum256([]byte(token))
	dir := t.TempDir()
	iamPath := filepath.Join(dir, "iam.yaml")
	iamDoc := fmt.Sprintf(`accounts:
  - id: "123456789012"
    root:
      accessKeys:
        - {id: AKIAROOTEXAMPLE00001, secret: "root-secret-at-least-16-chars-long"}
    users:
      - name: otel-js
        apiKeys:
          - {id: ACCAE2EJSEXAMPLE0001, sha256: %s, logGroups: ["/otel/*"]}
        policies:
          - name: CloudWatchLogsAPIKeyAccess
            document: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: ["logs:PutLogEvents", "logs:CallWithBearerToken"], Resource: "*"}]}
`, hex.EncodeToString(sum[:]))
	if err := os.WriteFile(iamPath, []byte(iamDoc), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServerArgs(t, filepath.Join(dir, "data"), "--iam", iamPath)
	if strings.Contains(s.out.String(), token) {
		t.Fatal("the server logged the API key")
	}
	c := cloudwatchlogs.NewFromConfig(aws.Config{Region: defaultRegion,
		Credentials: credentials.NewStaticCredentialsProvider("AKIAROOTEXAMPLE00001", "root-secret-at-least-16-chars-long", "")},
		func(o *cloudwatchlogs.Options) { o.BaseEndpoint = aws.String(s.url) }, awsclient.NoHostPrefix)
	cx := ctx(t)
	if _, err := c.CreateLogGroup(cx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/otel/js")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBearerTokenAuthentication(cx, &cloudwatchlogs.PutBearerTokenAuthenticationInput{
		LogGroupIdentifier: aws.String("/otel/js"), BearerTokenAuthenticationEnabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs("testdata/otel-logs.js")
	if err != nil {
		t.Fatal(err)
	}
	run := func(kind, group, tok string) (string, error) {
		cmd := exec.CommandContext(cx, node, script, s.url, group, kind, tok, kind)
		cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(otel, "node_modules"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, kind := range []string{"proto", "http"} {
		if _, err := c.CreateLogStream(cx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/otel/js"), LogStreamName: aws.String(kind)}); err != nil {
			t.Fatal(err)
		}
		if out, err := run(kind, "/otel/js", token); err != nil {
			t.Fatalf("node (%s exporter): %v\n%s", kind, err, out)
		}
		ev, err := c.GetLogEvents(cx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/otel/js"), LogStreamName: aws.String(kind), StartFromHead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		var bodies []string
		for _, e := range ev.Events {
			var m struct {
				Resource struct {
					Attributes map[string]any `json:"attributes"`
				} `json:"resource"`
				Scope      map[string]any `json:"scope"`
				Body       string         `json:"body"`
				Severity   int            `json:"severityNumber"`
				Attributes map[string]any `json:"attributes"`
				Time       json.Number    `json:"timeUnixNano"`
			}
			if err := json.Unmarshal([]byte(*e.Message), &m); err != nil {
				t.Fatalf("%s: %v", *e.Message, err)
			}
			if m.Resource.Attributes["service.name"] != "checkout-"+kind || m.Resource.Attributes["deployment.environment"] != "e2e" ||
				m.Scope["name"] != "cairn-e2e" || m.Scope["version"] != "1.2.3" || m.Severity != 9 || m.Attributes["user.id"] == nil {
				t.Errorf("%s event %s", kind, *e.Message)
			}
			if ns, _ := m.Time.Int64(); ns/1e6 != *e.Timestamp || time.Since(time.UnixMilli(*e.Timestamp)) > time.Hour {
				t.Errorf("%s: timestamp %d vs timeUnixNano %s", kind, *e.Timestamp, m.Time)
			}
			bodies = append(bodies, m.Body)
		}
		sort.Strings(bodies)
		if want := []string{kind + " record 1", kind + " record 2", kind + " record 3"}; fmt.Sprint(bodies) != fmt.Sprint(want) {
			t.Errorf("%s: bodies %q, want %q", kind, bodies, want)
		}
	}
	// The exporter reports a refusal: a wrong key, and a group outside the key's scope.
	if out, err := run("proto", "/otel/js", "ACWLwrong"); err == nil || !strings.Contains(out, "export error") {
		t.Errorf("a wrong key was accepted:\n%s", out)
	}
	if _, err := c.CreateLogGroup(cx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/elsewhere")}); err != nil {
		t.Fatal(err)
	}
	if out, err := run("http", "/elsewhere", token); err == nil || !strings.Contains(out, "export error") {
		t.Errorf("a group outside the key's scope was accepted:\n%s", out)
	}
	if strings.Contains(s.out.String(), token) {
		t.Error("the server logged the API key")
	}
}
