package dataprotection_test

import (
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/accountpolicy"
	"github.com/cairnlog/cairn/internal/logs/dataprotection"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// BenchmarkIngest measures PutLogEvents of 1,000 standard benchmark lines
// (bench.LineGen, seed 42: access logs, application lines, JSON) without a
// policy and with a policy of every managed identifier Cairn detects, on an
// in-memory file system so that the disk does not hide the service's cost.
// The "all" figure includes writing the encrypted originals of the events
// that had something masked (the access-log lines' client IP addresses).
func BenchmarkIngest(b *testing.B) {
	for _, tc := range []struct {
		name   string
		policy bool
	}{{"none", false}, {"all-identifiers", true}} {
		b.Run(tc.name, func(b *testing.B) {
			engine, err := embedded.Open(embedded.Config{Dir: "/bench", FS: vfs.NewMem()})
			if err != nil {
				b.Fatal(err)
			}
			defer engine.Close()
			accounts := accountpolicy.New(accountpolicy.Config{Store: engine})
			dp, err := dataprotection.New(dataprotection.Config{Store: engine, Accounts: accounts, Key: make([]byte, 32)})
			if err != nil {
				b.Fatal(err)
			}
			svc := logs.New(logs.Config{Store: engine, Ingest: []logs.IngestStage{dp}, Unmasker: dp})
			ctx := context.Background()
			c := caller.System("123456789012", "eu-west-1", "bench", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
				"logs:PutDataProtectionPolicy")
			group, stream := "bench", "s"
			if _, err := svc.CreateLogGroup(ctx, c, &logs.CreateLogGroupInput{LogGroupName: group}); err != nil {
				b.Fatal(err)
			}
			if _, err := svc.CreateLogStream(ctx, c, &logs.CreateLogStreamInput{LogGroupName: group, LogStreamName: stream}); err != nil {
				b.Fatal(err)
			}
			if tc.policy {
				doc := policyDoc("", allIdentifiers...)
				if _, err := dp.PutDataProtectionPolicy(ctx, c, &dataprotection.PutDataProtectionPolicyInput{LogGroupIdentifier: group, PolicyDocument: doc}); err != nil {
					b.Fatal(err)
				}
			}
			gen := bench.NewLineGen(42)
			now := time.Now().UnixMilli()
			lines := make([]string, 1000)
			size := 0
			for i := range lines {
				lines[i] = gen.Line()
				size += len(lines[i])
			}
			events := make([]logs.InputLogEvent, len(lines))
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				// PutLogEvents' stage masks in place the store.Events it
				// builds from the input, never the input itself.
				for i := range events {
					events[i] = logs.InputLogEvent{Timestamp: now - int64(len(events)-i), Message: lines[i]}
				}
				in := &logs.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream, LogEvents: events}
				if _, err := svc.PutLogEvents(ctx, c, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
