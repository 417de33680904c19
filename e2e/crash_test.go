package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

const (
	// The crash loop's size in the normal test run; CAIRN_CRASH_CYCLES and
	// CAIRN_CRASH_WRITERS make it longer (docs/reliability.md has a 40-cycle
	// run's figures).
	crashCycles  = 10
	crashWriters = 8
	// maxPages bounds a read-back's pagination, so that a token that never
	// ends fails the test with what was read instead of spinning until go
	// test's timeout: far above any run's need (10,000 events a page).
	maxPages = 1000
)

// envInt reads a positive integer setting of a long test run.
func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// target is a log stream the crash test writes to.
type target struct{ group, stream string }

// crashEvent is what a crash-test message says about itself. Messages are
// "KEY GROUP STREAM TIMESTAMP PAYLOAD" where KEY (cCYCLE-wWRITER-bBATCH-iINDEX)
// is unique and PAYLOAD is derived from KEY, so a reader can tell a
// corrupted, misplaced or duplicated event from a good one.
type crashEvent struct {
	key string
	target
	ts int64
}

func crashMessage(e crashEvent, size int) string {
	return fmt.Sprintf("%s %s %s %d %s", e.key, e.group, e.stream, e.ts, crashPayload(e.key, size))
}

func crashPayload(key string, size int) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return strings.Repeat(h, size/len(h)+1)[:size]
}

// parseCrashMessage checks a message read back and returns what it says.
func parseCrashMessage(msg string) (crashEvent, error) {
	f := strings.SplitN(msg, " ", 5)
	if len(f) != 5 {
		return crashEvent{}, fmt.Errorf("malformed message %.80q", msg)
	}
	ts, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		return crashEvent{}, fmt.Errorf("malformed timestamp in %.80q", msg)
	}
	if f[4] != crashPayload(f[0], len(f[4])) {
		return crashEvent{}, fmt.Errorf("corrupted payload in %.80q (%d bytes)", msg, len(msg))
	}
	return crashEvent{key: f[0], target: target{f[1], f[2]}, ts: ts}, nil
}

// TestCrashRecovery is a kill -9 loop: it kills the server with SIGKILL while
// 8 writers ingest, restarts it on the same data directory and checks that
// every event whose PutLogEvents succeeded is there exactly once, and that
// nothing is duplicated, corrupted or misplaced, 10 times in a row.
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	cycles := envInt(t, "CAIRN_CRASH_CYCLES", crashCycles)
	writers := envInt(t, "CAIRN_CRASH_WRITERS", crashWriters)
	began := time.Now()
	dir := t.TempDir()
	srv := startServerOn(t, dir)
	var targets []target
	groups := []string{"crash-a", "crash-b"}
	for _, g := range groups {
		streams := []string{"s0", "s1", "s2"}
		create(t, srv.logs(defaultRegion), g, streams...)
		for _, s := range streams {
			targets = append(targets, target{g, s})
		}
	}

	acked := map[string]crashEvent{} // every acknowledged event so far
	seen := map[string]bool{}        // every event read back after a restart
	lost, dups := 0, 0
	var slowest time.Duration
	for cycle := range cycles {
		n := ingestUntil(t, srv, cycle, writers, targets, acked, srv.kill)
		srv = startServerOn(t, dir)
		// How long the restart took is reported, not asserted (no timing
		// assertions: on a loaded shared machine any bound is either
		// spurious or meaningless); docs/reliability.md records the
		// slowest restart of its runs.
		startup, err := time.ParseDuration(srv.startup)
		if err != nil {
			t.Fatalf("cycle %d: server logged startup=%q: %v", cycle, srv.startup, err)
		}
		slowest = max(slowest, startup)
		t.Logf("cycle %d: %d events acknowledged before SIGKILL (%d in all); restart took startup=%s", cycle, n, len(acked), srv.startup)
		d, l := verifyAfterCrash(t, srv, cycle, groups, targets, acked, seen)
		dups, lost = dups+d, lost+l
		if t.Failed() {
			break
		}
	}
	t.Logf("kill -9 loop: %d cycles, %d writers, %d events acknowledged, %d lost, %d duplicated, %v, slowest restart %v",
		cycles, writers, len(acked), lost, dups, time.Since(began).Round(time.Second), slowest)
}

