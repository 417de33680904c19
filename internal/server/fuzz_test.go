package server_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/cairnlog/cairn/internal/harness"
)

// FuzzOperations sends arbitrary bodies to the implemented operations of a
// real server (real service, real engine). Every answer is 200 or a 4xx AWS
// error with __type and message: never a 5xx, never a hung connection.
func FuzzOperations(f *testing.F) {
	s := harness.Start(f)
	harness.CreateGroup(f, s.Client(), "g", "s")
	ops := []string{"PutLogEvents", "GetLogEvents", "FilterLogEvents", "DescribeLogGroups", "DescribeLogStreams",
		"CreateLogGroup", "CreateLogStream", "TestMetricFilter", "TagResource", "PutRetentionPolicy", "StartLiveTail"}
	seeds := []string{
		fmt.Sprintf(`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":%d,"message":"m"}]}`, now()),
		`{"logGroupName":"g","logStreamName":"s","nextToken":"f/00000000000000000000000000000000000000000000000000000000/s"}`,
		`{"logGroupName":"g","filterPattern":"{ $.a = 1 }","nextToken":"AQ"}`,
		`{"filterPattern":"[a, b=%x%]","logEventMessages":["1 2"]}`,
		`{"resourceArn":"arn:aws:logs:us-east-1:000000000000:log-group:g","tags":{"k":"v"}}`,
		`{"logGroupName":"g","retentionInDays":7}`, `{"logGroupIdentifiers":["g"],"logEventFilterPattern":"x"}`,
		`{`, `[]`, `null`, ``,
	}
	for i := range ops {
		for j := range seeds {
			f.Add(uint8(i), []byte(seeds[(i+j)%len(seeds)]))
		}
	}
	f.Fuzz(func(t *testing.T, opIndex uint8, body []byte) {
		op := ops[int(opIndex)%len(ops)]
		if op == "StartLiveTail" {
			return // a valid one streams until the client leaves; covered by the live-tail tests
		}
		r := s.Call(t, op, body) // signed with the root key: the operation, not SigV4, meets the body
		if r.Status >= 500 {
			t.Fatalf("%s %q: %d %s", op, body, r.Status, r.Body)
		}
		if r.Status != 200 {
			var e map[string]any
			if json.Unmarshal(r.Body, &e) != nil || e["__type"] == nil || e["message"] == nil {
				t.Fatalf("%s %q: malformed error %s", op, body, r.Body)
			}
		}
	})
}
