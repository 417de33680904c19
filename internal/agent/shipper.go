package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Client is the part of the CloudWatch Logs API the agent calls; a
// *cloudwatchlogs.Client is one.
type Client interface {
	PutLogEvents(context.Context, *cwl.PutLogEventsInput, ...func(*cwl.Options)) (*cwl.PutLogEventsOutput, error)
	CreateLogGroup(context.Context, *cwl.CreateLogGroupInput, ...func(*cwl.Options)) (*cwl.CreateLogGroupOutput, error)
	CreateLogStream(context.Context, *cwl.CreateLogStreamInput, ...func(*cwl.Options)) (*cwl.CreateLogStreamOutput, error)
	PutRetentionPolicy(context.Context, *cwl.PutRetentionPolicyInput, ...func(*cwl.Options)) (*cwl.PutRetentionPolicyOutput, error)
}

// Target is where a shipper's events go.
type Target struct{ Group, Stream string }

// Backoff spaces retries: the n-th wait is a random time in [d/2, d] with
// d = min(Max, Base·2ⁿ) ("equal jitter").
type Backoff struct{ Base, Max time.Duration }

func (b Backoff) wait(attempt int) time.Duration {
	base, maxd := b.Base, b.Max
	if base <= 0 {
		base = 200 * time.Millisecond
	}
	if maxd <= 0 {
		maxd = 30 * time.Second
	}
	d := maxd
	if attempt < 30 && base<<attempt < maxd {
		d = base << attempt
	}
	return d/2 + rand.N(d/2+1)
}

// ShipperConfig configures one target's sender.
type ShipperConfig struct {
	Client        Client
	Target        Target
	RetentionDays int32         // set on a group the shipper creates; 0: never expire
	FlushInterval time.Duration // longest an event waits for a fuller batch (default 5 s)
	Limits        Limits
	Backoff       Backoff
	CallTimeout   time.Duration // per API call (default 30 s)
	Logger        *slog.Logger
}

// Shipper sends one target's events with PutLogEvents, in order, in batches
// within the API's limits, retrying until they are accepted. Events enter
// through Add (which blocks while the queue is full) and leave through the
// client; each event is sent until accepted or rejected (a rejection is
// logged with its reason), never dropped silently.
type Shipper struct {
	cfg ShipperConfig
	q   queue
	log *slog.Logger

	wake    chan struct{} // an Add happened
	drain   chan struct{} // closed by Close: send everything, then stop
	abandon chan struct{} // closed when Close's deadline passes
	done    chan struct{}
	once    sync.Once // closes drain
	once2   sync.Once // closes abandon

	sent     atomic.Int64
	rejected atomic.Int64
	unsent   atomic.Int64 // events left behind at Close
	lastErr  atomic.Pointer[shipError]
}

type shipError struct{ what, text string }

// LastError describes the most recent failed call ("PutLogEvents: …"), or
// "" when none failed: what a report of unsent events should say.
func (s *Shipper) LastError() string {
	if e := s.lastErr.Load(); e != nil {
		return e.what + ": " + e.text
	}
	return ""
}

// EnsureTarget creates the group and stream when they are missing (for a
// run that produced no output, whose stream must still exist). Call it
// after Close, or before the first Add.
func (s *Shipper) EnsureTarget(ctx context.Context) error { return s.createTarget(ctx) }

