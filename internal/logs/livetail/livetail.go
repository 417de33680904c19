// Package livetail is the Live Tail family of CloudWatch Logs operations:
// StartLiveTail, an AWS event stream of the events stored in up to ten log
// groups while the session lasts.
//
// StartLiveTail validates and authorizes the request, subscribes to the tail
// hub (package tail, which the storage engine feeds with every durable
// append) and returns a Stream; the protocol layer streams it, and the
// Stream writes its frames through eventstream.Writer (initial-response,
// sessionStart, then sessionUpdates). Like every family it registers a typed
// function with the protocol's Table and shares the caller, the group
// resolution, the pattern compiler and the error table with package logs.
package livetail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	json "github.com/goccy/go-json"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/eventstream"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/tail"
	"github.com/cairnlog/cairn/internal/uuid"
)

// Live Tail cadence and framing.
const (
	// liveTailHeartbeat: AWS sends a sessionUpdate every second, empty when
	// nothing arrived; Cairn sends one at least that often.
	liveTailHeartbeat = time.Second
	// liveTailMinGap is the least time between two updates that carry
	// events. Cairn sends events as soon as they are stored rather than on
	// AWS's one-second beat; the gap makes one frame of a burst.
	liveTailMinGap = 2 * time.Millisecond
	// liveTailFrameBytes bounds the raw text per sessionUpdate frame; even
	// fully \u-escaped (×6) a frame stays under the 16 MB message limit. A
	// larger delivery is sent as several sessionUpdate frames in a row.
	liveTailFrameBytes = 2 << 20
	// liveTailUpdateEvents is AWS's most events per sessionUpdate. Cairn
	// takes at most this many (and liveTailFrameBytes of messages) from
	// the session per update; the rest waits in the session's buffer
	// (tail.DefaultMaxBufferedEvents: AWS's 10 updates or 5,000 events),
	// which drops the oldest once full and marks the next update sampled.
	liveTailUpdateEvents = 500
)

// Config configures a Service.
type Config struct {
	// Store is where the tailed groups are looked up.
	Store store.Store
	// Hub is the fan-out sessions subscribe to, which the storage engine
	// feeds (store.Store.Subscribe, calling Hub.Publish); nil answers
	// StartLiveTail with InvalidOperationException.
	Hub *tail.Hub
	// Compile compiles logEventFilterPattern (package pattern).
	Compile func(expr string) (logs.Pattern, error)
	// MaxSession ends a session with SessionTimeoutException after that
	// long; 0 means never (AWS stops at 3 hours).
	MaxSession time.Duration
}

// Service implements the Live Tail operations.
type Service struct {
	st      store.Store
	compile func(string) (logs.Pattern, error)
	tail    liveTail
}

// liveTail is the Service's Live Tail configuration.
type liveTail struct {
	hub        *tail.Hub
	maxSession time.Duration
}

// New returns a Service.
func New(cfg Config) *Service {
	return &Service{st: cfg.Store, compile: cfg.Compile, tail: liveTail{hub: cfg.Hub, maxSession: cfg.MaxSession}}
}

// Register adds StartLiveTail to t.
func (s *Service) Register(t *protocol.Table) {
	t.Add("StartLiveTail", protocol.Decoded(s.StartLiveTail))
}

func (s *Service) compilePattern(expr string) (logs.Pattern, error) {
	return logs.CompilePattern(s.compile, expr)
}

type StartLiveTailInput struct {
	LogGroupIdentifiers   []string `json:"logGroupIdentifiers"`
	LogStreamNames        []string `json:"logStreamNames"`
	LogStreamNamePrefixes []string `json:"logStreamNamePrefixes"`
	LogEventFilterPattern *string  `json:"logEventFilterPattern"`
}

// LiveTailSessionStart is the payload of the sessionStart event.
type LiveTailSessionStart struct {
	RequestID             string   `json:"requestId"`
	SessionID             string   `json:"sessionId"`
	LogGroupIdentifiers   []string `json:"logGroupIdentifiers"`
	LogStreamNames        []string `json:"logStreamNames,omitempty"`
	LogStreamNamePrefixes []string `json:"logStreamNamePrefixes,omitempty"`
	LogEventFilterPattern *string  `json:"logEventFilterPattern,omitempty"`
}

