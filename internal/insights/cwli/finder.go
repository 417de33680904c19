package cwli

import "strings"

// finder looks for one literal in message text. strings.Contains jumps to
// the literal's first byte and compares from there; for a JSON key such as
// `"latency_ms"` that byte is the quote, which a JSON line holds a dozen
// times before the key, and an access line several times. finder instead
// jumps (strings.IndexByte, vectorised) to the literal's rarest byte by a
// fixed ranking of how often bytes occur in log lines, and compares the
// whole literal around it. The same idea as the embedded engine's block
// prefilter (internal/store/embedded/prematch.go), kept here because the
// executor must not depend on an engine.
type finder struct {
	s    string
	rare int // index in s of its rarest byte
}

// logByteCommonness lists bytes from the most to the least common in log
// text (English words, numbers, punctuation of access logs and JSON lines);
// bytes it does not list are rarer than all it does.
const logByteCommonness = " e0t1a2o3i4n5s6r7l8h9d.c:u-m/p\"g,f=yTbESAIRNOwv_kCLDP[]{}MxUHGFq()jzBKWVYJQXZ"

func newFinder(s string) finder {
	rank := func(c byte) int {
		if i := strings.IndexByte(logByteCommonness, c); i >= 0 {
			return i
		}
		return len(logByteCommonness)
	}
	f := finder{s: s}
	for i := range len(s) {
		if rank(s[i]) > rank(s[f.rare]) {
			f.rare = i
		}
	}
	return f
}

// in reports whether text holds the literal.
func (f *finder) in(text string) bool {
	if len(f.s) == 0 {
		return true
	}
	c, r := f.s[f.rare], f.rare
	from := r // the rare byte cannot sit before offset r
	for from < len(text) {
		j := strings.IndexByte(text[from:], c)
		if j < 0 {
			return false
		}
		at := from + j - r // where the literal would start
		if at+len(f.s) > len(text) {
			return false
		}
		if text[at:at+len(f.s)] == f.s {
			return true
		}
		from += j + 1
	}
	return false
}