func newShipper(cfg ShipperConfig, q queue) *Shipper {
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 5 * time.Second
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Limits = cfg.Limits.orDefaults()
	s := &Shipper{
		cfg: cfg, q: q,
		log:     cfg.Logger.With("group", cfg.Target.Group, "stream", cfg.Target.Stream),
		wake:    make(chan struct{}, 1),
		drain:   make(chan struct{}),
		abandon: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go s.loop()
	return s
}

// NewMemoryShipper starts a shipper whose queue is in memory, bounded to
// maxBytes (events block in Add beyond that).
func NewMemoryShipper(cfg ShipperConfig, maxBytes int) *Shipper {
	if maxBytes <= 0 {
		maxBytes = 64 << 20
	}
	return newShipper(cfg, newMemQueue(maxBytes))
}

// Add queues events (already masked and fitted).
func (s *Shipper) Add(ctx context.Context, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	if err := s.q.append(ctx, evs); err != nil {
		return err
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Sent is the number of events accepted by the endpoint.
func (s *Shipper) Sent() int64 { return s.sent.Load() }

// Rejected is the number of events the endpoint refused (each was logged).
func (s *Shipper) Rejected() int64 { return s.rejected.Load() }

// Close sends what is queued, retrying until ctx is done, then stops. It
// returns the number of events it could not send (still in a disk spool, or
// lost with a memory queue). Add must not be called after Close.
func (s *Shipper) Close(ctx context.Context) (unsent int64, err error) {
	s.once.Do(func() { close(s.drain) })
	select {
	case <-s.done:
	case <-ctx.Done():
		s.once2.Do(func() { close(s.abandon) })
		<-s.done
	}
	return s.unsent.Load(), s.q.close()
}

func (s *Shipper) loop() {
	defer close(s.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.abandon:
			cancel()
		case <-ctx.Done():
		}
	}()
	var (
		pending      []Event
		pendingBytes int
		since        time.Time // when pending became non-empty
		draining     bool
		ready        bool // group and stream exist, as far as we know
	)
	drain := s.drain
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		// Read ahead, bounded by one batch's worth.
		for len(pending) < s.cfg.Limits.Events && pendingBytes < s.cfg.Limits.Bytes {
			more, err := s.q.read(min(512, s.cfg.Limits.Events-len(pending)))
			if err != nil {
				s.log.Error("read spool", "err", err)
			}
			if len(more) == 0 {
				break
			}
			if len(pending) == 0 {
				since = time.Now()
			}
			for _, e := range more {
				pendingBytes += e.size()
			}
			pending = append(pending, more...)
		}
		n := batchLen(pending, s.cfg.Limits)
		full := n > 0 && (n < len(pending) || n == s.cfg.Limits.Events || pendingBytes >= s.cfg.Limits.Bytes)
		if n > 0 && (full || draining || time.Since(since) >= s.cfg.FlushInterval) {
			batch := append([]Event(nil), pending[:n]...)
			if err := s.put(ctx, batch, &ready); err != nil {
				// Only an abandoned Close gets here.
				s.unsent.Store(int64(len(pending)) + s.unreadCount())
				return
			}
			if err := s.q.ack(n); err != nil {
				panic(err)
			}
			for _, e := range pending[:n] {
				pendingBytes -= e.size()
			}
			pending = append(pending[:0], pending[n:]...)
			since = time.Now()
			continue
		}
		if draining && len(pending) == 0 && !s.q.unread() {
			return
		}
		wait := time.Hour
		if len(pending) > 0 {
			wait = max(0, s.cfg.FlushInterval-time.Since(since))
		}
		timer.Reset(wait)
		select {
		case <-s.wake:
		case <-timer.C:
		case <-drain:
			draining = true
			drain = nil // a closed channel would spin the select
		case <-s.abandon:
			s.unsent.Store(int64(len(pending)) + s.unreadCount())
			return
		}
	}
}

func (s *Shipper) unreadCount() int64 {
	var n int64
	for {
		more, _ := s.q.read(4096)
		if len(more) == 0 {
			return n
		}
		n += int64(len(more))
	}
}

// put sends one batch until it is accepted or rejected; it fails only when
// ctx ends.
func (s *Shipper) put(ctx context.Context, batch []Event, ready *bool) error {
	sortBatch(batch)
	failures := 0
	for {
		if !*ready {
			if err := s.createTarget(ctx); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if err := s.backoff(ctx, &failures, "create log group/stream", err); err != nil {
					return err
				}
				continue
			}
			*ready = true
		}
		in := &cwl.PutLogEventsInput{
			LogGroupName:  aws.String(s.cfg.Target.Group),
			LogStreamName: aws.String(s.cfg.Target.Stream),
			LogEvents:     make([]types.InputLogEvent, len(batch)),
		}
		for i, e := range batch {
			in.LogEvents[i] = types.InputLogEvent{Timestamp: aws.Int64(e.Time), Message: aws.String(e.Message)}
		}
		cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
		out, err := s.cfg.Client.PutLogEvents(cctx, in)
		cancel()
		switch classify(err) {
		case errNone:
			s.accepted(batch, out)
			if failures > 0 {
				s.log.Info("endpoint accepts events again", "after_failures", failures)
			}
			return nil
		case errNotFound:
			*ready = false
			failures++
		case errInvalid:
			if len(batch) > 1 {
				// Find the offending events: each half on its own.
				h := len(batch) / 2
				if err := s.put(ctx, batch[:h], ready); err != nil {
					return err
				}
				return s.put(ctx, batch[h:], ready)
			}
			s.rejected.Add(1)
			s.log.Error("event rejected", "reason", errText(err), "timestamp", batch[0].Time, "bytes", len(batch[0].Message), "message", preview(batch[0].Message))
			return nil
		default:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := s.backoff(ctx, &failures, "PutLogEvents", err); err != nil {
				return err
			}
		}
	}
}

