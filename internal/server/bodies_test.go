package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/iam"
)

// signedCall sends body to op as an SDK would, signed with SigV4 by
// aws-sdk-go-v2's signer, and returns the status and the decoded answer.
func signedCall(t *testing.T, url, key, secret, op, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Logs_20140328."+op)
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "logs", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

// TestCaseVariantMembers (issue 8, defect 3): a member spelled in another
// case is an unknown member, which AWS ignores: it neither names the group
// nor slips past validation, and a member given twice is refused.
func TestCaseVariantMembers(t *testing.T) {
	s, _, _ := startAuth(t, "")
	path, _ := s.CredentialsFile()
	key, secret, err := iam.ReadCredentials(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := logsClient(s.URL(), key, secret, "")
	f := func(op, body string, wantStatus int, wantType string) {
		t.Helper()
		status, out := signedCall(t, s.URL(), key, secret, op, body)
		if status != wantStatus || wantType != "" && out["__type"] != wantType {
			t.Fatalf("%s %s: %d %v", op, body, status, out)
		}
	}
	f("CreateLogGroup", `{"logGroupName":"ok","LogGroupName":"bad name:*!!"}`, 200, "")
	f("CreateLogGroup", `{"LogGroupName":"bad name:*!!","logGroupName":"ok2"}`, 200, "")
	f("CreateLogGroup", `{"LogGroupName":"shared:log-stream:x-evil"}`, 400, "InvalidParameterException") // logGroupName is missing
	f("CreateLogGroup", `{"logGroupName":"ok3","logGroupName":"bad name:*!!"}`, 400, "SerializationException")
	f("CreateLogGroup", `{"logGroupName":"ok4","tags":{"a":"1"},"Tags":{"b":"2"}}`, 200, "")
	groups, err := c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups.LogGroups {
		names = append(names, *g.LogGroupName)
	}
	if len(names) != 3 || names[0] != "ok" || names[1] != "ok2" || names[2] != "ok4" {
		t.Fatalf("groups %v, want [ok ok2 ok4]", names)
	}
	tags, err := c.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:logs:us-east-1:000000000000:log-group:ok4")})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["a"] != "1" {
		t.Fatalf("tags %v %v, want only a=1", tags, err)
	}

	// The hot path: members of the request and of each event.
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("ok"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	ts := time.Now().UnixMilli()
	body, _ := json.Marshal(map[string]any{"logGroupName": "ok", "logStreamName": "s", "LogStreamName": "other",
		"logEvents": []map[string]any{{"timestamp": ts, "Timestamp": 1, "message": "kept", "Message": "ignored"}}})
	f("PutLogEvents", string(body), 200, "")
	f("PutLogEvents", `{"logGroupName":"ok","logStreamName":"s","logEvents":[{"timestamp":1,"timestamp":2,"message":"m"}]}`, 400, "SerializationException")
	evs, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("ok"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)})
	if err != nil || len(evs.Events) != 1 || *evs.Events[0].Message != "kept" || *evs.Events[0].Timestamp != ts {
		t.Fatalf("events %+v %v", evs, err)
	}
}
