package cwli

import (
	"encoding/binary"

	"github.com/cairnlog/cairn/internal/store"
	"math"
	"sort"
)

// statsPlan is a compiled stats command.
type statsPlan struct {
	by      []expr // evaluated in the input scope
	bySlots []int  // where each by value goes in the output row
	binAt   int    // index of the first bin() term in by, -1 if none
	binOnly bool   // by is exactly one bin(): bin
	bin     duration
	aggs    []*aggSpec
	post    []slotSet // output expressions over aggregates (sum(x)/count())
	nslots  int       // output row width (the query's slot count)
}

func (pl *planner) statsCmd(c *command) (*statsPlan, []outCol, *CompileError) {
	sp := &statsPlan{binAt: -1}
	type pending struct {
		name string
		e    expr
	}
	// by terms and aggregate arguments read the input scope
	var byNames []string
	for i, b := range c.by {
		e, err := pl.compile(b.e)
		if err != nil {
			return nil, nil, err
		}
		if _, ok := e.(binE); ok && sp.binAt < 0 {
			sp.binAt = i
		}
		sp.by = append(sp.by, e)
		name := b.alias
		if name == "" {
			if b.e.op == "field" {
				name = b.e.name
			} else {
				name = b.text
			}
		}
		byNames = append(byNames, name)
	}
	if len(sp.by) == 1 && sp.binAt == 0 {
		sp.binOnly, sp.bin = true, sp.by[0].(binE).d
	}
	pl.inStat = sp
	var outs []pending
	for _, p := range c.projs {
		n0 := len(sp.aggs)
		e, err := pl.compile(p.e)
		if err != nil {
			pl.inStat = nil
			return nil, nil, err
		}
		if len(sp.aggs) == n0 {
			pl.inStat = nil
			return nil, nil, pl.errNode(p.e, "stats needs an aggregate function such as count(), sum or avg: %s", p.text)
		}
		name := p.alias
		if name == "" {
			name = p.text
		}
		outs = append(outs, pending{name, e})
	}
	pl.inStat = nil
	// the output scope: only by terms and aggregates exist from here on
	pl.sc = &scope{names: map[string]int{}, afterStats: true}
	var cols []outCol
	for _, n := range byNames {
		s := pl.newSlot(n)
		sp.bySlots = append(sp.bySlots, s)
		cols = addCol(cols, outCol{n, slotE{s}})
	}
	for _, o := range outs {
		if se, ok := o.e.(slotE); ok {
			// a bare aggregate: its result slot is the column
			pl.sc.names[o.name] = se.i
			cols = addCol(cols, outCol{o.name, se})
			continue
		}
		s := pl.newSlot(o.name)
		sp.post = append(sp.post, slotSet{s, o.e})
		cols = addCol(cols, outCol{o.name, slotE{s}})
	}
	return sp, cols, nil
}

// aggCall registers an aggregate of the stats being compiled and stands
// for its result slot.
func (pl *planner) aggCall(n *node, a *aggDef) (expr, *CompileError) {
	sp := pl.inStat
	if sp == nil {
		return nil, pl.errNode(n, "the aggregate function %s can be used only in stats", n.name)
	}
	if len(n.kids) < a.min || len(n.kids) > a.max {
		return nil, pl.errNode(n, "wrong number of arguments for %s: %d", n.name, len(n.kids))
	}
	spec := &aggSpec{def: a}
	for i, k := range n.kids {
		if k.op == "star" {
			if !a.star {
				return nil, pl.errNode(k, "%s(*) is not allowed", n.name)
			}
			continue
		}
		if (n.name == "pct" || n.name == "percentile") && i == 1 {
			if k.op != "lit" || k.lit.k != kNum || k.lit.n < 0 || k.lit.n > 100 {
				return nil, pl.errNode(k, "the percentile must be a number between 0 and 100")
			}
			spec.p = k.lit.n
			continue
		}
		save := pl.inStat
		pl.inStat = nil // no aggregates inside aggregates
		e, err := pl.compile(k)
		pl.inStat = save
		if err != nil {
			return nil, err
		}
		spec.args = append(spec.args, e)
	}
	spec.slot = pl.q.nslots
	pl.q.nslots++
	sp.aggs = append(sp.aggs, spec)
	return slotE{spec.slot}, nil
}

