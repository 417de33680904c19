package embedded

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/store"
)

// TestRecompactChild is the process TestRecompactKilled kills: it opens the
// directory in CAIRN_RECOMPACT_CHILD and re-compacts it, saying when it
// starts. Without the variable it does nothing.
func TestRecompactChild(t *testing.T) {
	dir := os.Getenv("CAIRN_RECOMPACT_CHILD")
	if dir == "" {
		t.Skip("the child of TestRecompactKilled")
	}
	e, err := Open(Config{Dir: dir, RecompactInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	// Every step the worker reaches is a line "step <stage>", so the parent
	// can kill it after the k-th, in the middle of the work that follows.
	// CAIRN_RECOMPACT_CHILD_AT=stage:n: SIGKILL this process the n-th time
	// the worker reaches that step.
	stage, nth, _ := strings.Cut(os.Getenv("CAIRN_RECOMPACT_CHILD_AT"), ":")
	want, _ := strconv.Atoi(nth)
	seen := 0
	e.crashPoint = func(s string) {
		if s == stage {
			if seen++; seen == want {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal is on its way
			}
		}
		fmt.Println("step", s)
	}
	fmt.Println("recompacting")
	if _, err := e.RecompactSettled(); err != nil {
		t.Fatal(err)
	}
	fmt.Println("settled")
	e.Close()
}

// TestRecompactKilled: a re-compaction killed with SIGKILL at a step or
// in the work after a random one (mid-merge, between a merge and the
// deletion of its sources' payloads, mid-compaction) loses no event and
// duplicates none: on restart every event reads back once with its
// position, through Read, Scan and the feed, and a new pass finishes the
// work and leaves no garbage behind. It fails if no random kill landed
// before the child finished (such a round checks no crash).
func TestRecompactKilled(t *testing.T) {
	if os.Getenv("CAIRN_RECOMPACT_CHILD") != "" {
		t.Skip("in the child")
	}
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "src")
	e, err := Open(Config{Dir: src, RecompactInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"}); err != nil {
		t.Fatal(err)
	}
	const streams, appends, per = 4, 24, 150
	var want []wantEvent
	gen := bench.NewLineGen(5)
	ts := int64(1_760_000_000_000)
	for s := 0; s < streams; s++ {
		if err := e.CreateStream(ctx, scope, "g", store.Stream{Name: fmt.Sprint("s", s)}); err != nil {
			t.Fatal(err)
		}
	}
	for a := 0; a < appends; a++ {
		for s := 0; s < streams; s++ {
			evs := make([]store.Event, per)
			for i := range evs {
				ts += int64(i % 2)
				evs[i] = store.Event{Timestamp: ts, Message: gen.Line()}
			}
			ingest := int64(1_770_000_000_000 + a*streams + s)
			res, err := e.Append(ctx, scope, "g", fmt.Sprint("s", s), evs, ingest)
			if err != nil {
				t.Fatal(err)
			}
			for i, ev := range evs {
				want = append(want, wantEvent{fmt.Sprint("s", s), ev.Message, ingest, store.Position{Time: ev.Timestamp, Seq: res.Seq, Index: uint32(i)}})
			}
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(want, func(x, y wantEvent) int {
		if x.pos.Less(y.pos) {
			return -1
		}
		return 1
	})
	wantFeed := slices.Clone(want)
	slices.SortFunc(wantFeed, func(x, y wantEvent) int {
		if x.pos.Seq != y.pos.Seq {
			return int(x.pos.Seq) - int(y.pos.Seq)
		}
		return int(x.pos.Index) - int(y.pos.Index)
	})

	rounds := 3 // CAIRN_RECOMPACT_KILL_ROUNDS=n for a longer hunt
	if n, err := strconv.Atoi(os.Getenv("CAIRN_RECOMPACT_KILL_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	// A run left alone says how many steps the work has, so a kill after
	// the k-th step line (k random, short of the last) lands in the work
	// between two steps: mid-merge, mid-commit, mid-sweep, mid-compaction.
	steps, settled := killDuring(t, copyDirTo(t, src), "", 0)
	if !settled || steps < 2 {
		t.Fatalf("a run left alone: %d steps, settled %v", steps, settled)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("%d steps; kill points from seed %d", steps, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	// First at each crash-relevant step, then at random moments.
	stages := []string{"merge-read:1", "merge-committed:1", "merge-committed:3", "swept:2", "compacting:1"}
	cut := 0 // random rounds killed before the work was done
	for round := 0; round < len(stages)+rounds; round++ {
		dir := copyDirTo(t, src)
		k, at := 1+rng.IntN(steps-1), ""
		if round < len(stages) {
			k, at = 0, stages[round] // it kills itself there
		}
		reached, settled := killDuring(t, dir, at, k)
		what := fmt.Sprintf("round %d (killed itself at %s, after %d step lines; it had settled: %v)", round, at, reached, settled)
		if at == "" {
			what = fmt.Sprintf("round %d (killed after step line %d of %d, %d read; it had settled: %v)", round, k, steps, reached, settled)
			if !settled {
				cut++
			}
		}
		e, err := Open(Config{Dir: dir, RecompactInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		if at != "" && settled {
			t.Fatalf("%s: the child never reached %s", what, at)
		}
		check := func(stage string) {
			got, _ := readAll(t, e, store.ReadRequest{Group: scope, Name: "g", Limit: 5000, MaxBytes: 8 << 20})
			sameEvents(t, what+stage+": read", asWant(got), want)
			sameEvents(t, what+stage+": scan", scanAll(t, e, nil), want)
			sameEvents(t, what+stage+": feed", asWant(feedAll(t, e, 0)), wantFeed)
		}
		check("")
		if _, err := e.RecompactSettled(); err != nil {
			t.Fatal(err)
		}
		check(", then finished")
		if n := countKeys(t, e, []byte{tagGarbage}); n != 0 {
			t.Fatalf("%s: %d garbage records left", what, n)
		}
		if n := countKeys(t, e, []byte{tagBlock}); n != streams {
			t.Fatalf("%s: %d blocks, want one a stream", what, n)
		}
		t.Logf("%s: intact", what)
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if cut == 0 {
		t.Fatalf("none of the %d random kills landed before the child finished: the rounds checked no crash", rounds)
	}
}

func copyDirTo(t *testing.T, src string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	copyDir(t, src, dir)
	return dir
}

// killDuring runs TestRecompactChild on dir: with at, it waits for the child
// to kill itself there; otherwise it kills it with SIGKILL as soon as it
// has read the child's k-th step line (k 0: it lets it finish). It reports
// the step lines it read and whether the child had finished.
func killDuring(t *testing.T, dir, at string, k int) (steps int, settled bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRecompactChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CAIRN_RECOMPACT_CHILD="+dir, "CAIRN_RECOMPACT_CHILD_AT="+at)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	started := false
	for !started && lines.Scan() {
		started = lines.Text() == "recompacting"
	}
	if !started {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("the child did not start")
	}
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "step ") {
			if steps++; steps == k {
				_ = cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		settled = settled || lines.Text() == "settled"
	}
	_ = cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	killed := ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
	switch {
	case at != "" && !killed:
		t.Fatalf("the child was to kill itself at %s; it ended with %v", at, cmd.ProcessState)
	case k == 0 && at == "" && !cmd.ProcessState.Success():
		t.Fatalf("the child left alone ended with %v", cmd.ProcessState)
	}
	return steps, settled
}
