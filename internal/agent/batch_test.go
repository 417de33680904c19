package agent

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func evs(n, size int, t0, step int64) []Event {
	out := make([]Event, n)
	for i := range out {
		out[i] = Event{Time: t0 + int64(i)*step, Message: strings.Repeat("x", size)}
	}
	return out
}

func TestBatchLen(t *testing.T) {
	f := func(name string, in []Event, l Limits, want int) {
		t.Helper()
		if got := batchLen(in, l); got != want {
			t.Errorf("%s: batchLen = %d, want %d", name, got, want)
		}
	}
	f("empty", nil, Limits{}, 0)
	f("10,000 events max", evs(10_001, 1, 0, 0), Limits{}, 10_000)
	f("exactly 10,000", evs(10_000, 1, 0, 0), Limits{}, 10_000)
	// 1,048,576 bytes counting 26 per event: 1024 events of 998 bytes fill it exactly.
	f("bytes exactly at the limit", evs(1025, 1024-26, 0, 0), Limits{}, 1024)
	f("bytes one over", append(evs(1023, 1024-26, 0, 0), Event{Message: strings.Repeat("y", 1024-25)}), Limits{}, 1023)
	f("24 h span inclusive", evs(3, 1, 0, MaxBatchSpanMS/2), Limits{}, 3)
	f("24 h span exceeded", evs(3, 1, 0, MaxBatchSpanMS/2+1), Limits{}, 2)
	f("span across unordered events", []Event{{Time: 100}, {Time: 100 + MaxBatchSpanMS}, {Time: 99}}, Limits{}, 2)
	f("one huge event still goes alone", []Event{{Message: strings.Repeat("z", MaxEventBytes-26)}, {Message: "a"}}, Limits{}, 1)
	f("lower test limits", evs(10, 10, 0, 0), Limits{Events: 3}, 3)
}

func TestSortBatchStable(t *testing.T) {
	b := []Event{{3, "c"}, {1, "a1"}, {2, "b"}, {1, "a2"}}
	sortBatch(b)
	var got []string
	for _, e := range b {
		got = append(got, e.Message)
	}
	if strings.Join(got, ",") != "a1,a2,b,c" {
		t.Fatalf("sorted: %v", got)
	}
}

func TestFit(t *testing.T) {
	f := func(maxEvent int, mode Oversize, marker, in string, want ...string) {
		t.Helper()
		got := newFitter(maxEvent, mode, marker).fit(nil, in)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("fit(%d, %s, %q) = %q, want %q", maxEvent, mode, in, got, want)
		}
	}
	// 26 bytes of overhead: 36 leaves 10 bytes of message.
	f(36, OversizeTruncate, "[T]", "0123456789", "0123456789")
	f(36, OversizeTruncate, "[T]", "0123456789abc", "0123456[T]")
	f(36, OversizeSplit, "[S]", "0123456789abcdefghij", "0123456[S]", "789abcd[S]", "efghij")
	f(36, OversizeTruncate, "[T]", "", " ")
	f(36, OversizeTruncate, "", "bad\xffutf8", "bad\uFFFDutf8")
	f(36, OversizeTruncate, "", "bad\xffutf8!", "bad\uFFFDutf8")
	// A rune is never split: "é" is 2 bytes.
	f(36, OversizeSplit, "", "ééééééé", "ééééé", "éé")
	for _, m := range newFitter(0, OversizeSplit, DefaultMarker).fit(nil, strings.Repeat("é", MaxEventBytes)) {
		if len(m)+EventOverhead > MaxEventBytes || !utf8.ValidString(m) {
			t.Fatalf("piece of %d bytes, valid %v", len(m), utf8.ValidString(m))
		}
	}
}

func TestMasker(t *testing.T) {
	m, err := NewMasker([]string{"hunter2", "", "hunter2-long\n"}, []string{`AKIA[0-9A-Z]{16}`})
	if err != nil {
		t.Fatal(err)
	}
	f := func(in, want string) {
		t.Helper()
		if got := m.Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
	f("password hunter2 ok", "password **** ok")
	f("x hunter2-long y", "x **** y")
	f("key AKIAABCDEFGHIJKLMNOP.", "key ****.")
	f("nothing here", "nothing here")
	if _, err := NewMasker(nil, []string{"("}); err == nil {
		t.Fatal("bad regexp accepted")
	}
}
