package cwli

import (
	"math"
	"sort"
	"strings"
)

// aggDef is a stats function (insights.md §4).
type aggDef struct {
	min, max int
	star     bool // count(*) / count()
	newState func(spec *aggSpec) aggState
}

// aggState accumulates one aggregate of one group. add returns the bytes
// the state grew by, for MaxMemory.
type aggState interface {
	add(a []Value, r *row) int64
	result() Value
	// merge folds in the state of the same aggregate over other events
	// (a parallel lane's), as if they had been added here; o is not
	// changed. clone copies the state.
	merge(o aggState)
	clone() aggState
}

// aggSpec is one aggregate call inside a stats command.
type aggSpec struct {
	def  *aggDef
	args []expr
	p    float64 // pct's percentile
	slot int     // where the result goes in the output row
}

var aggregates map[string]*aggDef

func init() {
	aggregates = map[string]*aggDef{
		"count":          {min: 0, max: 1, star: true, newState: func(*aggSpec) aggState { return &countAgg{} }},
		"count_distinct": {min: 1, max: 1, newState: func(*aggSpec) aggState { return newDistinct() }},
		"sum":            {min: 1, max: 1, newState: func(*aggSpec) aggState { return &sumAgg{} }},
		"avg":            {min: 1, max: 1, newState: func(*aggSpec) aggState { return &sumAgg{avg: true} }},
		"stddev":         {min: 1, max: 1, newState: func(*aggSpec) aggState { return &stddevAgg{} }},
		"min":            {min: 1, max: 1, newState: func(*aggSpec) aggState { return &extremeAgg{sign: -1} }},
		"max":            {min: 1, max: 1, newState: func(*aggSpec) aggState { return &extremeAgg{sign: 1} }},
		"pct":            {min: 2, max: 2, newState: func(s *aggSpec) aggState { return &pctAgg{p: s.p} }},
		"percentile":     {min: 2, max: 2, newState: func(s *aggSpec) aggState { return &pctAgg{p: s.p} }},
		"earliest":       {min: 1, max: 1, newState: func(*aggSpec) aggState { return &timeAgg{sign: -1} }},
		"latest":         {min: 1, max: 1, newState: func(*aggSpec) aggState { return &timeAgg{sign: 1} }},
		"sortsfirst":     {min: 1, max: 1, newState: func(*aggSpec) aggState { return &sortsAgg{sign: -1} }},
		"sortslast":      {min: 1, max: 1, newState: func(*aggSpec) aggState { return &sortsAgg{sign: 1} }},
	}
}

// countAgg: count() counts rows, count(f) rows where f is present.
type countAgg struct{ n int64 }

func (c *countAgg) add(a []Value, _ *row) int64 {
	if len(a) == 0 || a[0].k != kNull {
		c.n++
	}
	return 0
}
func (c *countAgg) result() Value    { return num(float64(c.n)) }
func (c *countAgg) merge(o aggState) { c.n += o.(*countAgg).n }
func (c *countAgg) clone() aggState  { d := *c; return &d }

// sumAgg is sum and avg over the numeric values (others skipped); with no
// numeric value the result is null.
type sumAgg struct {
	sum float64
	n   int64
	avg bool
}

func (s *sumAgg) add(a []Value, _ *row) int64 {
	if f, ok := a[0].number(); ok {
		s.sum += f
		s.n++
	}
	return 0
}

func (s *sumAgg) merge(o aggState) {
	x := o.(*sumAgg)
	s.sum += x.sum
	s.n += x.n
}
func (s *sumAgg) clone() aggState { d := *s; return &d }

func (s *sumAgg) result() Value {
	if s.n == 0 {
		return null
	}
	if s.avg {
		return num(s.sum / float64(s.n))
	}
	return num(s.sum)
}

// stddevAgg is the sample standard deviation (Welford), as AWS's
// documentation calls it "the standard deviation of the values".
type stddevAgg struct {
	n        int64
	mean, m2 float64
}

func (s *stddevAgg) add(a []Value, _ *row) int64 {
	f, ok := a[0].number()
	if !ok {
		return 0
	}
	s.n++
	d := f - s.mean
	s.mean += d / float64(s.n)
	s.m2 += d * (f - s.mean)
	return 0
}

// merge combines two Welford states (Chan et al.'s parallel form).
func (s *stddevAgg) merge(o aggState) {
	x := o.(*stddevAgg)
	if x.n == 0 {
		return
	}
	if s.n == 0 {
		*s = *x
		return
	}
	n := s.n + x.n
	d := x.mean - s.mean
	s.m2 += x.m2 + d*d*float64(s.n)*float64(x.n)/float64(n)
	s.mean += d * float64(x.n) / float64(n)
	s.n = n
}
func (s *stddevAgg) clone() aggState { d := *s; return &d }

func (s *stddevAgg) result() Value {
	if s.n == 0 {
		return null
	}
	if s.n == 1 {
		return num(0)
	}
	return num(math.Sqrt(s.m2 / float64(s.n-1)))
}

