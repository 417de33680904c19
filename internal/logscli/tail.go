package logscli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// TailOptions selects what Tail prints.
type TailOptions struct {
	Groups       []string
	Since        time.Time // start of history (inclusive)
	Filter       string    // filter pattern
	Streams      []string  // only these streams; or
	StreamPrefix string    // only streams with this prefix
	Follow       bool
	Printer      *Printer
	Stderr       io.Writer // notes, such as the fall back to polling

	// NoLiveTail skips StartLiveTail and polls.
	NoLiveTail bool
	// PollInterval spaces FilterLogEvents polls when following (default 2 s).
	PollInterval time.Duration
	// Lookback is how far before the newest timestamp seen each poll looks
	// again, for events that arrive late (default 10 s); eventIds keep them
	// from printing twice.
	Lookback time.Duration
	// LiveTailOptions are passed to StartLiveTail (the CLI uses them to
	// keep the SDK from prefixing the host of a custom endpoint).
	LiveTailOptions []func(*cwl.Options)
}

// Tail prints the groups' events since Since, interleaved by timestamp; with
// Follow it then prints new events until ctx ends, through StartLiveTail,
// or by polling FilterLogEvents where the endpoint does not offer Live Tail.
func Tail(ctx context.Context, c Client, w io.Writer, o TailOptions) error {
	if len(o.Groups) == 0 {
		return errors.New("no log group")
	}
	if len(o.Streams) > 0 && o.StreamPrefix != "" {
		return errors.New("--stream and --stream-prefix are exclusive")
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.Lookback <= 0 {
		o.Lookback = 10 * time.Second
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.Printer == nil {
		o.Printer = &Printer{Format: FormatShort}
	}
	o.Printer.ShowGroups = o.Printer.ShowGroups || len(o.Groups) > 1
	t := &tailer{c: c, w: w, o: o, seen: newDeduper(), fromHistory: contentSet{}, fromLive: contentSet{}, missing: map[string]bool{}}
	if !o.Follow {
		_, err := t.history(ctx, o.Since.UnixMilli(), nil)
		return err
	}
	var live *liveSession
	if !o.NoLiveTail {
		var err error
		live, err = t.startLive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			fmt.Fprintf(o.Stderr, "cairn logs: live tail unavailable (%v); polling every %s\n", err, o.PollInterval)
		}
	}
	newest, err := t.history(ctx, o.Since.UnixMilli(), live)
	if err != nil {
		if live != nil {
			live.close()
		}
		return err
	}
	if live != nil {
		newest, err = t.followLive(ctx, live, newest)
		if ctx.Err() != nil {
			return nil
		}
		fmt.Fprintf(o.Stderr, "cairn logs: live tail ended (%v); polling every %s\n", err, o.PollInterval)
	}
	return t.poll(ctx, newest)
}

type tailer struct {
	c    Client
	w    io.Writer
	o    TailOptions
	seen *deduper
	// fromHistory holds history events a live session may deliver again;
	// fromLive holds live events a poll after the session will see again.
	fromHistory, fromLive contentSet
	// missing holds the groups a follow found missing, so that it says so
	// once rather than at every poll.
	missing map[string]bool
}

// isMissingGroup reports a ResourceNotFoundException: with --follow a group
// that does not exist yet (a CI job's group before its first build) is
// waited for, not a reason to stop tailing the others.
func isMissingGroup(err error) bool {
	var rnf *types.ResourceNotFoundException
	return errors.As(err, &rnf)
}

// noteMissing says once that a followed group does not exist (yet).
func (t *tailer) noteMissing(group string) {
	if !t.missing[group] {
		t.missing[group] = true
		fmt.Fprintf(t.o.Stderr, "cairn logs: %s: no such log group (yet); its events are printed once it exists\n", group)
	}
}

// noteFound says that a group found missing before exists now.
func (t *tailer) noteFound(group string) {
	if t.missing[group] {
		delete(t.missing, group)
		fmt.Fprintf(t.o.Stderr, "cairn logs: %s: log group exists now\n", group)
	}
}

func (t *tailer) print(e Event) error {
	return t.o.Printer.Print(t.w, e)
}

// groupPages iterates one group's FilterLogEvents pages.
type groupPages struct {
	group string
	in    *cwl.FilterLogEventsInput
	buf   []types.FilteredLogEvent
	done  bool
}

func (t *tailer) filterInput(group string, start int64) *cwl.FilterLogEventsInput {
	in := &cwl.FilterLogEventsInput{LogGroupName: aws.String(group), StartTime: aws.Int64(start)}
	if t.o.Filter != "" {
		in.FilterPattern = aws.String(t.o.Filter)
	}
	if len(t.o.Streams) > 0 {
		in.LogStreamNames = t.o.Streams
	}
	if t.o.StreamPrefix != "" {
		in.LogStreamNamePrefix = aws.String(t.o.StreamPrefix)
	}
	return in
}

// fill makes sure the group has a buffered event, unless it is exhausted.
func (t *tailer) fill(ctx context.Context, g *groupPages) error {
	for len(g.buf) == 0 && !g.done {
		page, err := t.c.FilterLogEvents(ctx, g.in)
		if err != nil {
			if t.o.Follow && isMissingGroup(err) {
				t.noteMissing(g.group)
				g.done = true
				return nil
			}
			return fmt.Errorf("%s: %w", g.group, err)
		}
		g.buf = page.Events
		if page.NextToken == nil {
			g.done = true
		} else {
			g.in.NextToken = page.NextToken
		}
	}
	return nil
}

// history prints every group's events from start, merged by timestamp, and
// returns the newest timestamp printed (or start). Events seen go into the
// deduper; with a live session, they are also remembered by content so the
// session's copies of them are not printed again.
func (t *tailer) history(ctx context.Context, start int64, live *liveSession) (int64, error) {
	gs := make([]*groupPages, len(t.o.Groups))
	for i, g := range t.o.Groups {
		gs[i] = &groupPages{group: g, in: t.filterInput(g, start)}
	}
	newest := start
	for {
		var next *groupPages
		for _, g := range gs {
			if err := t.fill(ctx, g); err != nil {
				return newest, err
			}
			if len(g.buf) > 0 && (next == nil || aws.ToInt64(g.buf[0].Timestamp) < aws.ToInt64(next.buf[0].Timestamp)) {
				next = g
			}
		}
		if next == nil {
			return newest, nil
		}
		e := next.buf[0]
		next.buf = next.buf[1:]
		ev := Event{Group: next.group, Stream: aws.ToString(e.LogStreamName), Time: aws.ToInt64(e.Timestamp), Message: aws.ToString(e.Message)}
		if t.seen.seenID(aws.ToString(e.EventId), ev.Time) {
			continue
		}
		if live != nil && aws.ToInt64(e.IngestionTime) >= live.started-5000 {
			t.fromHistory.add(ev)
		}
		newest = max(newest, ev.Time)
		if err := t.print(ev); err != nil {
			return newest, err
		}
	}
}

// poll follows the groups with FilterLogEvents from newest−Lookback,
// printing events whose eventId it has not printed, until ctx ends.
func (t *tailer) poll(ctx context.Context, newest int64) error {
	timer := time.NewTimer(t.o.PollInterval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		// Never before Since: the lookback is for late events, not history.
		from := max(newest-t.o.Lookback.Milliseconds(), t.o.Since.UnixMilli())
		var batch []Event
		for _, g := range t.o.Groups {
			in := t.filterInput(g, from)
			for {
				page, err := t.c.FilterLogEvents(ctx, in)
				if err != nil {
					if ctx.Err() != nil {
						return nil
					}
					if isMissingGroup(err) {
						t.noteMissing(g)
						break
					}
					// A failed poll is retried at the next tick; say so.
					fmt.Fprintf(t.o.Stderr, "cairn logs: %s: %v\n", g, err)
					break
				}
				t.noteFound(g)
				for _, e := range page.Events {
					ev := Event{Group: g, Stream: aws.ToString(e.LogStreamName), Time: aws.ToInt64(e.Timestamp), Message: aws.ToString(e.Message)}
					if t.seen.seenID(aws.ToString(e.EventId), ev.Time) || t.fromLive.take(ev) {
						continue
					}
					batch = append(batch, ev)
				}
				if page.NextToken == nil {
					break
				}
				in.NextToken = page.NextToken
			}
		}
		sort.SliceStable(batch, func(i, j int) bool { return batch[i].Time < batch[j].Time })
		for _, ev := range batch {
			newest = max(newest, ev.Time)
			if err := t.print(ev); err != nil {
				return err
			}
		}
		t.seen.prune(newest - t.o.Lookback.Milliseconds() - 1)
		t.fromLive.prune(newest - t.o.Lookback.Milliseconds() - 1)
		timer.Reset(t.o.PollInterval)
	}
}

// deduper remembers what was printed by eventId (FilterLogEvents).
type deduper struct {
	ids map[string]int64 // eventId → timestamp
}

func newDeduper() *deduper { return &deduper{ids: map[string]int64{}} }

// seenID reports whether the event was printed, and remembers it.
func (d *deduper) seenID(id string, ts int64) bool {
	if id == "" {
		return false
	}
	if _, ok := d.ids[id]; ok {
		return true
	}
	d.ids[id] = ts
	return false
}

func (d *deduper) prune(ts int64) {
	for id, t := range d.ids {
		if t < ts {
			delete(d.ids, id)
		}
	}
}

// contentSet is a multiset of printed events, by content, for events that
// will come again without an eventId to match (Live Tail) or that came
// without one (so a poll must not print them again).
type contentSet map[string]contentSeen

type contentSeen struct {
	n    int
	time int64
}

func contentKey(e Event) string {
	return e.Group + "\x00" + e.Stream + "\x00" + strconv.FormatInt(e.Time, 10) + "\x00" + e.Message
}

func (s contentSet) add(e Event) {
	k := contentKey(e)
	c := s[k]
	c.n++
	c.time = e.Time
	s[k] = c
}

// take reports whether an identical event is in the set, consuming it
// (identical events are counted).
func (s contentSet) take(e Event) bool {
	k := contentKey(e)
	c, ok := s[k]
	if !ok {
		return false
	}
	if c.n <= 1 {
		delete(s, k)
	} else {
		c.n--
		s[k] = c
	}
	return true
}

// prune forgets events older than ts: nothing will ask for them again.
func (s contentSet) prune(ts int64) {
	for k, c := range s {
		if c.time < ts {
			delete(s, k)
		}
	}
}