// ingestUntil runs writers against srv, ends srv with halt (srv.kill or
// srv.stop) after a random 0.2–0.7 s, and adds the acknowledged events to
// acked. It returns how many events were acknowledged.
func ingestUntil(t testing.TB, srv *server, cycle, writers int, targets []target, acked map[string]crashEvent, halt func()) int {
	t.Helper()
	client := srv.logs(defaultRegion)
	var killed atomic.Bool
	stop := make(chan struct{})
	failed := make(chan error, writers) // errors before the kill
	results := make([][]crashEvent, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(cycle), uint64(w)))
			for b := 0; ; b++ {
				select {
				case <-stop:
					return
				default:
				}
				tg := targets[(w+b)%len(targets)]
				in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: &tg.group, LogStreamName: &tg.stream}
				var batch []crashEvent
				for i := range 1 + rng.IntN(20) {
					e := crashEvent{fmt.Sprintf("c%d-w%d-b%d-i%d", cycle, w, b, i), tg, nowMS()}
					batch = append(batch, e)
					in.LogEvents = append(in.LogEvents, types.InputLogEvent{
						Timestamp: aws.Int64(e.ts), Message: aws.String(crashMessage(e, 16+rng.IntN(300)))})
				}
				cx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				out, err := client.PutLogEvents(cx, in)
				cancel()
				switch {
				case err == nil && out.RejectedLogEventsInfo != nil:
					failed <- fmt.Errorf("writer %d: PutLogEvents rejected fresh events: %+v", w, *out.RejectedLogEventsInfo)
					return
				case err == nil:
					results[w] = append(results[w], batch...)
				case killed.Load():
					return // the server is gone; this batch may or may not be stored
				default:
					failed <- fmt.Errorf("writer %d: PutLogEvents before the kill: %w", w, err)
					return
				}
			}
		})
	}
	delay := 200*time.Millisecond + rand.N(500*time.Millisecond)
	timer := time.NewTimer(delay)
	select {
	case <-timer.C:
	case err := <-failed:
		t.Errorf("cycle %d: %v", cycle, err)
	}
	timer.Stop()
	killed.Store(true)
	halt()
	close(stop)
	wg.Wait()
	close(failed)
	for err := range failed {
		t.Errorf("cycle %d: %v", cycle, err)
	}
	n := 0
	for _, evs := range results {
		for _, e := range evs {
			acked[e.key] = e
			n++
		}
	}
	t.Logf("cycle %d: stopped the server %v after the writers started", cycle, delay.Round(time.Millisecond))
	return n
}

