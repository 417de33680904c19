package cwli

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"sort"
	"unsafe"

	"github.com/cairnlog/cairn/internal/store"
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
//
// It is laid out for a million groups: no pointer per group (the garbage
// collector has nothing to walk) and a few dozen bytes each. Group i's key
// (appendKey of its by values) is arena[koff[i]:koff[i+1]]; an open-
// addressing table of group indexes finds it; its by values are decoded
// back from the key when rows are rendered. When every aggregate is count,
// sum or avg (flat), group i's aggregate k is cnt[i*na+k] and sum[i*na+k];
// otherwise gen[i] holds its aggState values.
type statsState struct {
	sp    *statsPlan
	seed  maphash.Seed
	slots []uint64 // hash's high half << 32 | group index + 1; 0: empty; len a power of two, at most 3/4 used
	arena []byte
	koff  []uint32 // len(groups)+1
	first []int64  // seq of each group's first event: the output order
	na    int
	flat  bool
	ops   []byte // flat: per aggregate 'c' count, 's' sum, 'a' avg
	cnt   []int64
	sum   []float64 // only when some aggregate is a sum or an avg (sums)
	sums  bool
	gen   [][]aggState
	extra map[int32][]Value // by values a key cannot give back (lists, maps)

	key     []byte
	byv     []Value
	args    []Value
	last    int32 // the previous event's group, -1: none (bins: consecutive events share one)
	lastBin int64 // binOnly: last's bucket
}

// perGroup is what a new group costs beyond its key: its offset, first,
// its table slots (the table is kept at most three quarters full: 1.33 to
// 2.67 slots of 8 bytes a group), and the aggregates.
func (s *statsState) perGroup() int64 {
	if s.flat {
		n := 4 + 8 + 12 + int64(s.na)*8
		if s.sums {
			n += int64(s.na) * 8
		}
		return n
	}
	return 4 + 8 + 12 + 24 + int64(s.na)*64
}

func newStatsState(sp *statsPlan) *statsState {
	s := &statsState{sp: sp, seed: maphash.MakeSeed(), byv: make([]Value, len(sp.by)), na: len(sp.aggs), last: -1, koff: []uint32{0}, flat: true}
	for _, a := range sp.aggs {
		switch a.def {
		case aggregates["count"]:
			s.ops = append(s.ops, 'c')
		case aggregates["sum"]:
			s.ops, s.sums = append(s.ops, 's'), true
		case aggregates["avg"]:
			s.ops, s.sums = append(s.ops, 'a'), true
		default:
			s.flat = false
		}
	}
	return s
}

func (s *statsState) len() int { return len(s.first) }

func (s *statsState) keyOf(g int32) []byte { return s.arena[s.koff[g]:s.koff[g+1]] }

// find returns the group of key, or -1, and the slot where it is or would go.
// A slot holds the group's index and the high half of its key's hash, so a
// probe past another key is ruled out there, without reading that group's
// key (a cache miss each in a table of many groups).
func (s *statsState) find(key []byte) (int32, int) {
	if len(s.slots) == 0 {
		return -1, -1
	}
	mask := len(s.slots) - 1
	h := maphash.Bytes(s.seed, key)
	tag := h >> 32 << 32
	i := int(h) & mask
	for {
		e := s.slots[i]
		if e == 0 {
			return -1, i
		}
		if e&^0xffffffff == tag {
			if g := int32(uint32(e)) - 1; string(s.keyOf(g)) == string(key) {
				return g, i
			}
		}
		i = (i + 1) & mask
	}
}

// insert adds a group for key (not present) and returns it and the bytes
// the state grew by.
func (s *statsState) insert(key []byte, seq int64, by []Value) (int32, int64) {
	if 4*(s.len()+1) > 3*len(s.slots) {
		s.grow()
	}
	_, at := s.find(key)
	g := int32(s.len())
	s.slots[at] = slotOf(maphash.Bytes(s.seed, key), g)
	s.arena = append(s.arena, key...)
	s.koff = append(s.koff, uint32(len(s.arena)))
	s.first = append(s.first, seq)
	grew := int64(len(key)) + s.perGroup()
	if s.flat {
		for range s.na {
			s.cnt = append(s.cnt, 0)
			if s.sums {
				s.sum = append(s.sum, 0)
			}
		}
	} else {
		st := make([]aggState, s.na)
		for i, a := range s.sp.aggs {
			st[i] = a.def.newState(a)
		}
		s.gen = append(s.gen, st)
	}
	for i, v := range by {
		if v.k == kList || v.k == kMap {
			if s.extra == nil {
				s.extra = map[int32][]Value{}
			}
			c := make([]Value, len(by))
			for j, w := range by {
				c[j] = keep(w)
			}
			s.extra[g] = c
			for _, w := range by[i:] {
				grew += w.size()
			}
			break
		}
	}
	return g, grew
}

