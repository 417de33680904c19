package delivery

import (
	"strings"

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
// in that same object. Three points no source settles, decided here: a
// field without a name (a position of [], or one an ellipsis spans) is
// keyed as TestMetricFilter keys it, less its "$" ("1", "2"), as named ones
// are ("ip" for TestMetricFilter's "$ip"); "@source.log" is the log group as
// Logs Insights' @log writes it, "account-id:log-group-name"; the pattern's
// fields come first, in the pattern's order, then the system fields in
// emitSystemFields' order. An event with neither has no extractedFields key
// (docs/subscriptions.md).

// FieldExtractor is a compiled pattern that reports the values of a match
// (*pattern.Pattern): only a space-delimited one yields extractedFields.
type FieldExtractor interface {
	ExtractValues(message string, v *pattern.Values) bool
	IsSpaceDelimited() bool
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
	if x, ok := p.(FieldExtractor); ok && x.IsSpaceDelimited() {
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
// duplicate by comparing with each; past it, from a map.
const smallKeys = 16

// appendObject appends the extractedFields object of an event whose
// delivered message is msg ({…}, the braces included), or nothing when it
// has no field; v is the caller's scratch. A key the pattern sets twice
// (Values keeps both) is written once, with its last value, as
// TestMetricFilter's map has it.
func (f *Fields) appendObject(dst []byte, msg string, v *pattern.Values) []byte {
	start := len(dst)
	dst = append(dst, '{')
	n := 0
	if f.extract != nil && f.extract.ExtractValues(msg, v) {
		var kb, kj [80]byte
		var lastOf map[string]int
		if v.Len() > smallKeys {
			lastOf = make(map[string]int, v.Len())
			for i := 0; i < v.Len(); i++ {
				lastOf[string(v.AppendKey(kb[:0], i))] = i
			}
		}
		for i := 0; i < v.Len(); i++ {
			k := v.AppendKey(kb[:0], i)
			last := true
			if lastOf != nil {
				last = lastOf[string(k)] == i
			} else {
				for j := i + 1; j < v.Len() && last; j++ {
					last = string(v.AppendKey(kj[:0], j)) != string(k)
				}
			}
			if !last {
				continue
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = protocol.AppendJSONString(dst, strings.TrimPrefix(string(k), "$"))
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
