package export

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/store"
)

// DefaultChunkBytes is how many bytes of lines one object holds before
// the next (000001.gz) starts.
const DefaultChunkBytes = 64 << 20

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	Logger     *slog.Logger
	ChunkBytes int // 0: DefaultChunkBytes
}

// Runner carries out export tasks, one at a time, in a goroutine of its own
// that Close stops.
type Runner struct {
	s      *Service
	log    *slog.Logger
	chunk  int
	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	// lease: tasks run only on the node holding it (always on a one-node
	// engine), so each runs once across the cluster.
	lease *store.Lease
}

// StartRunner starts s's runner; tasks left active by a previous run are
// taken up first.
func (s *Service) StartRunner(cfg RunnerConfig) *Runner {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ChunkBytes <= 0 {
		cfg.ChunkBytes = DefaultChunkBytes
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{s: s, log: cfg.Logger, chunk: cfg.ChunkBytes, wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	s.runner = r
	r.lease = store.NewLease(s.st, "export/runner", r.wakeUp)
	r.wakeUp()
	go r.run()
	return r
}

func (r *Runner) wakeUp() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Close stops the runner; a task it was running stays RUNNING and is run
// again at the next start.
func (r *Runner) Close() error {
	r.once.Do(func() {
		r.cancel()
		<-r.done
		r.lease.Close()
	})
	return nil
}

func (r *Runner) run() {
	defer close(r.done)
	// On a shared engine a task may be created through another node (whose
	// wake-up reaches only its own runner): the holder looks every few
	// seconds.
	var poll <-chan time.Time
	if _, shared := r.s.st.(store.Leaser); shared {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		poll = t.C
	}
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-r.wake:
		case <-poll:
		}
		for r.ctx.Err() == nil && r.lease.Held() && r.next() {
		}
	}
}

// next runs one active task, oldest first; false when there is none.
func (r *Runner) next() bool {
	st := r.s.st
	type ref struct {
		scope store.Scope
		id    string
	}
	var refs []ref
	err := st.ListResources(r.ctx, store.ResourceKey{Kind: indexKind}, "", "", func(n string, _ []byte) bool {
		acct, rest, ok1 := strings.Cut(n, "/")
		region, id, ok2 := strings.Cut(rest, "/")
		if ok1 && ok2 {
			refs = append(refs, ref{store.Scope{Account: acct, Region: region}, id})
		}
		return true
	})
	if err != nil || len(refs) == 0 {
		if err != nil && r.ctx.Err() == nil {
			r.log.Warn("export: listing active tasks failed", "err", err)
		}
		return false
	}
	for _, x := range refs {
		t, err := r.s.getTask(r.ctx, x.scope, x.id)
		if err != nil {
			// CreateExportTask writes the index entry before the task, so
			// an entry without its task is a create still in flight (or one
			// a crash cut short): leave it. Deleting it here lost the task
			// of a create that raced the runner, which then stayed PENDING.
			continue
		}
		if t.Status.Code != Pending && t.Status.Code != Running {
			_ = st.DeleteResource(r.ctx, store.ResourceKey{Kind: indexKind, Name: indexName(x.scope, x.id)})
			continue
		}
		r.runTask(x.scope, t)
		return true
	}
	return false
}

// transition moves a task to code unless it was cancelled meanwhile; it
// reports whether the task is still the runner's.
//
// The write carries the runner's lease holding (store.Fence): a runner
// paused past its lease's expiry, resumed while another node runs the
// task, cannot record a status over the new holder's.
func (r *Runner) transition(fence store.Fence, scope store.Scope, id, code, msg string) bool {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx := store.WithFence(context.Background(), fence)
	t, err := s.getTask(ctx, scope, id)
	if err != nil || t.Status.Code != Pending && t.Status.Code != Running {
		return false
	}
	t.Status = TaskStatus{Code: code, Message: msg}
	final := code != Running
	if final {
		t.ExecutionInfo.CompletionTime = s.now().UnixMilli()
	}
	if err := s.putTask(ctx, scope, t); err != nil {
		r.log.Warn("export: recording a task's status failed", "task", id, "err", err)
		return false
	}
	if final {
		_ = s.st.DeleteResource(ctx, store.ResourceKey{Kind: indexKind, Name: indexName(scope, id)})
	}
	return true
}