// LiveTailSessionLogEvent is one event of a sessionUpdate.
type LiveTailSessionLogEvent struct {
	LogStreamName      string `json:"logStreamName"`
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	Message            string `json:"message"`
	Timestamp          int64  `json:"timestamp"`
	IngestionTime      int64  `json:"ingestionTime"`
}

// StartLiveTail validates and authorizes the request and subscribes before
// answering, so every event stored after the response starts is seen; the
// returned stream writes the event-stream body. The caller of a Stream must
// run it (or close its session by running it with a done context).
func (s *Service) StartLiveTail(ctx context.Context, c caller.Caller, in *StartLiveTailInput) (*Stream, error) {
	if s.tail.hub == nil {
		return nil, awserr.LiveTailDisabled()
	}
	if len(in.LogStreamNames) > 0 && len(in.LogStreamNamePrefixes) > 0 {
		return nil, awserr.MutuallyExclusive("logStreamNames", "logStreamNamePrefixes")
	}
	if (len(in.LogStreamNames) > 0 || len(in.LogStreamNamePrefixes) > 0) && len(in.LogGroupIdentifiers) != 1 {
		return nil, awserr.LiveTailStreamsNeedOneGroup()
	}
	scope := logs.Scope(c)
	filter := tail.Filter{Streams: in.LogStreamNames, Prefixes: in.LogStreamNamePrefixes}
	var ids []string // the identifier each subscribed group is reported as
	for _, id := range in.LogGroupIdentifiers {
		// The model's pattern has already refused '*' anywhere in id, so
		// an ARN with AWS's ":*" suffix never gets here.
		name, err := logs.ResolveGroup(scope, "", id, nil)
		if err != nil {
			return nil, err
		}
		g := tail.Group{Scope: scope, Name: name}
		if containsGroup(filter.Groups, g) {
			continue // named twice (by name and by ARN): tailed once
		}
		if err := c.Authorize("logs:StartLiveTail", logs.GroupResource(scope, name)); err != nil {
			return nil, err
		}
		filter.Groups = append(filter.Groups, g)
		ids = append(ids, id)
	}
	for _, g := range filter.Groups {
		if _, err := s.st.GetGroup(ctx, scope, g.Name); err != nil {
			return nil, logs.StoreError(err)
		}
	}
	if in.LogEventFilterPattern != nil && *in.LogEventFilterPattern != "" {
		p, err := s.compilePattern(*in.LogEventFilterPattern)
		if err != nil {
			return nil, err
		}
		if !p.MatchesAll() {
			filter.Match = p
		}
	}
	sess, err := s.tail.hub.Subscribe(filter)
	switch {
	case errors.Is(err, tail.ErrTooManySessions):
		return nil, awserr.ResourceLimitExceeded()
	case err != nil:
		return nil, fmt.Errorf("subscribe live tail: %w", err)
	}
	start := LiveTailSessionStart{
		RequestID:             c.RequestID,
		SessionID:             uuid.New(),
		LogGroupIdentifiers:   in.LogGroupIdentifiers,
		LogStreamNames:        in.LogStreamNames,
		LogStreamNamePrefixes: in.LogStreamNamePrefixes,
		LogEventFilterPattern: in.LogEventFilterPattern,
	}
	return &liveTailStream{sess: sess, ids: ids, start: start, maxSession: s.tail.maxSession}, nil
}

func containsGroup(gs []tail.Group, g tail.Group) bool {
	for _, x := range gs {
		if x == g {
			return true
		}
	}
	return false
}

// Stream is a started Live Tail session's response body.
type Stream = liveTailStream

// liveTailStream is a StartLiveTail response body: it implements
// protocol.Streamer and owns its session, which it closes when it returns.
type liveTailStream struct {
	sess       *tail.Session
	ids        []string
	start      LiveTailSessionStart
	maxSession time.Duration

	out   *eventstream.Writer
	buf   []tail.Event
	frame []byte
}

