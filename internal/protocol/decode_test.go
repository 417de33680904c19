package protocol

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/awsmodel"
)

type testEvent struct {
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

type testPut struct {
	LogGroupName  *string     `json:"logGroupName"`
	LogStreamName *string     `json:"logStreamName"`
	LogEvents     []testEvent `json:"logEvents"`
}

type testCreate struct {
	LogGroupName *string           `json:"logGroupName"`
	Tags         map[string]string `json:"tags"`
}

func testModel(tb testing.TB) *awsmodel.Model {
	tb.Helper()
	m, err := awsmodel.Load()
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// TestDecodeExactNames: a member name in another case is an unknown member,
// ignored by both the validator and the struct; a name given twice is
// refused, also when an escape spells it.
func TestDecodeExactNames(t *testing.T) {
	m := testModel(t)
	f := func(op, body, want, wantErr string) {
		t.Helper()
		c := &Call{Op: op, Body: []byte(body), model: m}
		var got string
		var err error
		if op == "PutLogEvents" {
			var in testPut
			err = c.DecodeUnchecked(&in)
			got = fmt.Sprintf("%v", in.LogEvents)
			if in.LogGroupName != nil {
				got = *in.LogGroupName + " " + got
			}
		} else {
			var in testCreate
			err = c.Decode(&in)
			if in.LogGroupName != nil {
				got = *in.LogGroupName
			}
			if len(in.Tags) > 0 {
				got += fmt.Sprint(in.Tags)
			}
		}
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
			got = ""
		}
		if got != want || gotErr != wantErr {
			t.Fatalf("%s %s:\n got %q, %q\nwant %q, %q", op, body, got, gotErr, want, wantErr)
		}
	}
	f("CreateLogGroup", `{"logGroupName":"ok","LogGroupName":"bad name:*!!"}`, "ok", "")
	f("CreateLogGroup", `{"LogGroupName":"bad name:*!!","logGroupName":"ok"}`, "ok", "")
	f("CreateLogGroup", `{"LOGGROUPNAME":"bad name:*!!"}`, "",
		"InvalidParameterException: 1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null")
	f("CreateLogGroup", `{"logGroupName":"ok","logGroupName":"bad name:*!!"}`, "", "SerializationException: Duplicate field 'logGroupName'")
	f("CreateLogGroup", `{"logGroupName":"ok","logGroup\u004eame":"bad"}`, "", "SerializationException: Duplicate field 'logGroupName'")
	f("CreateLogGroup", `{"logGroupName":"g","tags":{"a":"1"},"tags":{"b":"2"}}`, "", "SerializationException: Duplicate field 'tags'")
	f("CreateLogGroup", `{"logGroupName":"g","tags":{"a":"1","a":"2"}}`, "", "SerializationException: Duplicate field 'a' at 'tags'")
	f("CreateLogGroup", `{"logGroupName":"g","Tags":{"a":"1"}}`, "g", "")
	f("CreateLogGroup", `{"logGroupName":5}`, "", "SerializationException: Unexpected value type at 'logGroupName': expected string, got number")
	f("CreateLogGroup", `{"logGroupName":"g"} {}`, "", "SerializationException: Malformed request body: invalid character '{' after top-level value after offset 21")

	f("PutLogEvents", `{"logGroupName":"g","LogGroupName":"x:y","logEvents":[{"timestamp":1,"Timestamp":2,"message":"m","Message":"x"}]}`, "g [{1 m}]", "")
	f("PutLogEvents", `{"logEvents":[{"TIMESTAMP":2,"MESSAGE":"x"}]}`, "[{0 }]", "")
	f("PutLogEvents", `{"logEvents":[{"timestamp":1,"message":"m"},{"timestamp":1,"timestamp":2}]}`, "", "SerializationException: Duplicate field 'timestamp' at 'logEvents.2.member'")
	f("PutLogEvents", `{"logEvents":[{"timestamp":"1"}]}`, "", "SerializationException: Unexpected value type at 'logEvents.1.member.timestamp': expected integer, got string")
	f("PutLogEvents", `{"logGroupName":"g","logEvents":[],"logEvents":[{"timestamp":1}]}`, "", "SerializationException: Duplicate field 'logEvents'")
	f("PutLogEvents", ``, "[]", "")
}

// putBody is a PutLogEvents body of n events of about 130 bytes each, the
// load generator's shape.
func putBody(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"logGroupName":"bench-group-1","logStreamName":"stream-12","logEvents":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"timestamp":%d,"message":"2025-01-01T00:00:00Z INFO request id=%08d path=/api/v1/items/%d status=200 took=12ms user=alice \"q\""}`, 1700000000000+i, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkDecodePutLogEvents measures the ingest hot path's decode of a
// 1,000-event batch.
func BenchmarkDecodePutLogEvents(b *testing.B) {
	c := &Call{Op: "PutLogEvents", Body: putBody(1000)}
	b.SetBytes(int64(len(c.Body)))
	b.ReportAllocs()
	for b.Loop() {
		var in testPut
		if err := c.DecodeUnchecked(&in); err != nil {
			b.Fatal(err)
		}
	}
}
