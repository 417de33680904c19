package tail

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/store"

	"github.com/cairnlog/cairn/internal/leakcheck"
)

func TestMain(m *testing.M) {
	os.Exit(leakcheck.Main(m, "github.com/cairnlog/cairn/"))
}

var (
	scopeA = store.Scope{Account: "111111111111", Region: "us-east-1"}
	scopeB = store.Scope{Account: "222222222222", Region: "us-east-1"}
)

func evs(stream string, msgs ...string) []store.StoredEvent {
	out := make([]store.StoredEvent, len(msgs))
	for i, m := range msgs {
		out[i] = store.StoredEvent{Stream: stream, Timestamp: int64(i), Message: m}
	}
	return out
}

type substr string

func (s substr) Match(m string) bool { return strings.Contains(m, string(s)) }

func messages(t testing.TB, s *Session) (string, bool) {
	t.Helper()
	got, dropped := s.Take(nil, 0, 0)
	var parts []string
	for _, e := range got {
		parts = append(parts, fmt.Sprintf("%d/%s/%s", e.Group, e.Stream, e.Message))
	}
	return strings.Join(parts, " "), dropped
}

func TestSelection(t *testing.T) {
	h := New(Config{})
	defer h.Close()
	f := func(filter Filter, want string) {
		t.Helper()
		s, err := h.Subscribe(filter)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		h.Publish(scopeA, "g1", "web-1", evs("web-1", "a ERROR", "b"))
		h.Publish(scopeA, "g2", "db", evs("db", "c ERROR"))
		h.Publish(scopeB, "g1", "web-1", evs("web-1", "other account"))
		h.Publish(scopeA, "g1", "api", evs("api", "d"))
		if got, _ := messages(t, s); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	g1, g2 := Group{scopeA, "g1"}, Group{scopeA, "g2"}
	f(Filter{Groups: []Group{g1}}, "0/web-1/a ERROR 0/web-1/b 0/api/d")
	f(Filter{Groups: []Group{g2, g1}}, "1/web-1/a ERROR 1/web-1/b 0/db/c ERROR 1/api/d")
	f(Filter{Groups: []Group{g1}, Streams: []string{"api"}}, "0/api/d")
	f(Filter{Groups: []Group{g1}, Prefixes: []string{"we", "x"}}, "0/web-1/a ERROR 0/web-1/b")
	f(Filter{Groups: []Group{g1, g2}, Match: substr("ERROR")}, "0/web-1/a ERROR 1/db/c ERROR")
	f(Filter{Groups: []Group{{scopeB, "g1"}}}, "0/web-1/other account")
	f(Filter{Groups: []Group{{scopeA, "none"}}}, "")
}

func TestInvalidFilter(t *testing.T) {
	h := New(Config{})
	defer h.Close()
	g := func(n string) Group { return Group{scopeA, n} }
	f := func(filter Filter) {
		t.Helper()
		if _, err := h.Subscribe(filter); err != ErrInvalidFilter {
			t.Fatalf("err %v, want ErrInvalidFilter", err)
		}
	}
	f(Filter{})
	f(Filter{Groups: make([]Group, MaxGroups+1)})
	f(Filter{Groups: []Group{g("a"), g("b")}, Streams: []string{"s"}})
	f(Filter{Groups: []Group{g("a"), g("b")}, Prefixes: []string{"s"}})
	f(Filter{Groups: []Group{g("a")}, Streams: []string{"s"}, Prefixes: []string{"s"}})
	f(Filter{Groups: []Group{g("a"), g("a")}})
}

func TestFallingBehindDropsOldest(t *testing.T) {
	h := New(Config{MaxBufferedEvents: 4, MaxBufferedBytes: 1 << 20})
	defer h.Close()
	s, err := h.Subscribe(Filter{Groups: []Group{{scopeA, "g"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h.Publish(scopeA, "g", "s", evs("s", "1", "2"))
	h.Publish(scopeA, "g", "s", evs("s", "3", "4"))
	if got, dropped := messages(t, s); got != "0/s/1 0/s/2 0/s/3 0/s/4" || dropped {
		t.Fatalf("within bounds: %q dropped=%v", got, dropped)
	}
	h.Publish(scopeA, "g", "s", evs("s", "1", "2"))
	h.Publish(scopeA, "g", "s", evs("s", "3", "4"))
	h.Publish(scopeA, "g", "s", evs("s", "5"))
	if got, dropped := messages(t, s); got != "0/s/3 0/s/4 0/s/5" || !dropped {
		t.Fatalf("behind: %q dropped=%v", got, dropped)
	}
	if got, dropped := messages(t, s); got != "" || dropped {
		t.Fatalf("drop reported twice: %q %v", got, dropped)
	}
	// A batch larger than the whole buffer keeps its newest events.
	h.Publish(scopeA, "g", "s", evs("s", "a", "b", "c", "d", "e", "f"))
	if got, dropped := messages(t, s); got != "0/s/c 0/s/d 0/s/e 0/s/f" || !dropped {
		t.Fatalf("huge batch: %q dropped=%v", got, dropped)
	}
	if s.Dropped() != 4 {
		t.Fatalf("Dropped() = %d, want 4", s.Dropped())
	}

	hb := New(Config{MaxBufferedBytes: 10})
	defer hb.Close()
	sb, _ := hb.Subscribe(Filter{Groups: []Group{{scopeA, "g"}}})
	hb.Publish(scopeA, "g", "s", evs("s", "12345", "67890"))
	hb.Publish(scopeA, "g", "s", evs("s", "abc"))
	if got, dropped := messages(t, sb); got != "0/s/abc" || !dropped {
		t.Fatalf("byte bound: %q dropped=%v", got, dropped)
	}
}

func TestReadyAndClose(t *testing.T) {
	h := New(Config{MaxSessions: 2})
	s1, _ := h.Subscribe(Filter{Groups: []Group{{scopeA, "g"}}})
	s2, _ := h.Subscribe(Filter{Groups: []Group{{scopeA, "g"}}})
	if _, err := h.Subscribe(Filter{Groups: []Group{{scopeA, "g"}}}); err != ErrTooManySessions {
		t.Fatalf("third session: %v", err)
	}
	select {
	case <-s1.Ready():
		t.Fatal("ready before anything was published")
	default:
	}
	h.Publish(scopeA, "g", "s", evs("s", "x"))
	select {
	case <-s1.Ready():
	default:
		t.Fatal("not ready after publish")
	}
	s1.Close()
	s1.Close()
	if h.Sessions() != 1 {
		t.Fatalf("%d sessions after one Close", h.Sessions())
	}
	<-s1.Done()
	h.Publish(scopeA, "g", "s", evs("s", "y"))
	if got, _ := messages(t, s2); got != "0/s/x 0/s/y" {
		t.Fatalf("s2 got %q", got)
	}
	h.Close()
	h.Close()
	<-s2.Done()
	s2.Close()
	if _, err := h.Subscribe(Filter{Groups: []Group{{scopeA, "g"}}}); err != ErrClosed {
		t.Fatalf("subscribe after Close: %v", err)
	}
	h.Publish(scopeA, "g", "s", evs("s", "z")) // a no-op, not a panic
	if h.Sessions() != 0 {
		t.Fatalf("%d sessions after Hub.Close", h.Sessions())
	}
}

// Many publishers, readers coming and going: nothing is lost while readers
// keep up, and the race detector sees every path.
func TestConcurrent(t *testing.T) {
	// A buffer that holds everything: this test is about concurrency, not
	// about a reader the scheduler leaves behind.
	h := New(Config{MaxBufferedEvents: 1 << 20})
	defer h.Close()
	const publishers, batches, perBatch = 4, 200, 10
	s, _ := h.Subscribe(Filter{Groups: []Group{{scopeA, "g"}}, Match: substr("keep")})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // churn: sessions open and close while events flow
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			c, err := h.Subscribe(Filter{Groups: []Group{{scopeA, "g"}, {scopeA, "h"}}})
			if err != nil {
				t.Error(err)
				return
			}
			c.Take(nil, 0, 0)
			c.Close()
		}
	}()
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				batch := make([]store.StoredEvent, perBatch)
				for i := range batch {
					batch[i].Message = fmt.Sprintf("keep %d %d %d", p, b, i)
					if i%2 == 1 {
						batch[i].Message = "skip"
					}
				}
				h.Publish(scopeA, "g", "s", batch)
			}
		}()
	}
	got := 0
	want := publishers * batches * perBatch / 2
	deadline := time.After(10 * time.Second)
	for got < want {
		select {
		case <-s.Ready():
			evs, dropped := s.Take(nil, 0, 0)
			if dropped {
				t.Fatal("dropped while keeping up")
			}
			got += len(evs)
		case <-deadline:
			t.Fatalf("got %d of %d events", got, want)
		}
	}
	close(stop)
	wg.Wait()
	s.Close()
}