func (s *statsState) grow() {
	n := max(64, 2*len(s.slots))
	s.slots = make([]uint64, n)
	mask := n - 1
	for g := range int32(s.len()) {
		h := maphash.Bytes(s.seed, s.keyOf(g))
		i := int(h) & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = slotOf(h, g)
	}
}

// slotOf is a table slot for group g whose key hashes to h: the high half
// of h, then g+1 (never 0: 0 is an empty slot).
func slotOf(h uint64, g int32) uint64 { return h>>32<<32 | uint64(uint32(g+1)) }

// add folds r into its group and returns the memory it grew by.
func (s *statsState) add(r *row, x *env) int64 {
	sp := s.sp
	if sp.binOnly && s.last >= 0 && r.hasEv && sp.bin.floor(r.ev.Timestamp) == s.lastBin {
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
	if g < 0 || string(s.keyOf(g)) != string(s.key) {
		if g, _ = s.find(s.key); g < 0 {
			g, grew = s.insert(s.key, r.seq, s.byv)
		}
		s.last = g
		if sp.binOnly {
			s.lastBin = int64(s.byv[0].n)
		}
	}
	return grew + s.fold(g, r, x)
}

func (s *statsState) fold(g int32, r *row, x *env) int64 {
	var grew int64
	if s.flat {
		at := int(g) * s.na
		for i, a := range s.sp.aggs {
			switch s.ops[i] {
			case 'c':
				if len(a.args) == 0 || a.args[0].eval(r, x).k != kNull {
					s.cnt[at+i]++
				}
			default:
				if f, ok := a.args[0].eval(r, x).number(); ok {
					s.sum[at+i] += f
					s.cnt[at+i]++
				}
			}
		}
		return 0
	}
	st := s.gen[g]
	for i, a := range s.sp.aggs {
		s.args = s.args[:0]
		for _, e := range a.args {
			s.args = append(s.args, e.eval(r, x))
		}
		grew += st[i].add(s.args, r)
	}
	return grew
}

// result is group g's aggregate k.
func (s *statsState) result(g int32, k int) Value {
	if !s.flat {
		return s.gen[g][k].result()
	}
	at := int(g)*s.na + k
	switch s.ops[k] {
	case 'c':
		return num(float64(s.cnt[at]))
	case 's':
		if s.cnt[at] == 0 {
			return null
		}
		return num(s.sum[at])
	}
	if s.cnt[at] == 0 {
		return null
	}
	return num(s.sum[at] / float64(s.cnt[at]))
}

// mergeFrom folds group h of o (a lane's state of the same stats) into s,
// as if its events had been added here.
func (s *statsState) mergeFrom(o *statsState, h int32) int64 {
	key := o.keyOf(h)
	g, _ := s.find(key)
	var grew int64
	if g < 0 {
		g, grew = s.insert(key, o.first[h], o.byValues(h, nil))
	} else {
		s.first[g] = min(s.first[g], o.first[h])
	}
	if s.flat {
		a, b := int(g)*s.na, int(h)*s.na
		for k := range s.na {
			s.cnt[a+k] += o.cnt[b+k]
			if s.sums {
				s.sum[a+k] += o.sum[b+k]
			}
		}
		return grew
	}
	for k, st := range o.gen[h] {
		s.gen[g][k].merge(st)
	}
	return grew
}

// byValues decodes group g's by values from its key into dst. Strings
// alias the arena, which is only ever appended to.
func (s *statsState) byValues(g int32, dst []Value) []Value {
	if v, ok := s.extra[g]; ok {
		return append(dst, v...)
	}
	k := s.keyOf(g)
	for range s.sp.by {
		v := Value{k: kind(k[0])}
		k = k[1:]
		switch v.k {
		case kTime, kNum, kBool:
			v.n = math.Float64frombits(binary.LittleEndian.Uint64(k))
			k = k[8:]
		case kNull:
		default:
			n, w := binary.Uvarint(k)
			k = k[w:]
			if n > 0 {
				v.s = unsafe.String(&k[0], int(n))
			}
			k = k[n:]
		}
		dst = append(dst, v)
	}
	return dst
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
// stats groups by bin, otherwise in first-seen order; at most limit rows
// when limit > 0 (the caller cuts only when nothing after the stats needs
// every row). A stats without by over no rows still answers one row
// (count() = 0).
func (s *statsState) rows(x *env, nslots, limit int) []*row {
	order := make([]int32, s.len())
	for i := range order {
		order[i] = int32(i)
	}
	// a single state's groups are in first-seen order already
	return s.render(order, x, nslots, limit)
}

func (s *statsState) render(order []int32, x *env, nslots, limit int) []*row {
	sp := s.sp
	if len(order) == 0 && len(sp.by) == 0 {
		e := newStatsState(sp)
		e.insert(nil, 0, nil)
		return e.render([]int32{0}, x, nslots, 0)
	}
	var by []Value
	if b := sp.binAt; b >= 0 {
		bins := make([]float64, s.len())
		for _, g := range order {
			by = s.byValues(g, by[:0])
			bins[g] = by[b].n
		}
		sort.SliceStable(order, func(i, j int) bool { return bins[order[i]] < bins[order[j]] })
	}
	if limit > 0 && len(order) > limit {
		order = order[:limit]
	}
	out := make([]*row, 0, len(order))
	for _, g := range order {
		r := &row{slots: make([]Value, nslots)}
		by = s.byValues(g, by[:0])
		for i, v := range by {
			r.slots[sp.bySlots[i]] = v
		}
		for i, a := range sp.aggs {
			r.slots[a.slot] = s.result(g, i)
		}
		for _, p := range sp.post {
			r.slots[p.slot] = p.e.eval(r, x)
		}
		out = append(out, r)
	}
	return out
}

// mergedRows renders the union of several lanes' states of one stats, each
// group's aggregates merged (into a new state: the lanes keep theirs), in
// the order one serial state would have. With limit > 0 and no bin() only
// the first limit groups in that order are merged: the lanes' groups are
// each in first-seen order, so a merge of the lanes by first seq meets
// every group's first event in order.
func mergedRows(states []*statsState, x *env, nslots, limit int) []*row {
	if len(states) == 1 {
		return states[0].rows(x, nslots, limit)
	}
	sp := states[0].sp
	m := newStatsState(sp)
	if limit > 0 && sp.binAt < 0 {
		pos := make([]int32, len(states))
		for m.len() < limit {
			best := -1
			for i, st := range states {
				if int(pos[i]) < st.len() && (best < 0 || st.first[pos[i]] < states[best].first[pos[best]]) {
					best = i
				}
			}
			if best < 0 {
				break
			}
			key := states[best].keyOf(pos[best])
			pos[best]++
			if g, _ := m.find(key); g >= 0 {
				continue // seen earlier: merged below
			}
			m.insert(key, states[best].first[pos[best]-1], states[best].byValues(pos[best]-1, nil))
		}
		// now fold every lane's share of the chosen groups
		n := int32(m.len())
		tot := newStatsState(sp)
		for g := range n {
			key := m.keyOf(g)
			for _, st := range states {
				if h, _ := st.find(key); h >= 0 {
					tot.mergeFrom(st, h)
				}
			}
		}
		return tot.render(sortedByFirst(tot), x, nslots, limit)
	}
	m, _ = mergeInOrder(states)
	return m.rows(x, nslots, limit)
}

// mergeInOrder merges lanes' states into one whose groups are in first-seen
// order, as a single state's are: the lanes' groups are each in that
// order, so walking them by first seq inserts every group at its first
// event. It returns the memory the new state holds.
func mergeInOrder(states []*statsState) (*statsState, int64) {
	m := newStatsState(states[0].sp)
	var mem int64
	pos := make([]int32, len(states))
	for {
		best := -1
		for i, st := range states {
			if int(pos[i]) < st.len() && (best < 0 || st.first[pos[i]] < states[best].first[pos[best]]) {
				best = i
			}
		}
		if best < 0 {
			return m, mem
		}
		mem += m.mergeFrom(states[best], pos[best])
		pos[best]++
	}
}

func sortedByFirst(s *statsState) []int32 {
	order := make([]int32, s.len())
	for i := range order {
		order[i] = int32(i)
	}
	sort.SliceStable(order, func(i, j int) bool { return s.first[order[i]] < s.first[order[j]] })
	return order
}

// countsOnly reports whether the stats is "count() [, count()...] by
// bin(p)" alone, which AddBlock counts from timestamps without running the
// row machinery (stats count() by bin(5m) reads only timestamps).
func (s *statsState) countsOnly() bool {
	if !s.sp.binOnly || len(s.sp.post) > 0 || !s.flat {
		return false
	}
	for i, a := range s.sp.aggs {
		if s.ops[i] != 'c' || len(a.args) > 0 {
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
	if g < 0 || s.lastBin != b {
		g, grew = s.binGroup(b)
	}
	for k := range s.na {
		s.cnt[int(g)*s.na+k] += n
	}
	return grew
}

// binGroup finds or makes the group of bucket b and makes it the last.
func (s *statsState) binGroup(b int64) (int32, int64) {
	var grew int64
	v := timeMs(b)
	s.key = appendKey(s.key[:0], v)
	g, _ := s.find(s.key)
	if g < 0 {
		g, grew = s.insert(s.key, 0, []Value{v})
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
		if g < 0 || s.lastBin != b {
			var n int64
			g, n = s.binGroup(b)
			grew += n
		}
		for k := range s.na {
			s.cnt[int(g)*s.na+k] += int64(j - i)
		}
		i = j
	}
	return grew
}
