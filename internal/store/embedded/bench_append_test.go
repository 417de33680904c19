package embedded

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/store"
)

// BenchmarkAppendParallel measures concurrent durable appends of 100-event
// blocks from 16 writers on 4 streams: the case that depends on Pebble's group
// commit (concurrent Sync commits sharing one fsync) and that the feed's
// high-water mark must not serialise.
func BenchmarkAppendParallel(b *testing.B) {
	e, err := Open(Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"})
	for i := 0; i < 4; i++ {
		e.CreateStream(ctx, scope, "g", store.Stream{Name: fmt.Sprint("s", i)})
	}
	ts := time.Now().UnixMilli()
	batches, raw := lineBatches(ts, 64, 100)
	b.SetBytes(raw / int64(len(batches)))
	var writer atomic.Int64
	b.SetParallelism(8) // × GOMAXPROCS writers
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := writer.Add(1)
		stream := fmt.Sprint("s", w%4)
		for i := 0; pb.Next(); i++ {
			if _, err := e.Append(ctx, scope, "g", stream, batches[i%len(batches)], ts); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
}
