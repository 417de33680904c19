package agent

import (
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// The PutLogEvents limits (reference/cloudwatch-logs-api.md §3).
const (
	MaxBatchEvents = 10_000
	MaxBatchBytes  = 1_048_576 // Σ(UTF-8 bytes of message + EventOverhead)
	EventOverhead  = 26
	MaxEventBytes  = 1_048_576 // one event, EventOverhead included
	MaxBatchSpanMS = 24 * 60 * 60 * 1000
)

// Event is one log event on its way to PutLogEvents.
type Event struct {
	Time    int64 // milliseconds since the epoch
	Message string
}

func (e Event) size() int { return len(e.Message) + EventOverhead }

// Limits bound one PutLogEvents batch. The zero value means the API's limits;
// tests lower them.
type Limits struct {
	Events int
	Bytes  int
	SpanMS int64
}

func (l Limits) orDefaults() Limits {
	if l.Events <= 0 || l.Events > MaxBatchEvents {
		l.Events = MaxBatchEvents
	}
	if l.Bytes <= 0 || l.Bytes > MaxBatchBytes {
		l.Bytes = MaxBatchBytes
	}
	if l.SpanMS <= 0 || l.SpanMS > MaxBatchSpanMS {
		l.SpanMS = MaxBatchSpanMS
	}
	return l
}

// batchLen returns how many events from the front of evs form the next
// batch: the longest prefix within every limit (at least one event, which
// fit has already made small enough). The prefix is taken in queue order, so
// acknowledging it acknowledges a contiguous stretch of the queue; the caller
// sorts it.
func batchLen(evs []Event, l Limits) int {
	l = l.orDefaults()
	if len(evs) == 0 {
		return 0
	}
	lo, hi := evs[0].Time, evs[0].Time
	bytes := 0
	for i, e := range evs {
		if i == l.Events {
			return i
		}
		lo, hi = min(lo, e.Time), max(hi, e.Time)
		bytes += e.size()
		if i > 0 && (bytes > l.Bytes || hi-lo > l.SpanMS) {
			return i
		}
	}
	return len(evs)
}

// sortBatch puts a batch in the chronological order PutLogEvents demands,
// keeping arrival order among equal timestamps.
func sortBatch(evs []Event) {
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time < evs[j].Time })
}

// Oversize says what happens to an event larger than the maximum.
type Oversize string

const (
	OversizeSplit    Oversize = "split"    // several events, each but the last ending in the marker
	OversizeTruncate Oversize = "truncate" // the first part, ending in the marker; the rest is dropped
)

// DefaultMarker ends a truncated or split event (the CloudWatch agent's text).
const DefaultMarker = "[Truncated...]"

// fitter makes messages acceptable to PutLogEvents: valid UTF-8 (the SDK
// would otherwise replace bad bytes and change the size), non-empty, and no
// larger than the maximum event size.
type fitter struct {
	max    int // message bytes, overhead excluded
	mode   Oversize
	marker string
}

func newFitter(maxEvent int, mode Oversize, marker string) fitter {
	if maxEvent <= 0 || maxEvent > MaxEventBytes {
		maxEvent = MaxEventBytes
	}
	m := maxEvent - EventOverhead
	if len(marker) > m/2 {
		marker = marker[:m/2]
	}
	if mode == "" {
		mode = OversizeTruncate
	}
	return fitter{max: m, mode: mode, marker: strings.ToValidUTF8(marker, "")}
}

// fit returns the messages msg becomes; it appends to out.
func (f fitter) fit(out []string, msg string) []string {
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	if msg == "" {
		// PutLogEvents rejects empty messages; an empty line still happened.
		return append(out, " ")
	}
	for len(msg) > f.max {
		cut := runeCut(msg, f.max-len(f.marker))
		out = append(out, msg[:cut]+f.marker)
		if f.mode == OversizeTruncate {
			return out
		}
		msg = msg[cut:]
	}
	return append(out, msg)
}

// runeCut returns the largest n ≤ limit that does not split a rune (at
// least 1 rune, so progress is guaranteed).
func runeCut(s string, limit int) int {
	if limit >= len(s) {
		return len(s)
	}
	n := limit
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	if n == 0 {
		_, n = utf8.DecodeRuneInString(s)
	}
	return n
}

// Masker replaces secrets in messages before they are queued.
type Masker struct {
	lit *strings.Replacer
	res []*regexp.Regexp
	rep string
}

// MaskReplacement is what a masked secret becomes.
const MaskReplacement = "****"

// NewMasker masks each literal (empty ones ignored; longer ones win over
// their prefixes) and each match of the regular expressions.
func NewMasker(literals []string, patterns []string) (*Masker, error) {
	m := &Masker{rep: MaskReplacement}
	lits := make([]string, 0, len(literals))
	for _, l := range literals {
		if l = strings.TrimRight(l, "\r\n"); l != "" {
			lits = append(lits, l)
		}
	}
	sort.SliceStable(lits, func(i, j int) bool { return len(lits[i]) > len(lits[j]) })
	if len(lits) > 0 {
		pairs := make([]string, 0, 2*len(lits))
		for _, l := range lits {
			pairs = append(pairs, l, m.rep)
		}
		m.lit = strings.NewReplacer(pairs...)
	}
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, err
		}
		m.res = append(m.res, re)
	}
	return m, nil
}

// Mask returns msg with every secret replaced.
func (m *Masker) Mask(msg string) string {
	if m == nil {
		return msg
	}
	if m.lit != nil {
		msg = m.lit.Replace(msg)
	}
	for _, re := range m.res {
		msg = re.ReplaceAllString(msg, m.rep)
	}
	return msg
}