func TestPublishWithoutSessionsAllocatesNothing(t *testing.T) {
	h := New(Config{})
	defer h.Close()
	batch := evs("s", "a", "b")
	if n := testing.AllocsPerRun(1000, func() { h.Publish(scopeA, "g", "s", batch) }); n != 0 {
		t.Fatalf("%v allocations per Publish with no sessions", n)
	}
	s, _ := h.Subscribe(Filter{Groups: []Group{{scopeA, "other"}}})
	defer s.Close()
	if n := testing.AllocsPerRun(1000, func() { h.Publish(scopeA, "g", "s", batch) }); n != 0 {
		t.Fatalf("%v allocations per Publish to an untailed group", n)
	}
}

func BenchmarkPublish(b *testing.B) {
	batch := make([]store.StoredEvent, 1000)
	for i := range batch {
		batch[i].Message = strings.Repeat("x", 100)
	}
	run := func(b *testing.B, h *Hub) {
		b.ReportAllocs()
		for b.Loop() {
			h.Publish(scopeA, "g", "s", batch)
		}
		b.ReportMetric(float64(b.N)*float64(len(batch))/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("no-sessions", func(b *testing.B) {
		h := New(Config{})
		defer h.Close()
		run(b, h)
	})
	b.Run("other-group", func(b *testing.B) {
		h := New(Config{})
		defer h.Close()
		s, _ := h.Subscribe(Filter{Groups: []Group{{scopeA, "x"}}})
		defer s.Close()
		run(b, h)
	})
	// A session that never reads: after the first 100 batches every
	// Publish also drops the oldest one, the worst steady state.
	b.Run("one-session", func(b *testing.B) {
		h := New(Config{})
		defer h.Close()
		s, _ := h.Subscribe(Filter{Groups: []Group{{scopeA, "g"}}})
		defer s.Close()
		run(b, h)
	})
}

// Take returns at most one update's worth and leaves the rest queued,
// signalling Ready again; the bounds count matching events only.
func TestTakeBounds(t *testing.T) {
	h := New(Config{})
	defer h.Close()
	s, err := h.Subscribe(Filter{Groups: []Group{{scopeA, "g"}}, Match: substr("keep")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	batch := make([]string, 0, 1200)
	for i := range 1200 {
		m := fmt.Sprintf("keep %04d", i)
		if i%3 == 2 {
			m = "skip"
		}
		batch = append(batch, m)
	}
	h.Publish(scopeA, "g", "s", evs("s", batch[:700]...))
	h.Publish(scopeA, "g", "s", evs("s", batch[700:]...))
	<-s.Ready()
	var all []Event
	for _, want := range []int{500, 300} { // 800 of the 1,200 match
		got, dropped := s.Take(nil, 500, 0)
		if len(got) != want || dropped {
			t.Fatalf("Take: %d events (dropped=%v), want %d", len(got), dropped, want)
		}
		select {
		case <-s.Ready():
		default:
			if want == 500 {
				t.Fatal("Ready did not fire with events left")
			}
		}
		all = append(all, got...)
	}
	for i, e := range all {
		if want := fmt.Sprintf("keep %04d", i/2*3+i%2); e.Message != want {
			t.Fatalf("event %d is %q, want %q (order lost)", i, e.Message, want)
		}
	}
	if n, b := h.Buffered(); n != 0 || b != 0 {
		t.Fatalf("buffered after draining: %d events, %d bytes", n, b)
	}

	// The byte bound: events up to it, but always the first one.
	h.Publish(scopeA, "g", "s", evs("s", "keep1", "keep2", "keep3"))
	if got, _ := s.Take(nil, 0, 10); len(got) != 2 {
		t.Fatalf("byte-bounded Take: %d events, want 2", len(got))
	}
	if got, _ := s.Take(nil, 0, 2); len(got) != 1 || got[0].Message != "keep3" {
		t.Fatalf("an event larger than maxBytes: %+v", got)
	}
}

// A session whose reader never takes holds at most AWS's 5,000 events, drops
// the oldest, and its next Take reports it (sampled).
func TestDefaultBoundsForIdleReader(t *testing.T) {
	h := New(Config{})
	defer h.Close()
	s, err := h.Subscribe(Filter{Groups: []Group{{scopeA, "g"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for b := range 100 {
		msgs := make([]string, 100)
		for i := range msgs {
			msgs[i] = fmt.Sprintf("%d.%d", b, i)
		}
		h.Publish(scopeA, "g", "s", evs("s", msgs...))
		if n, bytes := h.Buffered(); n > DefaultMaxBufferedEvents || bytes > DefaultMaxBufferedBytes {
			t.Fatalf("after %d batches: %d events, %d bytes buffered", b+1, n, bytes)
		}
	}
	if n, _ := h.Buffered(); n != DefaultMaxBufferedEvents {
		t.Fatalf("buffered %d events, want %d", n, DefaultMaxBufferedEvents)
	}
	if s.Dropped() != 10_000-DefaultMaxBufferedEvents {
		t.Fatalf("dropped %d", s.Dropped())
	}
	got, dropped := s.Take(nil, 0, 0)
	if !dropped || len(got) != DefaultMaxBufferedEvents || got[0].Message != "50.0" {
		t.Fatalf("Take after falling behind: %d events from %q, dropped=%v", len(got), got[0].Message, dropped)
	}

	// Large messages: the byte bound holds first.
	big := strings.Repeat("x", 1<<20)
	for range 20 {
		h.Publish(scopeA, "g", "s", evs("s", big))
	}
	if n, bytes := h.Buffered(); bytes > DefaultMaxBufferedBytes || n != DefaultMaxBufferedBytes>>20 {
		t.Fatalf("1 MB events: %d events, %d bytes buffered", n, bytes)
	}
}

// Each account may hold DefaultMaxSessionsPerAccount sessions; other
// accounts are not affected, and a closed session frees its slot.
func TestSessionsPerAccount(t *testing.T) {
	h := New(Config{})
	defer h.Close()
	var open []*Session
	for i := range DefaultMaxSessionsPerAccount {
		s, err := h.Subscribe(Filter{Groups: []Group{{scopeA, fmt.Sprint("g", i)}}})
		if err != nil {
			t.Fatalf("session %d: %v", i+1, err)
		}
		open = append(open, s)
	}
	// Another region of the same account counts against the same quota.
	west := store.Scope{Account: scopeA.Account, Region: "us-west-2"}
	if _, err := h.Subscribe(Filter{Groups: []Group{{west, "g"}}}); err != ErrTooManySessions {
		t.Fatalf("16th session: %v", err)
	}
	other, err := h.Subscribe(Filter{Groups: []Group{{scopeB, "g"}}})
	if err != nil {
		t.Fatalf("another account: %v", err)
	}
	other.Close()
	open[0].Close()
	s, err := h.Subscribe(Filter{Groups: []Group{{west, "g"}}})
	if err != nil {
		t.Fatalf("after a Close: %v", err)
	}
	s.Close()
	if _, err := h.Subscribe(Filter{Groups: []Group{{scopeA, "g"}, {scopeB, "g"}}}); err != ErrInvalidFilter {
		t.Fatalf("groups of two accounts: %v", err)
	}

	unbounded := New(Config{MaxSessionsPerAccount: -1})
	defer unbounded.Close()
	for i := range DefaultMaxSessionsPerAccount + 5 {
		if _, err := unbounded.Subscribe(Filter{Groups: []Group{{scopeA, "g"}}}); err != nil {
			t.Fatalf("unbounded, session %d: %v", i+1, err)
		}
	}
}