// verifyAfterCrash reads every event back twice — FilterLogEvents per group
// and GetLogEvents per stream — and checks them against what was acknowledged
// and what earlier restarts showed. It returns how many events were read more
// than once and how many acknowledged ones were missing.
func verifyAfterCrash(t testing.TB, srv *server, cycle int, groups []string, targets []target, acked map[string]crashEvent, seen map[string]bool) (dups, lost int) {
	t.Helper()
	client := srv.logs(defaultRegion)
	count := map[string]int{}
	byStream := map[target]int{}
	for _, g := range groups {
		var prev int64
		in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(g), Limit: aws.Int32(10000)}
		for page := 0; ; page++ {
			out, err := client.FilterLogEvents(ctx(t), in)
			if err != nil {
				t.Fatalf("cycle %d: FilterLogEvents %s page %d: %v", cycle, g, page, err)
			}
			for _, ev := range out.Events {
				e, err := parseCrashMessage(aws.ToString(ev.Message))
				if err != nil {
					t.Errorf("cycle %d: FilterLogEvents %s: %v", cycle, g, err)
					continue
				}
				got := crashEvent{e.key, target{g, aws.ToString(ev.LogStreamName)}, aws.ToInt64(ev.Timestamp)}
				if got != e {
					t.Errorf("cycle %d: event %s stored as %+v, sent as %+v", cycle, e.key, got, e)
				}
				if got.ts < prev {
					t.Errorf("cycle %d: FilterLogEvents %s: event %s (ts %d) after ts %d", cycle, g, e.key, got.ts, prev)
				}
				prev = got.ts
				count[e.key]++
				byStream[e.target]++
			}
			if out.NextToken == nil {
				break
			}
			if page >= maxPages {
				t.Fatalf("cycle %d: FilterLogEvents %s: no end after %d pages (%d distinct events read so far)", cycle, g, page+1, len(count))
			}
			in.NextToken = out.NextToken
		}
	}
	vanished := 0
	for k, c := range count {
		if c > 1 {
			if dups++; dups <= 10 {
				t.Errorf("cycle %d: event %s read %d times", cycle, k, c)
			}
		}
	}
	for k, e := range acked {
		if count[k] == 0 {
			if lost++; lost <= 10 {
				t.Errorf("cycle %d: acknowledged event %s (%s/%s, ts %d) is missing", cycle, k, e.group, e.stream, e.ts)
			}
		}
	}
	for k := range seen {
		if count[k] == 0 {
			if vanished++; vanished <= 10 {
				t.Errorf("cycle %d: event %s, present after an earlier restart, is gone", cycle, k)
			}
		}
	}
	for k := range count {
		seen[k] = true
	}
	if dups+lost+vanished > 0 {
		t.Errorf("cycle %d: %d duplicated, %d acknowledged events lost, %d events vanished", cycle, dups, lost, vanished)
	}
	t.Logf("cycle %d: read back %d distinct events (%d acknowledged, %d unacknowledged survivors)",
		cycle, len(count), len(acked), len(count)-len(acked)+lost)

	// GetLogEvents must agree with FilterLogEvents stream by stream.
	for _, tg := range targets {
		n, token := 0, (*string)(nil)
		for page := 0; ; page++ {
			out, err := client.GetLogEvents(ctx(t), &cloudwatchlogs.GetLogEventsInput{LogGroupName: &tg.group,
				LogStreamName: &tg.stream, StartFromHead: aws.Bool(true), Limit: aws.Int32(10000), NextToken: token})
			if err != nil {
				t.Fatalf("cycle %d: GetLogEvents %s/%s page %d: %v", cycle, tg.group, tg.stream, page, err)
			}
			n += len(out.Events)
			if out.NextForwardToken == nil || aws.ToString(out.NextForwardToken) == aws.ToString(token) {
				break
			}
			if page >= maxPages {
				t.Fatalf("cycle %d: GetLogEvents %s/%s: no end after %d pages (%d events)", cycle, tg.group, tg.stream, page+1, n)
			}
			token = out.NextForwardToken
		}
		if n != byStream[tg] {
			t.Errorf("cycle %d: %s/%s: GetLogEvents returned %d events, FilterLogEvents %d", cycle, tg.group, tg.stream, n, byStream[tg])
		}
	}
	return dups, lost
}

// TestStopDuringIngest sends SIGTERM while the writers are busy: the server
// must exit cleanly in time (server.stop fails the test otherwise) and keep
// every event it acknowledged, exactly once.
func TestStopDuringIngest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServerOn(t, dir)
	targets := []target{{"drain", "s0"}, {"drain", "s1"}}
	create(t, srv.logs(defaultRegion), "drain", "s0", "s1")
	acked := map[string]crashEvent{}
	ingestUntil(t, srv, 0, crashWriters, targets, acked, srv.stop)
	if t.Failed() {
		return
	}
	srv = startServerOn(t, dir)
	verifyAfterCrash(t, srv, 0, []string{"drain"}, targets, acked, map[string]bool{})
}
