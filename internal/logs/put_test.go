package logs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/dataprotection"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// TestPutNewStreamKeepsOriginals: logs.Put into a stream that does not
// exist yet (syslog and the audit writer create streams this way) fails
// the first PutLogEvents after the ingest stages ran, creates the stream
// and sends the same input again. Data protection masks the batch's
// messages in its stage; the second attempt must still carry the
// originals, or the event is stored masked with no original kept and
// unmask=true shows the masked text. The expected text is the message as
// written here.
func TestPutNewStreamKeepsOriginals(t *testing.T) {
	ctx := context.Background()
	st, err := embedded.Open(embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i + 1)
	}
	dp, err := dataprotection.New(dataprotection.Config{Store: st, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	core := logs.New(logs.Config{Store: st, Ingest: []logs.IngestStage{dp}, Unmasker: dp})
	admin := caller.System("000000000000", "us-east-1", "test", "logs:CreateLogGroup", "logs:CreateLogStream",
		"logs:PutLogEvents", "logs:PutDataProtectionPolicy", "logs:GetLogEvents", "logs:Unmask")
	const group = "protected"
	if _, err := core.CreateLogGroup(ctx, admin, &logs.CreateLogGroupInput{LogGroupName: group}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Name":"p","Version":"2021-06-01","Statement":[` +
		`{"Sid":"audit","DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Audit":{"FindingsDestination":{}}}},` +
		`{"Sid":"redact","DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}`
	if _, err := dp.PutDataProtectionPolicy(ctx, admin, &dataprotection.PutDataProtectionPolicyInput{LogGroupIdentifier: group, PolicyDocument: doc}); err != nil {
		t.Fatal(err)
	}
	const msg = "contact jane.doe@example.com please"
	evs := []logs.InputLogEvent{{Timestamp: time.Now().UnixMilli(), Message: msg}}
	if _, err := logs.Put(ctx, core, admin, group, "new-stream", evs, true); err != nil {
		t.Fatal(err)
	}
	out, err := core.GetLogEvents(ctx, admin, &logs.GetLogEventsInput{LogGroupName: group, LogStreamName: "new-stream", Unmask: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 1 || out.Events[0].Message != msg {
		t.Fatalf("unmasked events %+v, want the one original %q", out.Events, msg)
	}
	masked, err := core.GetLogEvents(ctx, admin, &logs.GetLogEventsInput{LogGroupName: group, LogStreamName: "new-stream"})
	if err != nil {
		t.Fatal(err)
	}
	if len(masked.Events) != 1 || strings.Contains(masked.Events[0].Message, "jane") {
		t.Fatalf("stored events %+v, want the message masked", masked.Events)
	}
}
