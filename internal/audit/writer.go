package audit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/ingest"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/metrics"
	"github.com/cairnlog/cairn/internal/protocol"
)

// Logs is the core logs service as the writer needs it.
type Logs interface {
	ingest.Writer
	CreateLogGroup(ctx context.Context, c caller.Caller, in *logs.CreateLogGroupInput) (*struct{}, error)
}

// Config configures a Writer.
type Config struct {
	Logs Logs
	// Group is the audit log group, in Account and Region (the server's
	// account; Region defaults to us-east-1). It is created when missing.
	Group, Account, Region string
	// DataEvents records PutLogEvents and the reads of log data too
	// (IsDataEvent); off, as CloudTrail's data events are.
	DataEvents bool
	// QueueBytes bounds the encoded records waiting to be written (default
	// 16 MiB). A record that does not fit is dropped and counted
	// (cairn_audit_records_dropped_total): a request never waits for the
	// audit writer.
	QueueBytes int
	// FlushInterval is how long records wait to be batched (default 1 s).
	FlushInterval time.Duration
	Now           func() time.Time
	Logger        *slog.Logger
}

// Writer is a protocol.Auditor that stores records in the audit group.
type Writer struct {
	cfg    Config
	as     caller.Caller
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	closed sync.Once

	mu     sync.Mutex
	queue  []item // guarded by mu
	queued int    // bytes in queue, guarded by mu

	written, dropped, failed atomic.Uint64
}

type item struct {
	stream string
	ts     int64
	msg    string
}

// Start creates the audit group when it is missing and starts the writer.
func Start(ctx context.Context, cfg Config) (*Writer, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = 16 << 20
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Writer{cfg: cfg, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		// Cairn's own writer acts as its own account's system caller, the
		// way CloudTrail writes with the role the trail's owner gave it
		// (CloudWatchLogsRoleArn), not as a service principal: no resource
		// policy is consulted (docs/operations.md).
		as: caller.System(cfg.Account, cfg.Region, "audit", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")}
	if err := w.createGroup(ctx); err != nil {
		return nil, err
	}
	go w.run()
	return w, nil
}

func (w *Writer) createGroup(ctx context.Context) error {
	_, err := w.cfg.Logs.CreateLogGroup(ctx, w.as, &logs.CreateLogGroupInput{LogGroupName: w.cfg.Group})
	if err != nil && !awserr.Is(err, awserr.ResourceAlreadyExists) {
		return err
	}
	return nil
}

// Wants implements protocol.Auditor.
func (w *Writer) Wants(op string, isSTS bool) bool {
	return isSTS || w.cfg.DataEvents || !IsDataEvent(op)
}

// Audit implements protocol.Auditor: it builds and queues the record.
func (w *Writer) Audit(c *protocol.AuditCall) {
	now := w.cfg.Now()
	r := Build(c, now)
	raw, err := r.Encode()
	if err != nil {
		w.failed.Add(1)
		return
	}
	it := item{stream: StreamName(r.RecipientAccountID, r.AWSRegion), ts: now.UnixMilli(), msg: string(raw)}
	w.mu.Lock()
	if w.queued+len(it.msg) > w.cfg.QueueBytes {
		w.mu.Unlock()
		w.dropped.Add(1)
		return
	}
	w.queue = append(w.queue, it)
	w.queued += len(it.msg)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// StreamName is the stream CloudTrail delivers an account's events of a
// region to: <accountId>_CloudTrail_<region>.
func StreamName(account, region string) string { return account + "_CloudTrail_" + region }

func (w *Writer) run() {
	defer close(w.done)
	for {
		select {
		case <-w.stop:
			w.flush()
			return
		case <-w.wake:
		}
		// Batch what arrives in the next interval with this record.
		t := time.NewTimer(w.cfg.FlushInterval)
		select {
		case <-w.stop:
			t.Stop()
			w.flush()
			return
		case <-t.C:
		}
		w.flush()
	}
}

// flush writes what is queued, one ingest.Put per stream.
func (w *Writer) flush() {
	w.mu.Lock()
	q := w.queue
	w.queue, w.queued = nil, 0
	w.mu.Unlock()
	if len(q) == 0 {
		return
	}
	byStream := map[string][]logs.InputLogEvent{}
	var order []string
	for _, it := range q {
		if _, ok := byStream[it.stream]; !ok {
			order = append(order, it.stream)
		}
		byStream[it.stream] = append(byStream[it.stream], logs.InputLogEvent{Timestamp: it.ts, Message: it.msg})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, s := range order {
		evs := byStream[s]
		_, err := ingest.Put(ctx, w.cfg.Logs, w.as, w.cfg.Group, s, evs, true)
		if err != nil && awserr.Is(err, awserr.ResourceNotFound) {
			// The group was deleted: CloudTrail would fail; Cairn
			// recreates it, so the trail goes on.
			if w.createGroup(ctx) == nil {
				_, err = ingest.Put(ctx, w.cfg.Logs, w.as, w.cfg.Group, s, evs, true)
			}
		}
		if err != nil {
			w.failed.Add(uint64(len(evs)))
			w.cfg.Logger.Warn("audit records not written", "group", w.cfg.Group, "stream", s, "records", len(evs), "err", err)
			continue
		}
		w.written.Add(uint64(len(evs)))
	}
}

// Close writes what is queued and stops the writer.
func (w *Writer) Close() error {
	w.closed.Do(func() { close(w.stop) })
	<-w.done
	return nil
}

// Collect implements metrics.Collector.
func (w *Writer) Collect(emit func(metrics.Family)) {
	one := func(name, help string, v uint64) {
		emit(metrics.Family{Name: name, Help: help, Type: metrics.Counter, Samples: []metrics.Sample{{Value: float64(v)}}})
	}
	one("cairn_audit_records_written_total", "Audit (CloudTrail) records stored in the audit log group.", w.written.Load())
	one("cairn_audit_records_dropped_total", "Audit records dropped because the writer's queue was full.", w.dropped.Load())
	one("cairn_audit_records_failed_total", "Audit records that could not be encoded or stored.", w.failed.Load())
}