// extremeAgg is min/max: numbers numerically, otherwise as strings (a number
// ranks below text for min... compare decides).
type extremeAgg struct {
	v    Value
	seq  int64 // of the event v came from: the first of equals wins
	has  bool
	sign int
}

func (e *extremeAgg) add(a []Value, r *row) int64 {
	v := a[0]
	if v.k == kNull || v.k == kList || v.k == kMap {
		return 0
	}
	if !e.has {
		e.v, e.seq, e.has = keep(v), r.seq, true
		return v.size()
	}
	if c, ok := compare(v, e.v); ok && c*e.sign > 0 {
		old := e.v.size()
		e.v, e.seq = keep(v), r.seq
		return e.v.size() - old
	}
	return 0
}

func (e *extremeAgg) merge(o aggState) {
	x := o.(*extremeAgg)
	if !x.has {
		return
	}
	if !e.has {
		*e = *x
		return
	}
	if c, ok := compare(x.v, e.v); ok && (c*e.sign > 0 || c == 0 && x.seq < e.seq) {
		e.v, e.seq = x.v, x.seq
	}
}
func (e *extremeAgg) clone() aggState { d := *e; return &d }

func (e *extremeAgg) result() Value {
	if !e.has {
		return null
	}
	return e.v
}

// timeAgg is earliest/latest: f of the event with the lowest/highest
// @timestamp among those that have f.
type timeAgg struct {
	v    Value
	ts   int64
	seq  int64
	has  bool
	sign int
}

func (t *timeAgg) add(a []Value, r *row) int64 {
	v := a[0]
	if v.k == kNull || !r.hasEv {
		return 0
	}
	ts := r.ev.Timestamp
	if !t.has || (ts-t.ts)*int64(t.sign) > 0 {
		old := t.v.size()
		t.v, t.ts, t.seq, t.has = keep(v), ts, r.seq, true
		return t.v.size() - old
	}
	return 0
}

func (t *timeAgg) merge(o aggState) {
	x := o.(*timeAgg)
	if !x.has {
		return
	}
	if !t.has || (x.ts-t.ts)*int64(t.sign) > 0 || x.ts == t.ts && x.seq < t.seq {
		*t = *x
	}
}
func (t *timeAgg) clone() aggState { d := *t; return &d }

func (t *timeAgg) result() Value {
	if !t.has {
		return null
	}
	return t.v
}

// sortsAgg is sortsFirst/sortsLast: by the sort command's order.
type sortsAgg struct {
	v    Value
	seq  int64
	has  bool
	sign int
}

func (s *sortsAgg) merge(o aggState) {
	x := o.(*sortsAgg)
	if !x.has {
		return
	}
	if !s.has {
		*s = *x
		return
	}
	if c := naturalCompare(x.v, s.v) * s.sign; c > 0 || c == 0 && x.seq < s.seq {
		s.v, s.seq = x.v, x.seq
	}
}
func (s *sortsAgg) clone() aggState { d := *s; return &d }

func (s *sortsAgg) add(a []Value, r *row) int64 {
	v := a[0]
	if v.k == kNull || v.k == kList || v.k == kMap {
		return 0
	}
	if !s.has || naturalCompare(v, s.v)*s.sign > 0 {
		old := s.v.size()
		s.v, s.seq, s.has = keep(v), r.seq, true
		return s.v.size() - old
	}
	return 0
}

func (s *sortsAgg) result() Value {
	if !s.has {
		return null
	}
	return s.v
}

// pctAgg keeps the numeric values (8 bytes each, charged to MaxMemory) and
// answers by nearest rank: the smallest value with at least p% of the values
// at or below it.
type pctAgg struct {
	p      float64
	vals   []float64
	sorted bool
}

func (s *pctAgg) add(a []Value, _ *row) int64 {
	f, ok := a[0].number()
	if !ok {
		return 0
	}
	s.vals = append(s.vals, f)
	s.sorted = false
	return 8
}

func (s *pctAgg) merge(o aggState) {
	s.vals = append(s.vals, o.(*pctAgg).vals...)
	s.sorted = false
}
func (s *pctAgg) clone() aggState {
	return &pctAgg{p: s.p, vals: append([]float64(nil), s.vals...), sorted: s.sorted}
}

func (s *pctAgg) result() Value {
	if len(s.vals) == 0 {
		return null
	}
	if !s.sorted {
		sort.Float64s(s.vals)
		s.sorted = true
	}
	rank := int(math.Ceil(s.p / 100 * float64(len(s.vals))))
	rank = max(1, min(rank, len(s.vals)))
	return num(s.vals[rank-1])
}

// keep copies a value's text out of the event's memory, since aggregation
// state outlives the block it came from.
func keep(v Value) Value {
	if v.k == kStr {
		v.s = strings.Clone(v.s)
	}
	return v
}