// statsState is a running stats: groups by key, in first-seen order.
type statsState struct {
	sp      *statsPlan
	groups  map[string]*group
	order   []*group
	key     []byte
	byv     []Value
	last    *group // the previous event's group: consecutive events usually share one (bin)
	lastBin int64  // binOnly: last's bucket
	args    []Value
}

type group struct {
	key   string
	by    []Value
	aggs  []aggState
	first int64 // seq of the group's first event: the output order
}

func newStatsState(sp *statsPlan) *statsState {
	return &statsState{sp: sp, groups: map[string]*group{}, byv: make([]Value, len(sp.by))}
}

// add folds r into its group and returns the memory it grew by.
func (s *statsState) add(r *row, x *env) int64 {
	sp := s.sp
	if sp.binOnly && s.last != nil && r.hasEv && sp.bin.floor(r.ev.Timestamp) == s.lastBin {
		// consecutive events of a block mostly share their bucket
		return s.fold(s.last, r, x)
	}
	s.key = s.key[:0]
	for i, b := range sp.by {
		v := b.eval(r, x)
		s.byv[i] = v
		s.key = appendKey(s.key, v)
	}
	var grew int64
	g := s.last
	if g == nil || g.key != string(s.key) {
		g = s.groups[string(s.key)]
		if g == nil {
			g = &group{key: string(s.key), by: make([]Value, len(s.byv)), aggs: make([]aggState, len(sp.aggs)), first: r.seq}
			for i, v := range s.byv {
				g.by[i] = keep(v)
				grew += v.size()
			}
			for i, a := range sp.aggs {
				g.aggs[i] = a.def.newState(a)
			}
			s.groups[g.key] = g
			s.order = append(s.order, g)
			grew += int64(2*len(g.key)) + 96 + int64(len(sp.aggs))*48
		}
		s.last = g
		if sp.binOnly {
			s.lastBin = int64(s.byv[0].n)
		}
	}
	return grew + s.fold(g, r, x)
}

func (s *statsState) fold(g *group, r *row, x *env) int64 {
	var grew int64
	for i, a := range s.sp.aggs {
		s.args = s.args[:0]
		for _, e := range a.args {
			s.args = append(s.args, e.eval(r, x))
		}
		grew += g.aggs[i].add(s.args, r)
	}
	return grew
}

// appendKey encodes a value for grouping: kind byte, then its text, with a
// length so that keys of several values cannot collide.
func appendKey(b []byte, v Value) []byte {
	b = append(b, byte(v.k))
	switch v.k {
	case kTime, kNum, kBool:
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(v.n))
	case kNull:
		return b
	case kStr:
		b = binary.AppendUvarint(b, uint64(len(v.s)))
		return append(b, v.s...)
	}
	s := v.render()
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// rows renders the groups as output rows: by bin() ascending when the
// stats groups by bin, otherwise in first-seen order. A stats without by
// over no rows still answers one row (count() = 0).
func (s *statsState) rows(x *env, nslots int) []*row { return rowsOf(s.sp, s.order, x, nslots) }

// mergedRows renders the union of several lanes' states of one stats, each
// group's aggregates merged (into copies: the lanes keep theirs), in the
// order one serial state would have.
func mergedRows(states []*statsState, x *env, nslots int) []*row {
	if len(states) == 1 {
		return states[0].rows(x, nslots)
	}
	at := map[string]int{}
	var parts [][]*group // per key, its groups in the lanes
	for _, st := range states {
		for _, g := range st.order {
			i, ok := at[g.key]
			if !ok {
				i = len(parts)
				at[g.key] = i
				parts = append(parts, nil)
			}
			parts[i] = append(parts[i], g)
		}
	}
	gs := make([]*group, len(parts))
	for i, p := range parts {
		g := p[0]
		if len(p) > 1 {
			g = cloneGroup(g)
			for _, o := range p[1:] {
				for k, a := range o.aggs {
					g.aggs[k].merge(a)
				}
				g.first = min(g.first, o.first)
			}
		}
		gs[i] = g
	}
	sort.SliceStable(gs, func(i, j int) bool { return gs[i].first < gs[j].first })
	return rowsOf(states[0].sp, gs, x, nslots)
}

