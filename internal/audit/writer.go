package audit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/policygate"
	"github.com/cairnlog/cairn/internal/metrics"
	"github.com/cairnlog/cairn/internal/protocol"
)

// Logs is the core logs service as the writer needs it.
type Logs interface {
	logs.Writer
	CreateLogGroup(ctx context.Context, c caller.Caller, in *logs.CreateLogGroupInput) (*struct{}, error)
}

// Config configures a Writer.
type Config struct {
	Logs Logs
	// Writer is what records are written through (default Logs): the
	// server gives Logs gated by the resource-policy check Cairn makes as
	// cloudtrail.amazonaws.com (policygate.Enforcer.Writer). A write it
	// refuses keeps its records queued (within QueueBytes) and is tried
	// again every FlushInterval, so a policy restored in time loses
	// nothing; what no longer fits is dropped and counted, as for a full
	// queue.
	Writer logs.Writer
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
	if cfg.Writer == nil {
		cfg.Writer = cfg.Logs
	}
	w := &Writer{cfg: cfg, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		// The writer's own calls run as its account's system caller; what
		// lets it write is the resource policy cfg.Writer checks, as for a
		// service principal (cloudtrail.amazonaws.com; see
		// policygate.AuditPrincipal and docs/control-plane.md).
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
	var retry <-chan time.Time // set while refused records wait
	for {
		select {
		case <-w.stop:
			w.final()
			return
		case <-w.wake:
		case <-retry:
		}
		retry = nil
		// Batch what arrives in the next interval with this record.
		t := time.NewTimer(w.cfg.FlushInterval)
		select {
		case <-w.stop:
			t.Stop()
			w.final()
			return
		case <-t.C:
		}
		if w.flush() {
			retry = time.After(w.cfg.FlushInterval)
		}
	}
}

// flush writes what is queued, one logs.Put per stream, and reports
// whether records a resource policy refused wait in the queue again.
func (w *Writer) flush() bool {
	w.mu.Lock()
	q := w.queue
	w.queue, w.queued = nil, 0
	w.mu.Unlock()
	if len(q) == 0 {
		return false
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
	var refused []item
	for _, s := range order {
		evs := byStream[s]
		// Put sorts evs in place and writes them batch by batch; res.Sent
		// is the prefix of evs its answered batches held.
		res, err := logs.Put(ctx, w.cfg.Writer, w.as, w.cfg.Group, s, evs, true)
		if err != nil && awserr.Is(err, awserr.ResourceNotFound) {
			// The group was deleted: CloudTrail would fail; Cairn
			// recreates it, so the trail goes on.
			if w.createGroup(ctx) == nil {
				var more logs.PutResult
				more, err = logs.Put(ctx, w.cfg.Writer, w.as, w.cfg.Group, s, evs[res.Sent:], true)
				res.Sent += more.Sent
			}
		}
		w.written.Add(uint64(res.Sent))
		if policygate.IsRefused(err) {
			// Counted and warned about by the check; the records not
			// written yet wait (a refusal after the first batch of a
			// stream leaves the batches before it stored: they are not
			// queued again, so none is written twice).
			for _, e := range evs[res.Sent:] {
				refused = append(refused, item{stream: s, ts: e.Timestamp, msg: e.Message})
			}
			continue
		}
		if err != nil {
			n := len(evs) - res.Sent
			w.failed.Add(uint64(n))
			w.cfg.Logger.Warn("audit records not written", "group", w.cfg.Group, "stream", s, "records", n, "err", err)
			continue
		}
	}
	if len(refused) == 0 {
		return false
	}
	// Refused records go back ahead of what arrived meanwhile, within the
	// queue's bound; the newest that do not fit are dropped and counted.
	w.mu.Lock()
	defer w.mu.Unlock()
	all := append(refused, w.queue...)
	w.queue, w.queued = nil, 0
	for i, it := range all {
		if w.queued+len(it.msg) > w.cfg.QueueBytes {
			w.dropped.Add(uint64(len(all) - i))
			break
		}
		w.queue = append(w.queue, it)
		w.queued += len(it.msg)
	}
	return true
}

// final is the last flush: records still refused then are dropped, counted
// and said.
func (w *Writer) final() {
	if !w.flush() {
		return
	}
	w.mu.Lock()
	n := len(w.queue)
	w.queue, w.queued = nil, 0
	w.mu.Unlock()
	w.dropped.Add(uint64(n))
	w.cfg.Logger.Warn("audit records dropped at stop: no resource policy allowed writing them", "group", w.cfg.Group, "records", n)
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
	one("cairn_audit_records_dropped_total", "Audit records dropped because the writer's queue was full or a resource policy still refused them at stop.", w.dropped.Load())
	one("cairn_audit_records_failed_total", "Audit records that could not be encoded or stored.", w.failed.Load())
}
