package logs_test

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/readahead"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// readAheadPair is two services on one engine: ahead reads ahead
// (Config.ReadAhead), plain never does. Every page ahead answers must be
// the page plain answers for the same input at the same moment.
type readAheadPair struct {
	ahead, plain *logs.Service
	cache        *readahead.Cache[*logs.FilterLogEventsOutput]
	c            caller.Caller
	clock        *atomic.Int64 // ms added to the real time (engine and services)
}

func newReadAheadPair(t *testing.T, max int) *readAheadPair {
	t.Helper()
	p := &readAheadPair{clock: new(atomic.Int64)}
	now := func() time.Time { return time.Now().Add(time.Duration(p.clock.Load()) * time.Millisecond) }
	engine, err := embedded.Open(embedded.Config{Dir: t.TempDir(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	p.cache = readahead.New[*logs.FilterLogEventsOutput](readahead.Config{Max: max})
	t.Cleanup(func() {
		p.cache.Close()
		if err := engine.Close(); err != nil {
			t.Error(err)
		}
	})
	compile := func(expr string) (logs.Pattern, error) { return pattern.Compile(expr) }
	p.ahead = logs.New(logs.Config{Store: engine, Compile: compile, Now: now, ReadAhead: p.cache})
	p.plain = logs.New(logs.Config{Store: engine, Compile: compile, Now: now})
	p.c = caller.System("123456789012", "eu-west-1", "reader", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
		"logs:FilterLogEvents", "logs:DeleteLogStream", "logs:DeleteLogGroup", "logs:PutRetentionPolicy")
	return p
}

func (p *readAheadPair) do(t *testing.T, fn func(*logs.Service) error) {
	t.Helper()
	if err := fn(p.plain); err != nil {
		t.Fatal(err)
	}
}

func (p *readAheadPair) put(t *testing.T, group, stream string, ts ...int64) {
	t.Helper()
	evs := make([]logs.InputLogEvent, len(ts))
	for i, x := range ts {
		evs[i] = logs.InputLogEvent{Timestamp: x, Message: fmt.Sprintf("event at %d in %s", x, stream)}
	}
	p.do(t, func(s *logs.Service) error {
		_, err := s.PutLogEvents(context.Background(), p.c, &logs.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream, LogEvents: evs})
		return err
	})
}

func (p *readAheadPair) create(t *testing.T, group string, streams ...string) {
	t.Helper()
	ctx := context.Background()
	p.do(t, func(s *logs.Service) error {
		_, err := s.CreateLogGroup(ctx, p.c, &logs.CreateLogGroupInput{LogGroupName: group})
		return err
	})
	for _, st := range streams {
		p.do(t, func(s *logs.Service) error {
			_, err := s.CreateLogStream(ctx, p.c, &logs.CreateLogStreamInput{LogGroupName: group, LogStreamName: st})
			return err
		})
	}
}

// page asks both services for the same page and fails unless they agree.
func (p *readAheadPair) page(t *testing.T, in logs.FilterLogEventsInput) *logs.FilterLogEventsOutput {
	t.Helper()
	out, err := p.compare(in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (p *readAheadPair) compare(in logs.FilterLogEventsInput) (*logs.FilterLogEventsOutput, error) {
	ctx := context.Background()
	a, err := p.ahead.FilterLogEvents(ctx, p.c, &in)
	if err != nil {
		return nil, err
	}
	b, err := p.plain.FilterLogEvents(ctx, p.c, &in)
	if err != nil {
		return nil, err
	}
	if !reflect.DeepEqual(a, b) {
		return nil, fmt.Errorf("read ahead answered %d events %v (token %q), a fresh read %d events %v (token %q)",
			len(a.Events), times(a), a.NextToken, len(b.Events), times(b), b.NextToken)
	}
	return a, nil
}

func times(o *logs.FilterLogEventsOutput) []int64 {
	ts := make([]int64, len(o.Events))
	for i, e := range o.Events {
		ts[i] = e.Timestamp
	}
	return ts
}

func (p *readAheadPair) waitPrepared(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !p.cache.Idle() || p.cache.Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no page prepared: %+v", p.cache.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestReadAheadChangeBetweenPages: the next page is prepared, then the group
// changes; the page served must be the one a fresh read gives, and the
// prepared one must have been refused (Stale), so the test saw the case it
// is about. Without a change the prepared page is served (Hits).
func TestReadAheadChangeBetweenPages(t *testing.T) {
	base := time.Now().Add(-time.Hour).UnixMilli()
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, p *readAheadPair)
		stale  bool
	}{
		{"no change", func(*testing.T, *readAheadPair) {}, false},
		{"append into the next page's range", func(t *testing.T, p *readAheadPair) { p.put(t, "g", "b", base+155) }, true},
		{"append after the range", func(t *testing.T, p *readAheadPair) { p.put(t, "g", "b", base+100_000) }, true},
		{"delete the stream", func(t *testing.T, p *readAheadPair) {
			p.do(t, func(s *logs.Service) error {
				_, err := s.DeleteLogStream(ctx, p.c, &logs.DeleteLogStreamInput{LogGroupName: "g", LogStreamName: "a"})
				return err
			})
		}, true},
		{"retention set", func(t *testing.T, p *readAheadPair) {
			p.do(t, func(s *logs.Service) error {
				_, err := s.PutRetentionPolicy(ctx, p.c, &logs.PutRetentionPolicyInput{LogGroupName: "g", RetentionInDays: 1})
				return err
			})
		}, true},
		{"group deleted and created again", func(t *testing.T, p *readAheadPair) {
			p.do(t, func(s *logs.Service) error {
				_, err := s.DeleteLogGroup(ctx, p.c, &logs.DeleteLogGroupInput{LogGroupName: "g"})
				return err
			})
			p.create(t, "g", "a")
			p.put(t, "g", "a", base+150, base+160, base+170)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newReadAheadPair(t, 0)
			p.create(t, "g", "a", "b")
			ts := make([]int64, 30)
			for i := range ts {
				ts[i] = base + int64(i)*10
			}
			p.put(t, "g", "a", ts...)
			in := logs.FilterLogEventsInput{LogGroupName: "g", Limit: 10}
			first := p.page(t, in)
			if first.NextToken == "" {
				t.Fatal("one page only")
			}
			p.waitPrepared(t)
			before := p.cache.Stats()
			tc.change(t, p)
			in.NextToken = first.NextToken
			second := p.page(t, in)
			st := p.cache.Stats()
			if tc.stale && st.Stale != before.Stale+1 {
				t.Fatalf("the prepared page was not refused after the change: %+v → %+v", before, st)
			}
			if !tc.stale && st.Hits != before.Hits+1 {
				t.Fatalf("the prepared page was not served: %+v → %+v", before, st)
			}
			// And on to the end, every page agreeing.
			for in.NextToken = second.NextToken; in.NextToken != ""; {
				in.NextToken = p.page(t, in).NextToken
			}
		})
	}
}

// TestReadAheadRetentionClock: a group's retention cut moves with the
// clock. A page prepared while the cut was below the read's start is not
// served once the cut has passed into it.
func TestReadAheadRetentionClock(t *testing.T) {
	p := newReadAheadPair(t, 0)
	base := time.Now().Add(-time.Hour).UnixMilli()
	p.create(t, "g", "a")
	ts := make([]int64, 30)
	for i := range ts {
		ts[i] = base + int64(i)*10
	}
	p.put(t, "g", "a", ts...)
	ctx := context.Background()
	p.do(t, func(s *logs.Service) error {
		_, err := s.PutRetentionPolicy(ctx, p.c, &logs.PutRetentionPolicyInput{LogGroupName: "g", RetentionInDays: 1})
		return err
	})
	// The cut (now − 1 day) a little below the first event.
	day := int64(86_400_000)
	p.clock.Store(base - 5 + day - time.Now().UnixMilli())
	in := logs.FilterLogEventsInput{LogGroupName: "g", Limit: 10}
	first := p.page(t, in)
	p.waitPrepared(t)
	if st := p.cache.Stats(); st.Ran != 1 {
		t.Fatalf("nothing read ahead: %+v", st)
	}
	// Now the cut lies inside the second page's range: its first events expired.
	p.clock.Add(160)
	in.NextToken = first.NextToken
	second := p.page(t, in)
	if len(second.Events) == 0 || second.Events[0].Timestamp < base+150 {
		t.Fatalf("second page %v holds events the retention cut", times(second))
	}
	if st := p.cache.Stats(); st.Hits != 0 {
		t.Fatalf("a page read before the cut moved was served: %+v", st)
	}
}

// TestReadAheadManyReaders: many readers paging at once, each with its own
// input, get the pages a fresh read gives, and the cache never holds more
// than its bound.
func TestReadAheadManyReaders(t *testing.T) {
	const max = 2
	p := newReadAheadPair(t, max)
	base := time.Now().Add(-time.Hour).UnixMilli()
	p.create(t, "g", "a", "b")
	ts := make([]int64, 400)
	for i := range ts {
		ts[i] = base + int64(i)
	}
	p.put(t, "g", "a", ts...)
	p.put(t, "g", "b", ts[:200]...)
	var over atomic.Int32
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Microsecond):
				if p.cache.Len() > max {
					over.Add(1)
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for r := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := logs.FilterLogEventsInput{LogGroupName: "g", Limit: 7 + r}
			if r%3 == 1 {
				in.FilterPattern = `"in a"`
			}
			if r%4 == 2 {
				in.LogStreamNames = []string{"b"}
			}
			for {
				out, err := p.compare(in)
				if err != nil {
					t.Errorf("reader %d: %v", r, err)
					return
				}
				if out.NextToken == "" {
					return
				}
				in.NextToken = out.NextToken
				time.Sleep(2 * time.Millisecond) // the client decoding its page
			}
		}()
	}
	wg.Wait()
	close(stop)
	watch.Wait()
	if over.Load() != 0 {
		t.Fatalf("the cache held more than %d entries %d times", max, over.Load())
	}
	st := p.cache.Stats()
	if st.Hits == 0 {
		t.Fatalf("no page served from read-ahead: %+v", st)
	}
	t.Logf("%+v", st)
}

// TestReadAheadThroughSDK: the real server (read-ahead on, as configured by
// default) and aws-sdk-go-v2's paginator. An event appended between two
// pages, into the second page's range, is in the second page, as it is
// without read-ahead: the page prepared before the append is not served.
func TestReadAheadThroughSDK(t *testing.T) {
	s := startServer(t, 0)
	c := s.client()
	ctx := context.Background()
	harness.CreateGroup(t, c, "g", "a", "b")
	base := time.Now().Add(-time.Hour).UnixMilli()
	put := func(stream string, ts ...int64) {
		evs := make([]types.InputLogEvent, len(ts))
		for i, x := range ts {
			evs[i] = types.InputLogEvent{Timestamp: aws.Int64(x), Message: aws.String(fmt.Sprintf("%s %d", stream, x))}
		}
		if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String(stream), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}
	ts := make([]int64, 30)
	for i := range ts {
		ts[i] = base + int64(i)*10
	}
	put("a", ts...)
	pages := cwl.NewFilterLogEventsPaginator(c, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(10)})
	var got []string
	for i := 0; pages.HasMorePages(); i++ {
		out, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			got = append(got, aws.ToString(e.Message))
		}
		if i == 0 {
			time.Sleep(100 * time.Millisecond) // the next page is most likely prepared by now
			put("b", base+155)
		}
	}
	want := make([]string, 0, 31)
	for _, x := range ts {
		want = append(want, fmt.Sprintf("a %d", x))
		if x == base+150 {
			want = append(want, fmt.Sprintf("b %d", base+155))
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("paged through\n%q\nwant\n%q", got, want)
	}
}