func (s *Shipper) backoff(ctx context.Context, failures *int, what string, err error) error {
	if *failures == 0 || *failures%10 == 0 {
		s.lastErr.Store(&shipError{what: what, text: errText(err)})
		s.log.Warn(what+" failed; retrying", "err", errText(err), "failures", *failures+1)
	}
	d := s.cfg.Backoff.wait(*failures)
	*failures++
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Shipper) accepted(batch []Event, out *cwl.PutLogEventsOutput) {
	n := int64(len(batch))
	if out != nil && out.RejectedLogEventsInfo != nil {
		r := out.RejectedLogEventsInfo
		rejected := make([]bool, len(batch))
		mark := func(reason string, from, to int) {
			from, to = max(from, 0), min(to, len(batch))
			if from >= to {
				return
			}
			for i := from; i < to; i++ {
				rejected[i] = true
			}
			s.log.Error("events rejected", "reason", reason, "count", to-from,
				"first_timestamp", batch[from].Time, "first_message", preview(batch[from].Message))
		}
		if r.TooNewLogEventStartIndex != nil {
			mark("too new (more than 2 hours ahead)", int(*r.TooNewLogEventStartIndex), len(batch))
		}
		if r.TooOldLogEventEndIndex != nil {
			mark("too old (more than 14 days ago)", 0, int(*r.TooOldLogEventEndIndex)+1)
		}
		if r.ExpiredLogEventEndIndex != nil {
			mark("older than the group's retention", 0, int(*r.ExpiredLogEventEndIndex)+1)
		}
		for _, b := range rejected {
			if b {
				n--
				s.rejected.Add(1)
			}
		}
	}
	s.sent.Add(n)
}

// createTarget creates the stream, and the group first when it is missing.
// ResourceAlreadyExists counts as success.
func (s *Shipper) createTarget(ctx context.Context) error {
	g, st := aws.String(s.cfg.Target.Group), aws.String(s.cfg.Target.Stream)
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	_, err := s.cfg.Client.CreateLogStream(cctx, &cwl.CreateLogStreamInput{LogGroupName: g, LogStreamName: st})
	if isCode(err, "ResourceAlreadyExistsException") || err == nil {
		return nil
	}
	if !isCode(err, "ResourceNotFoundException") {
		return err
	}
	_, err = s.cfg.Client.CreateLogGroup(cctx, &cwl.CreateLogGroupInput{LogGroupName: g})
	created := err == nil
	if err != nil && !isCode(err, "ResourceAlreadyExistsException") {
		return err
	}
	if created && s.cfg.RetentionDays > 0 {
		if _, err := s.cfg.Client.PutRetentionPolicy(cctx, &cwl.PutRetentionPolicyInput{LogGroupName: g, RetentionInDays: aws.Int32(s.cfg.RetentionDays)}); err != nil {
			s.log.Warn("set retention", "err", errText(err))
		}
	}
	_, err = s.cfg.Client.CreateLogStream(cctx, &cwl.CreateLogStreamInput{LogGroupName: g, LogStreamName: st})
	if err != nil && !isCode(err, "ResourceAlreadyExistsException") {
		return err
	}
	return nil
}

type errClass int

const (
	errNone errClass = iota
	errRetry
	errNotFound
	errInvalid
)

// classify decides what a failed call means. Throttling, 5xx, network
// errors, timeouts and anything unknown are retried; only a refusal of the
// request itself is not.
func classify(err error) errClass {
	if err == nil {
		return errNone
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ResourceNotFoundException":
			return errNotFound
		case "DataAlreadyAcceptedException":
			return errNone
		case "InvalidParameterException", "SerializationException", "ValidationException":
			return errInvalid
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusRequestEntityTooLarge {
		return errInvalid
	}
	return errRetry
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

func errText(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Sprintf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	return err.Error()
}

func preview(s string) string {
	if len(s) > 80 {
		return s[:runeCut(s, 80)] + "…"
	}
	return s
}
