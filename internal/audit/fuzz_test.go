package audit

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/protocol"
)

// FuzzBuild: any request body, STS form or STS answer gives a record that
// encodes as JSON within the event limit, and never holds a dropped member.
func FuzzBuild(f *testing.F) {
	f.Add([]byte(`{"logGroupName":"g","logEvents":[{"message":"m"}]}`), []byte(`<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId></Credentials></AssumeRoleResult></AssumeRoleResponse>`), false)
	f.Add([]byte(`Action=AssumeRole&RoleArn=x&DurationSeconds=900&Policy=%7B%7D`), []byte(`<ErrorResponse><Error><Code>C</Code><Message>M</Message></Error></ErrorResponse>`), true)
	f.Fuzz(func(t *testing.T, body, answer []byte, isSTS bool) {
		c := &protocol.AuditCall{Op: "PutLogEvents", STS: isSTS, Request: body, ResponseXML: answer, UserAgent: string(body),
			Caller: caller.Caller{Account: "123456789012", Region: "us-east-1", SourceIP: netip.MustParseAddr("127.0.0.1"),
				Identity: caller.Identity{ARN: "arn:aws:iam::123456789012:user/u"}}}
		if len(body)%2 == 1 {
			c.Err = awserr.Internal()
		}
		raw, err := Build(c, time.Unix(0, 0)).Encode()
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) > maxRecord {
			t.Fatalf("record of %d bytes", len(raw))
		}
		var r struct {
			RequestParameters map[string]json.RawMessage `json:"requestParameters"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("record is not JSON: %v", err)
		}
		for k := range r.RequestParameters {
			if dropped[k] {
				t.Fatalf("record keeps %q", k)
			}
		}
	})
}
