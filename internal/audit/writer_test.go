package audit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/policygate"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// refuseSecond writes through the real logs service, but refuses the
// PutLogEvents call after the first batch it stored, as a resource policy
// would (as if the policy had been removed between two batches of one
// flush), then lets every later call through (as if it had been restored).
type refuseSecond struct {
	logs.Writer
	mu              sync.Mutex
	stored, refused int
}

func (r *refuseSecond) PutLogEvents(ctx context.Context, c caller.Caller, in *logs.PutLogEventsInput) (*logs.PutLogEventsOutput, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stored == 1 && r.refused == 0 {
		r.refused++
		return nil, &policygate.RefusedError{Principal: policygate.AuditPrincipal, Action: "logs:PutLogEvents", Resource: *in.LogStreamName}
	}
	out, err := r.Writer.PutLogEvents(ctx, c, in)
	if err == nil {
		r.stored++
	}
	return out, err
}

// A flush larger than one PutLogEvents batch (10,000 events) refused after
// its first batch: the stored batch is not queued again, the rest is, and
// the next flush writes it: every record once.
func TestRefusedMidFlushWritesEachRecordOnce(t *testing.T) {
	e, err := embedded.Open(embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	core := logs.New(logs.Config{Store: e})
	gate := &refuseSecond{Writer: core}
	w, err := Start(context.Background(), Config{Logs: core, Writer: gate, Group: "trail", Account: "123456789012", FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	const total = 10_050
	now := time.Now().UnixMilli()
	w.mu.Lock()
	for i := 0; i < total; i++ {
		msg := fmt.Sprintf(`{"n":%d}`, i)
		w.queue = append(w.queue, item{stream: "s", ts: now, msg: msg})
		w.queued += len(msg)
	}
	w.mu.Unlock()

	if !w.flush() {
		t.Fatal("first flush: no record was refused")
	}
	w.mu.Lock()
	if len(w.queue) != total-10_000 {
		t.Errorf("queued again after the refusal: %d records, want %d", len(w.queue), total-10_000)
	}
	w.mu.Unlock()
	if w.flush() {
		t.Fatal("second flush: records refused again")
	}
	if gate.refused != 1 {
		t.Fatalf("%d writes refused, want 1", gate.refused)
	}

	seen := map[string]int{}
	req := store.ReadRequest{Group: store.Scope{Account: "123456789012", Region: "us-east-1"}, Name: "trail", Limit: 10_000}
	for {
		p, err := e.Read(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range p.Events {
			seen[ev.Message]++
		}
		if p.Next == nil {
			break
		}
		req.After = p.Next
	}
	for i := 0; i < total; i++ {
		msg := fmt.Sprintf(`{"n":%d}`, i)
		if seen[msg] != 1 {
			t.Errorf("record %s stored %d times, want once", msg, seen[msg])
		}
		delete(seen, msg)
	}
	if len(seen) != 0 {
		t.Errorf("%d records stored that were never queued", len(seen))
	}
	if got := w.written.Load(); got != total {
		t.Errorf("written counts %d records, want %d", got, total)
	}
}
