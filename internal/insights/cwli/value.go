package cwli

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// kind is the type of a Value.
type kind uint8

const (
	kNull kind = iota
	kStr       // text; numeric when it parses as a number (raw field values)
	kNum       // a computed number
	kBool      // rendered 1/0 (see render)
	kTime      // epoch milliseconds in n, rendered "2006-01-02 15:04:05.000"
	kList      // from jsonParse/split: c.list
	kMap       // from jsonParse/logfmt: c.keys/c.vals
)

// Value is one field value. Raw field values stay text (kStr) so they render
// exactly as ingested; functions and arithmetic read them as numbers when
// they parse as one.
type Value struct {
	k kind
	s string
	n float64
	c *composite
}

type composite struct {
	list []Value
	keys []string
	vals []Value
}

var null = Value{}

func str(s string) Value    { return Value{k: kStr, s: s} }
func num(f float64) Value   { return Value{k: kNum, n: f} }
func timeMs(ms int64) Value { return Value{k: kTime, n: float64(ms)} }
func boolean(b bool) Value {
	if b {
		return Value{k: kBool, n: 1}
	}
	return Value{k: kBool}
}

func (v Value) isNull() bool { return v.k == kNull }

// number reads v as a number.
func (v Value) number() (float64, bool) {
	switch v.k {
	case kNum, kTime, kBool:
		return v.n, true
	case kStr:
		return parseNumber(v.s)
	}
	return 0, false
}

// parseNumber accepts decimal numbers only (no hex, no "Inf"/"NaN"), which is
// what a log field holding a number looks like.
func parseNumber(s string) (float64, bool) {
	if s == "" || len(s) > 64 {
		return 0, false
	}
	c := s[0]
	if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.') {
		return 0, false
	}
	// Fast path for plain integers.
	neg, i := false, 0
	if c == '-' || c == '+' {
		neg, i = c == '-', 1
	}
	if i < len(s) && len(s)-i <= 15 {
		var n int64
		j := i
		for ; j < len(s); j++ {
			d := s[j]
			if d < '0' || d > '9' {
				break
			}
			n = n*10 + int64(d-'0')
		}
		if j == len(s) && j > i {
			if neg {
				n = -n
			}
			return float64(n), true
		}
	}
	for _, r := range s[i:] {
		if !(r >= '0' && r <= '9' || r == '.' || r == 'e' || r == 'E' || r == '-' || r == '+') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// text reads v as a string (numbers in their rendered form). Maps and lists
// are not strings: functions treat them as null.
func (v Value) text() (string, bool) {
	switch v.k {
	case kStr:
		return v.s, true
	case kNum, kBool, kTime:
		return v.render(), true
	}
	return "", false
}

// truth is v used as a condition.
func (v Value) truth() bool {
	switch v.k {
	case kBool, kNum, kTime:
		return v.n != 0
	case kStr:
		if f, ok := parseNumber(v.s); ok {
			return f != 0
		}
		return v.s != "" && v.s != "false"
	case kList, kMap:
		return true
	}
	return false
}

const tsLayout = "2006-01-02 15:04:05.000"

func formatTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(tsLayout)
}

// formatNumber writes integers as digits and other numbers in their shortest
// decimal form (insights.md §6.3).
func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e18 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// render is how GetQueryResults shows v. Booleans render as 1/0: AWS's
// documentation calls its boolean functions' results "1"/"0" in several
// places (jsonArrayContains "true (1) … false (0)", strcontains) and the
// reference recommends it (insights.md §3).
func (v Value) render() string {
	switch v.k {
	case kStr:
		return v.s
	case kNum:
		return formatNumber(v.n)
	case kBool:
		if v.n != 0 {
			return "1"
		}
		return "0"
	case kTime:
		return formatTime(int64(v.n))
	case kList, kMap:
		var b strings.Builder
		writeJSON(&b, v)
		return b.String()
	}
	return ""
}

func writeJSON(b *strings.Builder, v Value) {
	switch v.k {
	case kNull:
		b.WriteString("null")
	case kNum, kBool:
		if v.k == kBool {
			if v.n != 0 {
				b.WriteString("true")
			} else {
				b.WriteString("false")
			}
			return
		}
		b.WriteString(formatNumber(v.n))
	case kStr, kTime:
		b.WriteString(strconv.Quote(v.render()))
	case kList:
		b.WriteByte('[')
		for i, e := range v.c.list {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case kMap:
		b.WriteByte('{')
		for i, k := range v.c.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			writeJSON(b, v.c.vals[i])
		}
		b.WriteByte('}')
	}
}

// compare orders two non-null scalar values: numerically when both read as
// numbers, else as strings (insights.md §2.3 filter). ok is false when
// either is a map or list (comparisons with them are false).
func compare(a, b Value) (int, bool) {
	if a.k == kList || a.k == kMap || b.k == kList || b.k == kMap || a.k == kNull || b.k == kNull {
		return 0, false
	}
	if x, ok := a.number(); ok {
		if y, ok := b.number(); ok {
			switch {
			case x < y:
				return -1, true
			case x > y:
				return 1, true
			}
			return 0, true
		}
	}
	as, _ := a.text()
	bs, _ := b.text()
	return strings.Compare(as, bs), true
}

// size estimates the memory a value holds, for MaxMemory accounting.
func (v Value) size() int64 {
	n := int64(40 + len(v.s))
	if v.c != nil {
		for _, e := range v.c.list {
			n += e.size()
		}
		for i, k := range v.c.keys {
			n += int64(len(k)+16) + v.c.vals[i].size()
		}
	}
	return n
}
