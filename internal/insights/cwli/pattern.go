package cwli

import (
	"sort"
	"strconv"
	"strings"
)

// The pattern command clusters messages into patterns with counts. The
// clustering sits behind clusterer so a shared implementation (the
// transform-anomaly work's internal/drain) can replace this one.
type clusterer interface {
	// add files a message and returns the memory it grew by.
	add(msg string) int64
	// clusters returns the patterns, most frequent first.
	clusters() []cluster
}

type cluster struct {
	tokens []string // "<*>" marks a variable token
	count  int64
	sample string
}

type patternPlan struct {
	src expr
	// output slots
	patSlot, countSlot, ratioSlot int
}

func (pl *planner) patternCmd(c *command) (*stage, []outCol, *CompileError) {
	src, err := pl.compile(c.src)
	if err != nil {
		return nil, nil, err
	}
	pp := &patternPlan{src: src}
	pl.sc = &scope{names: map[string]int{}, afterStats: true}
	pp.patSlot = pl.newSlot("@pattern")
	pp.ratioSlot = pl.newSlot("@ratio")
	pp.countSlot = pl.newSlot("@sampleCount")
	cols := []outCol{{"@pattern", slotE{pp.patSlot}}, {"@ratio", slotE{pp.ratioSlot}}, {"@sampleCount", slotE{pp.countSlot}}}
	return &stage{kind: sPattern, pat: pp}, cols, nil
}

func (x *Exec) patternRows(pp *patternPlan, rows []*row) ([]*row, error) {
	cl := newDrain()
	var total int64
	for _, r := range rows {
		s, ok := pp.src.eval(r, &x.env).text()
		if !ok {
			continue
		}
		total++
		x.charge(cl.add(s))
		if x.err != nil {
			return nil, x.err
		}
	}
	var out []*row
	for _, c := range cl.clusters() {
		r := &row{slots: make([]Value, x.q.nslots)}
		r.slots[pp.patSlot] = str(renderPattern(c.tokens))
		r.slots[pp.countSlot] = num(float64(c.count))
		r.slots[pp.ratioSlot] = num(float64(c.count) / float64(total))
		out = append(out, r)
	}
	return out, nil
}

// renderPattern writes dynamic tokens as AWS shows the ones whose type it
// does not infer: <Token-N>, N their position among the dynamic tokens.
func renderPattern(toks []string) string {
	var b strings.Builder
	n := 0
	for i, t := range toks {
		if i > 0 {
			b.WriteByte(' ')
		}
		if t == drainVarToken {
			n++
			b.WriteString("<Token-")
			b.WriteString(strconv.Itoa(n))
			b.WriteByte('>')
			continue
		}
		b.WriteString(t)
	}
	return b.String()
}

// drain is a small Drain-style clusterer: messages are split on whitespace,
// tokens holding digits are variables from the start, and a message joins
// the most similar cluster of the same length when at least half of the
// tokens agree; disagreeing positions become "<*>". Clusters per length are
// bounded so memory is too.
type drain struct {
	byLen map[int][]*cluster
	all   []*cluster
	toks  []string
}

const (
	drainSim        = 0.5
	drainMaxPerLen  = 200
	drainMaxTokens  = 100
	drainVarToken   = "<*>"
	drainSampleSize = 512
)

func newDrain() *drain { return &drain{byLen: map[int][]*cluster{}} }

func (d *drain) add(msg string) int64 {
	toks := d.toks[:0]
	for _, t := range strings.Fields(msg) {
		if len(toks) == drainMaxTokens {
			break
		}
		if strings.ContainsAny(t, "0123456789") {
			t = drainVarToken
		}
		toks = append(toks, t)
	}
	d.toks = toks
	n := len(toks)
	var best *cluster
	bestSim := -1.0
	for _, c := range d.byLen[n] {
		same := 0
		for i, t := range c.tokens {
			if t == toks[i] {
				same++
			}
		}
		sim := 1.0
		if n > 0 {
			sim = float64(same) / float64(n)
		}
		if sim > bestSim {
			best, bestSim = c, sim
		}
	}
	if best != nil && (bestSim >= drainSim || len(d.byLen[n]) >= drainMaxPerLen) {
		for i, t := range best.tokens {
			if t != toks[i] {
				best.tokens[i] = drainVarToken
			}
		}
		best.count++
		return 0
	}
	c := &cluster{tokens: make([]string, n), count: 1}
	var grew int64 = 64
	for i, t := range toks {
		c.tokens[i] = strings.Clone(t)
		grew += int64(len(t) + 16)
	}
	if len(msg) > drainSampleSize {
		msg = msg[:drainSampleSize]
	}
	c.sample = strings.Clone(msg)
	grew += int64(len(c.sample))
	d.byLen[n] = append(d.byLen[n], c)
	d.all = append(d.all, c)
	return grew
}

func (d *drain) clusters() []cluster {
	out := make([]cluster, len(d.all))
	for i, c := range d.all {
		out[i] = *c
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].count > out[j].count })
	return out
}

var _ clusterer = (*drain)(nil)
