package cwli

import (
	"regexp"
	"strings"
)

// parsePlan is a compiled parse command: a glob with * wildcards or an RE2
// regex with named groups, over any source field.
type parsePlan struct {
	src   expr
	lits  []string // glob: literal text around the wildcards (len = stars+1)
	re    *regexp.Regexp
	slots []int // glob: per wildcard; regex: per capture group (-1: unused)
	multi bool
}

// maxGlobTries bounds how many start positions a glob tries.
const maxGlobTries = 64

func (pl *planner) parseCmd(c *command) (*stage, *CompileError) {
	src, err := pl.compile(c.src)
	if err != nil {
		return nil, err
	}
	pp := &parsePlan{src: src, multi: c.multi}
	if !c.isRegex {
		pp.lits = strings.Split(c.glob, "*")
		for _, a := range c.aliases {
			pp.slots = append(pp.slots, pl.newSlot(a))
		}
		return &stage{kind: sParse, parse: pp}, nil
	}
	re, _, _, rerr := compileRegex(c.regex)
	if rerr != nil {
		return nil, errAt(pl.src, c.pos, c.pos+len(c.regex)+2, "invalid regular expression /"+c.regex+"/: "+rerr.Error())
	}
	pp.re = re
	names := re.SubexpNames()
	pp.slots = make([]int, len(names))
	for i := range pp.slots {
		pp.slots[i] = -1
	}
	if len(c.aliases) > 0 {
		if len(c.aliases) != len(names)-1 {
			return nil, errAt(pl.src, c.pos, c.pos+len(c.regex)+2, "the regular expression has a different number of groups than names after as")
		}
		for i, a := range c.aliases {
			pp.slots[i+1] = pl.newSlot(a)
		}
	} else {
		n := 0
		for i, name := range names {
			if name != "" {
				pp.slots[i] = pl.newSlot(name)
				n++
			}
		}
		if n == 0 {
			return nil, errAt(pl.src, c.pos, c.pos+len(c.regex)+2, "the regular expression of parse needs named groups (?<name>...) or an as list")
		}
	}
	return &stage{kind: sParse, parse: pp}, nil
}

// glob matches s anywhere: each * takes the shortest text up to the next
// literal, the last * the longest (up to the last occurrence of the trailing
// literal, or the end). It writes the captures into out.
func (pp *parsePlan) glob(s string, out []string) bool {
	lits := pp.lits
	first := lits[0]
	from := 0
	for try := 0; try < maxGlobTries; try++ {
		i := strings.Index(s[from:], first)
		if i < 0 {
			return false
		}
		start := from + i + len(first)
		if pp.globAt(s, start, out) {
			return true
		}
		if first == "" {
			return false
		}
		from += i + 1
		if from > len(s) {
			return false
		}
	}
	return false
}

func (pp *parsePlan) globAt(s string, pos int, out []string) bool {
	lits := pp.lits
	n := len(lits) - 1
	for k := 1; k <= n; k++ {
		lit := lits[k]
		rest := s[pos:]
		var j int
		switch {
		case k == n && lit == "":
			j = len(rest)
		case k == n:
			j = strings.LastIndex(rest, lit)
		default:
			if lit == "" {
				j = 0
			} else {
				j = strings.Index(rest, lit)
			}
		}
		if j < 0 {
			return false
		}
		out[k-1] = rest[:j]
		pos += j + len(lit)
	}
	return true
}

func (x *Exec) parseRow(pp *parsePlan, r *row, next func(*row)) {
	v := pp.src.eval(r, &x.env)
	s, ok := v.text()
	if pp.re == nil {
		caps := x.globBuf[:0]
		for range pp.slots {
			caps = append(caps, "")
		}
		x.globBuf = caps
		if ok && pp.glob(s, caps) {
			for i, sl := range pp.slots {
				r.slots[sl] = str(caps[i])
			}
		} else {
			for _, sl := range pp.slots {
				r.slots[sl] = null
			}
		}
		next(r)
		return
	}
	if pp.multi {
		if !ok {
			return
		}
		for _, m := range pp.re.FindAllStringSubmatchIndex(s, -1) {
			pp.setGroups(r, s, m)
			next(r)
		}
		return
	}
	var m []int
	if ok {
		m = pp.re.FindStringSubmatchIndex(s)
	}
	pp.setGroups(r, s, m)
	next(r)
}

func (pp *parsePlan) setGroups(r *row, s string, m []int) {
	for i, sl := range pp.slots {
		if sl < 0 {
			continue
		}
		if m == nil || m[2*i] < 0 {
			r.slots[sl] = null
			continue
		}
		r.slots[sl] = str(s[m[2*i]:m[2*i+1]])
	}
}
