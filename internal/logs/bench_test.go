package logs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// BenchmarkPutLogEvents measures the service's side of the ingest hot path
// (the hand validation, the checks of every event, the append) for a
// 1,000-event batch, on an in-memory file system so the disk does not
// drown the service's own cost. allocs/op is the figure to watch: the
// validation must not allocate per event.
func BenchmarkPutLogEvents(b *testing.B) {
	engine, err := embedded.Open(embedded.Config{Dir: "/bench", FS: vfs.NewMem()})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := engine.Close(); err != nil {
			b.Error(err)
		}
	}()
	svc := logs.New(logs.Config{Store: engine})
	ctx := context.Background()
	c := caller.System("123456789012", "eu-west-1", "bench", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
	group, stream := "bench", "s"
	if _, err := svc.CreateLogGroup(ctx, c, &logs.CreateLogGroupInput{LogGroupName: group}); err != nil {
		b.Fatal(err)
	}
	if _, err := svc.CreateLogStream(ctx, c, &logs.CreateLogStreamInput{LogGroupName: group, LogStreamName: stream}); err != nil {
		b.Fatal(err)
	}
	now := time.Now().UnixMilli()
	events := make([]logs.InputLogEvent, 1000)
	size := 0
	for i := range events {
		events[i] = logs.InputLogEvent{Timestamp: now - int64(len(events)-i),
			Message: fmt.Sprintf("2025-01-01T00:00:00Z INFO request id=%08d path=/api/v1/items/%d status=200 took=12ms user=alice", i, i)}
		size += len(events[i].Message)
	}
	in := &logs.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream, LogEvents: events}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.PutLogEvents(ctx, c, in); err != nil {
			b.Fatal(err)
		}
	}
}