func (l *liveTailStream) ContentType() string { return eventstream.ContentType }

// Stream writes initial-response and sessionStart, then sessionUpdates until
// the client goes away, the hub closes (server shutdown: the body simply
// ends) or the maximum session length passes (a SessionTimeoutException
// frame). It runs in the request's goroutine and starts none.
func (l *liveTailStream) Stream(ctx context.Context, w io.Writer, flush func()) error {
	defer l.sess.Close()
	l.out = eventstream.NewWriter(w, flush)
	if err := l.out.Event("initial-response", []byte("{}")); err != nil {
		return err
	}
	start, err := json.Marshal(l.start)
	if err != nil {
		return fmt.Errorf("encode sessionStart: %w", err)
	}
	if err := l.out.Event("sessionStart", start); err != nil {
		return err
	}
	l.out.Flush()

	var deadline <-chan time.Time
	if l.maxSession > 0 {
		t := time.NewTimer(l.maxSession)
		defer t.Stop()
		deadline = t.C
	}
	next := time.NewTimer(liveTailHeartbeat)
	defer next.Stop()
	last := time.Now() // when the last update went out
	pending := false   // next is armed to deliver queued events
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-l.sess.Done():
			return nil
		case <-deadline:
			return l.timeout()
		case <-l.sess.Ready():
			if !pending {
				pending = true
				next.Reset(max(0, liveTailMinGap-time.Since(last)))
			}
		case <-next.C:
			var sampled bool
			l.buf, sampled = l.sess.Take(l.buf[:0], liveTailUpdateEvents, liveTailFrameBytes)
			if len(l.buf) == 0 && !sampled && time.Since(last) < liveTailHeartbeat {
				// Everything queued was filtered out: no update yet.
				pending = false
				next.Reset(liveTailHeartbeat - time.Since(last))
				continue
			}
			if err := l.update(l.buf, sampled); err != nil {
				return err
			}
			clear(l.buf) // do not pin messages until the next delivery
			last, pending = time.Now(), false
			next.Reset(liveTailHeartbeat)
		}
	}
}

// update writes one delivery as one or more sessionUpdate frames, then
// flushes.
func (l *liveTailStream) update(evs []tail.Event, sampled bool) error {
	head := `{"sessionMetadata":{"sampled":false},"sessionResults":[`
	if sampled {
		head = `{"sessionMetadata":{"sampled":true},"sessionResults":[`
	}
	for first := true; first || len(evs) > 0; first = false {
		n, size := 0, 0
		for n < len(evs) && (n == 0 || size+eventSize(evs[n], l.ids) <= liveTailFrameBytes) {
			size += eventSize(evs[n], l.ids)
			n++
		}
		l.frame = append(l.frame[:0], head...)
		for i, e := range evs[:n] {
			if i > 0 {
				l.frame = append(l.frame, ',')
			}
			b, err := json.Marshal(LiveTailSessionLogEvent{
				LogStreamName: e.Stream, LogGroupIdentifier: l.ids[e.Group], Message: e.Message,
				Timestamp: e.Timestamp, IngestionTime: e.IngestionTime,
			})
			if err != nil {
				return fmt.Errorf("encode sessionUpdate: %w", err)
			}
			l.frame = append(l.frame, b...)
		}
		l.frame = append(l.frame, "]}"...)
		if err := l.out.Event("sessionUpdate", l.frame); err != nil {
			return err
		}
		evs = evs[n:]
	}
	if cap(l.frame) > liveTailFrameBytes {
		l.frame = nil
	}
	l.out.Flush()
	return nil
}

func eventSize(e tail.Event, ids []string) int {
	return len(e.Message) + len(e.Stream) + len(ids[e.Group]) + 100
}

func (l *liveTailStream) timeout() error {
	payload, err := json.Marshal(map[string]string{
		"message": fmt.Sprintf("The Live Tail session has reached its maximum duration of %s.", l.maxSession),
	})
	if err != nil {
		return err
	}
	err = l.out.Exception("SessionTimeoutException", payload)
	l.out.Flush()
	return err
}

var _ protocol.Streamer = (*liveTailStream)(nil)
