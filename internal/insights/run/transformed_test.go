package run_test

import (
	"context"
	"sync"
	"testing"

	"github.com/cairnlog/cairn/internal/insights/run"
	"github.com/cairnlog/cairn/internal/store"
)

// countingView is a TransformedView with fixed versions per append that
// counts how often each append's versions are read (each read stands for
// fetching and decoding the append's whole record).
type countingView struct {
	mu       sync.Mutex
	versions map[uint64][]string
	calls    map[uint64]int
}

func (v *countingView) Transforms(context.Context, store.Scope, string) (bool, error) {
	return true, nil
}

func (v *countingView) Transformed(_ context.Context, _ store.Scope, _ string, seq uint64) (func(store.StoredEvent) (string, bool), error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.calls[seq]++
	tr := v.versions[seq]
	if tr == nil {
		return nil, nil
	}
	return func(ev store.StoredEvent) (string, bool) {
		if k := int(ev.Pos.Index); k < len(tr) {
			return tr[k], true
		}
		return "", false
	}, nil
}

// A re-compacted block holds several appends' events sorted by time, so
// appends whose times overlap interleave event by event; each append's
// versions must still be read once, not at every change of seq.
func TestTransformReadsEachAppendOnce(t *testing.T) {
	view := &countingView{
		versions: map[uint64][]string{
			7: {`{"a":"7.0"}`, `{"a":"7.1"}`, `{"a":"7.2"}`},
			8: {`{"a":"8.0"}`, `{"a":"8.1"}`, `{"a":"8.2"}`},
			9: nil, // not transformed: read as stored
		},
		calls: map[uint64]int{},
	}
	m := run.New(run.Config{Store: open(t), Transformed: view})
	defer m.Close()
	ev := func(seq uint64, idx uint32, msg string) store.StoredEvent {
		return store.StoredEvent{Message: msg, Pos: store.Position{Seq: seq, Index: idx}}
	}
	in := []store.StoredEvent{
		ev(7, 0, "o7.0"), ev(8, 0, "o8.0"), ev(9, 0, "o9.0"),
		ev(7, 1, "o7.1"), ev(8, 1, "o8.1"), ev(9, 1, "o9.1"),
		ev(7, 2, "o7.2"), ev(8, 2, "o8.2"), ev(9, 2, "o9.2"),
	}
	out, err := m.Transform(context.Background(), scope, "g", in)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"a":"7.0"}`, `{"a":"8.0"}`, "o9.0",
		`{"a":"7.1"}`, `{"a":"8.1"}`, "o9.1",
		`{"a":"7.2"}`, `{"a":"8.2"}`, "o9.2",
	}
	for i := range want {
		if out[i].Message != want[i] {
			t.Errorf("event %d: message %q, want %q", i, out[i].Message, want[i])
		}
		if in[i].Message[0] != 'o' {
			t.Errorf("event %d of the input changed: %q", i, in[i].Message)
		}
	}
	for _, seq := range []uint64{7, 8, 9} {
		if n := view.calls[seq]; n != 1 {
			t.Errorf("append %d: versions read %d times, want 1", seq, n)
		}
	}
}