func (r *Runner) cancelled(scope store.Scope, id string) bool {
	t, err := r.s.getTask(r.ctx, scope, id)
	return err != nil || t.Status.Code != Running
}

func (r *Runner) runTask(scope store.Scope, t ExportTask) {
	// AWS's RUNNING message (reference §5.2).
	fence := r.lease.Fence()
	if !r.transition(fence, scope, t.TaskID, Running, "Started Successfully") {
		return
	}
	err := r.write(scope, t)
	switch {
	case r.ctx.Err() != nil:
		return // stopping: RUNNING, resumed at the next start
	case errors.Is(err, errCancelled):
		return
	case err != nil:
		r.log.Warn("export task failed", "task", t.TaskID, "err", err)
		msg := "FAILED: " + failureReason(err)
		r.transition(fence, scope, t.TaskID, Failed, msg)
	default:
		r.transition(fence, scope, t.TaskID, Completed, "Completed successfully")
	}
}

var errCancelled = errors.New("export task cancelled")

// failureReason is what a FAILED status tells the client: what went wrong,
// without the internals of an error's text.
func failureReason(err error) string {
	switch {
	case errors.Is(err, store.ErrGroupNotFound):
		return "the log group was deleted"
	case errors.Is(err, errWrite):
		return "could not write to the destination bucket"
	}
	return "internal error"
}

var errWrite = errors.New("write to the destination failed")

func (r *Runner) write(scope store.Scope, t ExportTask) error {
	st, sink := r.s.st, r.s.sink
	if sink == nil {
		return errWrite
	}
	prefix := strings.TrimSuffix(t.DestinationPrefix, "/")
	put := func(key string, body []byte) error {
		if err := sink.Put(r.ctx, t.Destination, key, body); err != nil {
			if r.ctx.Err() != nil {
				return r.ctx.Err()
			}
			return fmt.Errorf("%w: %v", errWrite, err)
		}
		return nil
	}
	if err := put(prefix+"/aws-logs-write-test", []byte("Permission Check Successful")); err != nil {
		return err
	}
	streamPrefix := ""
	if t.Stored != nil {
		streamPrefix = t.Stored.StreamPrefix
	}
	var streams []string
	if err := st.ListStreams(r.ctx, scope, t.LogGroupName, streamPrefix, "", func(s store.Stream) bool {
		streams = append(streams, s.Name)
		return true
	}); err != nil {
		return err
	}
	for _, name := range streams {
		if r.cancelled(scope, t.TaskID) {
			return errCancelled
		}
		if err := r.writeStream(scope, t, prefix, name, put); err != nil {
			return err
		}
	}
	return nil
}

// writeStream writes one stream's events of [from, to] as chunks.
func (r *Runner) writeStream(scope store.Scope, t ExportTask, prefix, stream string, put func(string, []byte) error) error {
	var buf bytes.Buffer
	var zw *gzip.Writer
	raw, n := 0, 0
	flush := func() error {
		if zw == nil {
			return nil
		}
		if err := zw.Close(); err != nil {
			return err
		}
		key := fmt.Sprintf("%s/%s/%s/%06d.gz", prefix, t.TaskID, stream, n)
		n++
		zw, raw = nil, 0
		err := put(key, buf.Bytes())
		buf.Reset()
		return err
	}
	var werr error
	line := make([]byte, 0, 256)
	// to is inclusive (events later than to are not exported, reference §5.4).
	end := t.To + 1
	if t.To == math.MaxInt64 {
		end = 0 // no upper bound
	}
	_, err := r.s.st.Scan(r.ctx, store.ScanRequest{Scope: scope, Groups: []string{t.LogGroupName}, Streams: []string{stream}, Start: t.From, End: end},
		func(b store.ScanBlock) bool {
			for _, e := range b.Events {
				if zw == nil {
					zw, _ = gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
				}
				line = time.UnixMilli(e.Timestamp).UTC().AppendFormat(line[:0], "2006-01-02T15:04:05.000Z")
				line = append(line, ' ')
				line = append(line, e.Message...)
				line = append(line, '\n')
				if _, werr = zw.Write(line); werr != nil {
					return false
				}
				if raw += len(line); raw >= r.chunk {
					if werr = flush(); werr != nil {
						return false
					}
				}
			}
			return true
		})
	if werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	return flush()
}
