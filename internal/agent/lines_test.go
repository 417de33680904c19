package agent

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// frame runs input through a framer and grouper in chunks of size chunk.
func frame(fit fitter, start *regexp.Regexp, in string, chunk int) (msgs []string, committed int64) {
	fr := newFramer(fit)
	g := &grouper{start: start, max: fit.max}
	emit := func(m string) { msgs = append(msgs, m) }
	for len(in) > 0 {
		n := min(chunk, len(in))
		fr.feed([]byte(in[:n]), func(line string, end int64) { g.add(line, end, emit) })
		in = in[n:]
	}
	return msgs, g.committed
}

func TestFramer(t *testing.T) {
	fit := newFitter(0, OversizeTruncate, DefaultMarker)
	f := func(in string, want ...string) {
		t.Helper()
		for _, chunk := range []int{1, 3, 1 << 20} {
			got, _ := frame(fit, nil, in, chunk)
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("chunk %d: %q → %q, want %q", chunk, in, got, want)
			}
		}
	}
	f("a\nb\n", "a", "b")
	f("a\r\nb\r\n", "a", "b")
	f("a\n\nb\n", "a", "", "b")
	f("partial") // no newline yet: nothing
	f("x\npartial", "x")
}

func TestFramerLongLines(t *testing.T) {
	fit := newFitter(36, OversizeSplit, "~") // 10 bytes of message, 9 plus marker per piece
	got, _ := frame(fit, nil, "0123456789abcdefghij\nok\n", 4)
	if want := "012345678~|9abcdefgh~|ij|ok"; strings.Join(got, "|") != want {
		t.Errorf("split: %q, want %q", got, want)
	}
	fit = newFitter(36, OversizeTruncate, "~")
	got, committed := frame(fit, nil, "0123456789abcdefghij\nok\n", 4)
	if want := "012345678~|ok"; strings.Join(got, "|") != want {
		t.Errorf("truncate: %q, want %q", got, want)
	}
	if committed != 24 {
		t.Errorf("committed %d, want 24", committed)
	}
}

func TestMultiline(t *testing.T) {
	fit := newFitter(0, OversizeTruncate, DefaultMarker)
	start := regexp.MustCompile(`^\d{4}-`)
	in := "2026-01-01 first\n  at a\n  at b\n2026-01-01 second\n2026-01-01 third\n  more\n"
	got, committed := frame(fit, start, in, 5)
	want := "2026-01-01 first\n  at a\n  at b|2026-01-01 second"
	if strings.Join(got, "|") != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// The third event is still gathering: the offset stops before it.
	if w := int64(strings.Index(in, "2026-01-01 third")); committed != w {
		t.Errorf("committed %d, want %d", committed, w)
	}
}

// FuzzLines checks the framer and grouper on arbitrary input and chunking:
// every message fits, is valid after fitting, and when nothing is cut the
// messages are exactly the input's lines.
func FuzzLines(f *testing.F) {
	f.Add("a\nb\r\nc", 3, 40, false, "")
	f.Add("2026 x\n y\n2026 z\n", 1, 60, true, `^2026`)
	f.Add(strings.Repeat("é", 50)+"\n", 7, 36, true, "")
	f.Fuzz(func(t *testing.T, in string, chunk, maxEvent int, split bool, start string) {
		if chunk <= 0 || chunk > 1<<16 {
			chunk = 1 + (chunk&0xff+0x100)%64
		}
		maxEvent = 36 + (maxEvent&0xffff)%200
		var re *regexp.Regexp
		if start != "" {
			var err error
			if re, err = regexp.Compile(start); err != nil {
				return
			}
		}
		mode := OversizeTruncate
		if split {
			mode = OversizeSplit
		}
		fit := newFitter(maxEvent, mode, "~")
		msgs, committed := frame(fit, re, in, chunk)
		if committed < 0 || committed > int64(len(in)) {
			t.Fatalf("committed %d outside [0, %d]", committed, len(in))
		}
		var fitted []string
		for _, m := range msgs {
			fitted = fit.fit(fitted, m)
		}
		for _, m := range fitted {
			if len(m)+EventOverhead > maxEvent || m == "" || !utf8.ValidString(m) {
				t.Fatalf("bad message %q (max %d)", m, maxEvent)
			}
		}
		// Without cuts, carriage returns or multiline, lines round-trip.
		if re == nil && !strings.Contains(in, "\r") {
			parts := strings.Split(in, "\n")
			complete, partial := parts[:len(parts)-1], parts[len(parts)-1]
			fits := len(partial) <= fit.max-1
			for _, l := range complete {
				fits = fits && len(l) <= fit.max-1
			}
			if fits {
				if strings.Join(msgs, "\n") != strings.Join(complete, "\n") || len(msgs) != len(complete) {
					t.Fatalf("lines %q became %q", complete, msgs)
				}
				if committed != int64(len(in)-len(partial)) {
					t.Fatalf("committed %d, want %d", committed, len(in)-len(partial))
				}
			}
		}
	})
}
