package delivery

import (
	"slices"
	"strings"
	"unsafe"

	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

// What a filter adds to each event it delivers: "extractedFields", the
// values a space-delimited filter pattern names, and the system fields a
// subscription filter's emitSystemFields asks for.
//
// AWS's own sources show the shape. Its subscription consumer's fixtures
// (amazon-archives/cloudwatch-logs-subscription-consumer, a filter
// [ip, user, verb, status_code, response_size]) give each element of
// logEvents, after id, timestamp and message, an object of the fields by
// name, every value a string; an event matched by a JSON or term pattern
// has none. Consumers that read emitSystemFields' values (Netflix Atlas's
// CloudWatch Logs Firehose endpoint) find "@aws.account" and "@aws.region"
// in that same object. Three points no source settles, decided here: only
// named fields are written, keyed by their names ("ip" for
// TestMetricFilter's "$ip"): a field known by its position (each of []'s,
// those an ellipsis spans: TestMetricFilter's "$1", "$2") is left out, as
// every AWS example has only names, and so [] (every event) adds nothing
// and an event's fields stay within one copy of its message and the
// names; "@source.log" is the log group as
// Logs Insights' @log writes it, "account-id:log-group-name"; the pattern's
// fields come first, in the pattern's order, then the system fields in
// emitSystemFields' order. An event with neither has no extractedFields key
// (docs/subscriptions.md).

// FieldExtractor is a compiled pattern that reports the values of a match
// (*pattern.Pattern): only a space-delimited one yields extractedFields.
type FieldExtractor interface {
	ExtractValues(message string, v *pattern.Values) bool
	HasNamedFields() bool
}

// Fields is what a filter adds to its events' extractedFields; nil adds
// nothing. It is read-only once made.
type Fields struct {
	extract FieldExtractor // nil: the pattern adds no fields
	system  []byte         // the system fields, encoded: `"@aws.account":"…",…` (no braces)
	key     string         // what tells two Fields apart (Filter.same)
}

// NewFields is the Fields of a filter in group of scope whose pattern is
// p (nil, or any Matcher: only a space-delimited FieldExtractor adds
// fields) and whose emitSystemFields is emit; nil when it adds nothing.
func NewFields(p Matcher, emit []string, scope store.Scope, group string) *Fields {
	f := &Fields{}
	if x, ok := p.(FieldExtractor); ok && x.HasNamedFields() {
		f.extract = x
	}
	for _, name := range emit {
		var v string
		switch name {
		case "@aws.account":
			v = scope.Account
		case "@aws.region":
			v = scope.Region
		case "@source.log":
			v = scope.Account + ":" + group
		default:
			continue // PutSubscriptionFilter admits no other
		}
		if len(f.system) > 0 {
			f.system = append(f.system, ',')
		}
		f.system = protocol.AppendJSONString(f.system, name)
		f.system = append(f.system, ':')
		f.system = protocol.AppendJSONString(f.system, v)
	}
	if f.extract == nil && len(f.system) == 0 {
		return nil
	}
	f.key = string(f.system)
	if f.extract != nil {
		f.key = "pattern\x00" + f.key
	}
	return f
}

// same reports whether f and g add the same fields (the pattern itself is
// compared by the Filter's PatternText).
func (f *Fields) same(g *Fields) bool {
	if f == nil || g == nil {
		return f == g
	}
	return f.key == g.key
}

// smallKeys: up to this many values, appendObject finds a key's later
// duplicate by comparing with each; past it, by sorting the keys.
const smallKeys = 16

// fieldScratch is appendObject's working memory, kept between the events
// of a page (build's scratch). Only keys and indices are kept in it, no
// text of a message.
type fieldScratch struct {
	values pattern.Values
	keys   []byte  // the values' keys, back to back
	ends   []int32 // by value: where its key ends in keys
	order  []int32 // the values sorted by key, past smallKeys
	shadow []bool  // by value: a later value has its key
}

// key is value i's key where keys holds it (no copy: appendObject reads
// it before the next event writes keys again).
func (sc *fieldScratch) key(i int) string {
	start := int32(0)
	if i > 0 {
		start = sc.ends[i-1]
	}
	return unsafe.String(unsafe.SliceData(sc.keys[start:]), int(sc.ends[i]-start))
}

// appendObject appends the extractedFields object of an event whose
// delivered message is msg ({…}, the braces included), or nothing when it
// has no field. A key the pattern sets twice (Values keeps both) is
// written once, with its last value, as TestMetricFilter's map has it.
// Past smallKeys values the duplicates are found by a stable sort of the
// keys, held in sc: a map of the keys cost a string each, half a million
// of them for a 1 MB event of one-letter fields under [].
func (f *Fields) appendObject(dst []byte, msg string, sc *fieldScratch) []byte {
	start := len(dst)
	dst = append(dst, '{')
	n := 0
	if v := &sc.values; f.extract != nil && f.extract.ExtractValues(msg, v) {
		sc.keys, sc.ends = sc.keys[:0], sc.ends[:0]
		for i := 0; i < v.Len(); i++ {
			if !v.Named(i) {
				// Not written (a field known by its position); its key
				// marked so that it equals no name ("$1" of [1, b]'s
				// name "1").
				sc.keys = append(sc.keys, 0)
			}
			sc.keys = v.AppendKey(sc.keys, i)
			sc.ends = append(sc.ends, int32(len(sc.keys)))
		}
		sc.shadow = grown(&sc.shadow, v.Len())
		clear(sc.shadow)
		if v.Len() > smallKeys {
			sc.order = sc.order[:0]
			for i := 0; i < v.Len(); i++ {
				sc.order = append(sc.order, int32(i))
			}
			slices.SortStableFunc(sc.order, func(a, b int32) int { return strings.Compare(sc.key(int(a)), sc.key(int(b))) })
			for j := 0; j+1 < len(sc.order); j++ {
				sc.shadow[sc.order[j]] = sc.key(int(sc.order[j])) == sc.key(int(sc.order[j+1]))
			}
		} else {
			for i := 0; i < v.Len(); i++ {
				for j := i + 1; j < v.Len() && !sc.shadow[i]; j++ {
					sc.shadow[i] = sc.key(i) == sc.key(j)
				}
			}
		}
		for i := 0; i < v.Len(); i++ {
			if sc.shadow[i] || !v.Named(i) {
				continue
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = protocol.AppendJSONString(dst, strings.TrimPrefix(sc.key(i), "$"))
			dst = append(dst, ':')
			dst = protocol.AppendJSONString(dst, v.Text(i))
			n++
		}
	}
	if len(f.system) > 0 {
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, f.system...)
		n++
	}
	if n == 0 {
		return dst[:start]
	}
	return append(dst, '}')
}
