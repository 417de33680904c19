package awsmodel

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/cairnlog/cairn/internal/awserr"
)

func TestValidate(t *testing.T) {
	m, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.Operations()); n != 118 {
		t.Fatalf("model has %d operations, want 118", n)
	}
	f := func(op, body, want string) {
		t.Helper()
		d := json.NewDecoder(bytes.NewReader([]byte(body)))
		d.UseNumber()
		var doc any
		if err := d.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		got := ""
		if err := m.Validate(op, doc); err != nil {
			got = err.Error()
		}
		if got != want {
			t.Fatalf("%s %s:\n got %q\nwant %q", op, body, got, want)
		}
	}
	f("DescribeLogGroups", `{"limit": 10001}`, "InvalidParameterException: 1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50")
	f("FilterLogEvents", `{"logGroupName":"g","limit": 10001}`, "InvalidParameterException: 1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000")
	f("CreateLogGroup", `{}`, "InvalidParameterException: 1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null")
	f("CreateLogGroup", `{"logGroupName":"a b"}`, "InvalidParameterException: 1 validation error detected: Value at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+")
	// AWS leaves the value out of a log group identifier's pattern violation
	// (2026), and keeps it in every other member's (logStreamName below).
	f("DescribeLogStreams", `{"logGroupIdentifier":"arn:aws:logs:us-east-1:123456789012:log-group:g:*"}`, "InvalidParameterException: 1 validation error detected: Value at 'logGroupIdentifier' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w#+=/:,.@-]*")
	f("PutLogEvents", `{"logGroupName":"g","logStreamName":"s","logEvents":[]}`, "InvalidParameterException: 1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1")
	f("CreateLogStream", `{"logGroupName":"g","logStreamName":"a:b"}`, "InvalidParameterException: 1 validation error detected: Value 'a:b' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*")
	f("DescribeLogStreams", `{"orderBy":"Foo"}`, "InvalidParameterException: 1 validation error detected: Value 'Foo' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]")
	f("CreateLogGroup", `{"logGroupName":5}`, "SerializationException: Unexpected value type at 'logGroupName': expected string, got number")
	f("CreateLogGroup", `{"logGroupName":"g","tags":{"":"v"}}`, "InvalidParameterException: 2 validation errors detected: Value '{=v}' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length greater than or equal to 1]; Value '{=v}' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+)$]")
	f("CreateLogGroup", `{"logGroupName":"/aws/lambda/x","logGroupClass":"STANDARD"}`, "")
}

// TestAppendViolations: the violations come back as values, after the ones
// already collected; a valid value appends nothing and allocates nothing; a
// value of the wrong type is the type error, as in Validate.
func TestAppendViolations(t *testing.T) {
	m, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	mine := awserr.Violation{Value: "null", Member: "logEvents", Constraint: "Member must not be null"}
	vs, err := m.AppendViolations([]awserr.Violation{mine}, "LogStreamName", "logStreamName", "a:b")
	want := []awserr.Violation{mine, {Value: "'a:b'", Member: "logStreamName", Constraint: "Member must satisfy regular expression pattern: [^:*]*"}}
	if err != nil || !slices.Equal(vs, want) {
		t.Fatalf("AppendViolations = %v, %v; want %v", vs, err, want)
	}
	if n := testing.AllocsPerRun(100, func() {
		if vs, err := m.AppendViolations(nil, "LogGroupName", "logGroupName", "valid-name"); vs != nil || err != nil {
			t.Fatalf("valid name: %v, %v", vs, err)
		}
	}); n != 0 {
		t.Errorf("a valid value allocates %v times", n)
	}
	if _, err := m.AppendViolations(nil, "LogGroupName", "logGroupName", json.Number("1")); !awserr.Is(err, awserr.SerializationException) {
		t.Errorf("a number for a string: %v, want SerializationException", err)
	}
}
