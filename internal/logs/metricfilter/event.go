package metricfilter

import (
	"math"
	"strconv"
	"strings"

	json "github.com/goccy/go-json"

	"github.com/cairnlog/cairn/internal/store"
)

// What a filter makes of one event.
//
// A matching event publishes one datapoint: the constant metricValue, or
// the number its selector extracts, to the series its dimensions' values
// name. A matching event whose value is missing or not a number, or whose
// dimension field is missing, publishes nothing (CloudWatch drops such a
// datapoint). defaultValue is published once for a batch of events
// (one PutLogEvents request of one stream, one block of the feed) in which
// no event matched: AWS publishes it "during a period when logs are
// ingested but no matching logs are found" and a batch is the period
// Cairn's feed has (documented in docs/metrics.md).

// datapoint is one published value and its dimension values, in the
// filter's dims order.
type datapoint struct {
	value float64
	dims  []string
}

// maxDimensionValue bounds an extracted dimension value (the model's
// DimensionsValue bound), so a series key stays small.
const maxDimensionValue = 255

// eventDoc is one message and its JSON decoding, made at most once however
// many filters need a JSON field of it (ten filters on a group decode each
// event once, not ten times).
type eventDoc struct {
	msg     string
	decoded bool
	doc     any
	slash   int8 // 0: not looked yet; 1: no backslash in msg; 2: one
}

func (e *eventDoc) hasBackslash() bool {
	if e.slash == 0 {
		e.slash = 1
		if strings.IndexByte(e.msg, '\\') >= 0 {
			e.slash = 2
		}
	}
	return e.slash == 2
}

// mayMatch is the filter's prefilter: false only when the pattern cannot
// match (a literal every match contains is absent, or a JSON pattern's
// message is no object), at the cost of a byte test and substring
// searches, before the pattern's own evaluation (a JSON pass or a field
// split) runs. The literals are the pattern's Required and
// RequiredUnlessEscaped, the ones the store skips blocks with.
func (c *compiled) mayMatch(ev *eventDoc) bool {
	if c.isJSON {
		i := 0
		for i < len(ev.msg) && (ev.msg[i] == ' ' || ev.msg[i] == '\t' || ev.msg[i] == '\n' || ev.msg[i] == '\r') {
			i++
		}
		if i == len(ev.msg) || ev.msg[i] != '{' {
			return false
		}
	}
	for _, l := range c.req {
		if !strings.Contains(ev.msg, l) {
			return false
		}
	}
	if len(c.reqEsc) > 0 && !ev.hasBackslash() {
		for _, l := range c.reqEsc {
			if !strings.Contains(ev.msg, l) {
				return false
			}
		}
	}
	return true
}

func (e *eventDoc) json() any {
	if !e.decoded {
		e.decoded = true
		d := json.NewDecoder(strings.NewReader(e.msg))
		d.UseNumber()
		if d.Decode(&e.doc) != nil {
			e.doc = nil
		}
	}
	return e.doc
}

// apply runs the filter on one message.
func (c *compiled) apply(msg string, scope store.Scope) (matched bool, dp datapoint, ok bool) {
	return c.applyDoc(&eventDoc{msg: msg}, scope)
}

// applyDoc runs the filter on one event, sharing its JSON decoding.
func (c *compiled) applyDoc(ev *eventDoc, scope store.Scope) (matched bool, dp datapoint, ok bool) {
	msg := ev.msg
	if !c.mayMatch(ev) {
		return false, dp, false
	}
	var vals map[string]string
	if c.extract {
		// Match first: most events do not match, and Match builds no maps
		// (Extract allocates its values for every message it looks at).
		if !c.pattern.Match(msg) {
			return false, dp, false
		}
		matched, vals = c.pattern.Extract(msg)
	} else {
		matched = c.pattern.Match(msg)
	}
	if !matched {
		return false, dp, false
	}
	field := func(s selector) (string, bool) {
		switch s.kind {
		case selSystem:
			if s.raw == "@aws.account" {
				return scope.Account, true
			}
			return scope.Region, true
		case selField:
			v, ok := vals[s.raw]
			return v, ok
		}
		if v, ok := vals[s.raw]; ok {
			return v, true
		}
		doc := ev.json()
		if doc == nil {
			return "", false
		}
		return lookupJSON(doc, s.path)
	}
	if c.value.kind == selConstant {
		dp.value = c.value.num
	} else {
		text, ok := field(c.value)
		if !ok {
			return true, dp, false
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return true, dp, false
		}
		dp.value = v
	}
	if len(c.dims) > 0 {
		dp.dims = make([]string, len(c.dims))
		for i, d := range c.dims {
			v, ok := field(d.sel)
			if !ok || v == "" || len(v) > maxDimensionValue {
				return true, dp, false
			}
			dp.dims[i] = v
		}
	}
	return true, dp, true
}

// scalarText is a JSON scalar's text: strings decoded, numbers as written,
// booleans; null, objects and arrays are not values.
func scalarText(x any) (string, bool) {
	switch v := x.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}
