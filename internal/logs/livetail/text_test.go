package livetail_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/harness"
)

// rawCall posts body as-is (signed with the root key: the test is about
// the body) and returns the status, the error code and its message.
func rawCall(t *testing.T, s *harness.Server, op, body string) (int, string, string) {
	t.Helper()
	r := s.Call(t, op, []byte(body))
	return r.Status, r.Code, r.Message
}

// Invalid UTF-8 and unpaired surrogate escapes are refused with
// SerializationException, never replaced: two different byte strings can
// never become one stream name or one stored message.
func TestInvalidTextRefused(t *testing.T) {
	s := harness.Start(t, oneSession())
	c := s.Client()
	harness.CreateGroup(t, c, "app", "ok")

	refused := []struct{ what, op, body string }{
		{"0xff in a stream name", "CreateLogStream", "{\"logGroupName\":\"app\",\"logStreamName\":\"s\xff\"}"},
		{"0xfe in a stream name", "CreateLogStream", "{\"logGroupName\":\"app\",\"logStreamName\":\"s\xfe\"}"},
		{"an overlong encoding", "CreateLogStream", "{\"logGroupName\":\"app\",\"logStreamName\":\"s\xc0\xaf\"}"},
		{"an encoded surrogate", "CreateLogStream", "{\"logGroupName\":\"app\",\"logStreamName\":\"s\xed\xa0\x80\"}"},
		{"a truncated sequence", "CreateLogStream", "{\"logGroupName\":\"app\",\"logStreamName\":\"s\xe2\x82\"}"},
		{"a lone low surrogate escape", "CreateLogStream", `{"logGroupName":"app","logStreamName":"s\udc00"}`},
		{"a lone high surrogate escape", "CreateLogStream", `{"logGroupName":"app","logStreamName":"s\ud800x"}`},
		{"two high surrogates", "CreateLogStream", `{"logGroupName":"app","logStreamName":"s\uD800\uD800"}`},
		{"a high surrogate at the end", "CreateLogStream", `{"logGroupName":"app","logStreamName":"s\ud800"}`},
		{"0xff in a message", "PutLogEvents", "{\"logGroupName\":\"app\",\"logStreamName\":\"ok\",\"logEvents\":[{\"timestamp\":1,\"message\":\"m\xff\"}]}"},
		{"a lone surrogate in a message", "PutLogEvents", `{"logGroupName":"app","logStreamName":"ok","logEvents":[{"timestamp":1,"message":"m\udfff"}]}`},
		{"0xff in a Live Tail stream name", "StartLiveTail", "{\"logGroupIdentifiers\":[\"app\"],\"logStreamNames\":[\"s\xff\"]}"},
		{"0xff in a filter pattern", "FilterLogEvents", "{\"logGroupName\":\"app\",\"filterPattern\":\"\xff\"}"},
	}
	for _, r := range refused {
		status, code, msg := rawCall(t, s, r.op, r.body)
		if status != http.StatusBadRequest || code != "SerializationException" || !strings.Contains(msg, "offset") {
			t.Errorf("%s: %d %s %q, want 400 SerializationException", r.what, status, code, msg)
		}
	}

	// Real U+FFFD, and characters outside the BMP, are ordinary text.
	accepted := []struct{ body, name string }{
		{`{"logGroupName":"app","logStreamName":"s\ufffd"}`, "s\ufffd"},
		{"{\"logGroupName\":\"app\",\"logStreamName\":\"s\xef\xbf\xbdx\"}", "s\ufffdx"},
		{`{"logGroupName":"app","logStreamName":"s\ud83d\ude00"}`, "s\U0001F600"},
		{`{"logGroupName":"app","logStreamName":"s\\udc00"}`, `s\udc00`}, // an escaped backslash, then "udc00"
	}
	for _, a := range accepted {
		if status, code, msg := rawCall(t, s, "CreateLogStream", a.body); status != http.StatusOK {
			t.Fatalf("%s: %d %s %s", a.body, status, code, msg)
		}
	}
	out, err := c.DescribeLogStreams(context.Background(), &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range out.LogStreams {
		names = append(names, aws.ToString(st.LogStreamName))
	}
	want := []string{"ok", "s\\udc00", "s\ufffd", "s\ufffdx", "s\U0001F600"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Fatalf("streams %q, want %q", names, want)
	}
	// The replacement character's stream exists; the invalid bytes still do
	// not reach it.
	if _, code, _ := rawCall(t, s, "PutLogEvents", "{\"logGroupName\":\"app\",\"logStreamName\":\"s\xff\",\"logEvents\":[{\"timestamp\":1,\"message\":\"m\"}]}"); code != "SerializationException" {
		t.Fatalf("PutLogEvents to s\\xff: %q", code)
	}
	ev, err := c.GetLogEvents(context.Background(), &cwl.GetLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("ok")})
	if err != nil || len(ev.Events) != 0 {
		t.Fatalf("events stored from refused requests: %v %v", ev, err)
	}
	// The refused StartLiveTail holds no session: the only slot is free.
	startTail(t, c, &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"app"}})
}