func cloneGroup(g *group) *group {
	c := &group{key: g.key, by: g.by, aggs: make([]aggState, len(g.aggs)), first: g.first}
	for i, a := range g.aggs {
		c.aggs[i] = a.clone()
	}
	return c
}

func rowsOf(sp *statsPlan, gs []*group, x *env, nslots int) []*row {
	if len(gs) == 0 && len(sp.by) == 0 {
		g := &group{aggs: make([]aggState, len(sp.aggs))}
		for i, a := range sp.aggs {
			g.aggs[i] = a.def.newState(a)
		}
		gs = []*group{g}
	}
	if b := sp.binAt; b >= 0 {
		gs = append([]*group(nil), gs...)
		sort.SliceStable(gs, func(i, j int) bool { return gs[i].by[b].n < gs[j].by[b].n })
	}
	out := make([]*row, 0, len(gs))
	for _, g := range gs {
		r := &row{slots: make([]Value, nslots)}
		for i, v := range g.by {
			r.slots[sp.bySlots[i]] = v
		}
		for i, a := range sp.aggs {
			r.slots[a.slot] = g.aggs[i].result()
		}
		for _, p := range sp.post {
			r.slots[p.slot] = p.e.eval(r, x)
		}
		out = append(out, r)
	}
	return out
}

// countsOnly reports whether the stats is "count() [, count()...] by
// bin(p)" alone, which AddBlock counts from timestamps without running the
// row machinery (stats count() by bin(5m) reads only timestamps).
func (s *statsState) countsOnly() bool {
	if !s.sp.binOnly || len(s.sp.post) > 0 {
		return false
	}
	for _, a := range s.sp.aggs {
		if _, ok := a.def.newState(a).(*countAgg); !ok || len(a.args) > 0 {
			return false
		}
	}
	return true
}

// countSummary adds n events whose timestamps all share ts's bin.
func (s *statsState) countSummary(ts, n int64) int64 {
	var grew int64
	b := s.sp.bin.floor(ts)
	g := s.last
	if g == nil || s.lastBin != b {
		g, grew = s.binGroup(b)
	}
	for _, a := range g.aggs {
		a.(*countAgg).n += n
	}
	return grew
}

// binGroup finds or makes the group of bucket b and makes it the last.
func (s *statsState) binGroup(b int64) (*group, int64) {
	var grew int64
	s.key = appendKey(s.key[:0], timeMs(b))
	g := s.groups[string(s.key)]
	if g == nil {
		g = &group{key: string(s.key), by: []Value{timeMs(b)}, aggs: make([]aggState, len(s.sp.aggs))}
		for k, a := range s.sp.aggs {
			g.aggs[k] = a.def.newState(a)
		}
		s.groups[g.key] = g
		s.order = append(s.order, g)
		grew += int64(2*len(g.key)) + 96 + int64(len(s.sp.aggs))*48
	}
	s.last, s.lastBin = g, b
	return g, grew
}

// countBins adds a block's events to their buckets, a run of equal buckets
// at a time.
func (s *statsState) countBins(evs []store.StoredEvent) int64 {
	var grew int64
	d := s.sp.bin
	for i := 0; i < len(evs); {
		b := d.floor(evs[i].Timestamp)
		end := d.ceil(b + 1) // the next bucket's start
		j := i + 1
		for j < len(evs) && evs[j].Timestamp >= b && evs[j].Timestamp < end {
			j++
		}
		g := s.last
		if g == nil || s.lastBin != b {
			var n int64
			g, n = s.binGroup(b)
			grew += n
		}
		for _, a := range g.aggs {
			a.(*countAgg).n += int64(j - i)
		}
		i = j
	}
	return grew
}
