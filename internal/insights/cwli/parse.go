package cwli

import (
	"regexp"
	"strings"
)

// parsePlan is a compiled parse command: a glob with * wildcards or an RE2
// regex with named groups, over any source field.
type parsePlan struct {
	src    expr
	lits   []string // glob: literal text around the wildcards (len = stars+1)
	re     *regexp.Regexp
	slots  []int // glob: per wildcard; regex: per capture group (-1: unused); csv: per column
	multi  bool
	format string // "logfmt" (slots[0] gets a map) or "csv"
}

// maxGlobTries bounds how many start positions a glob tries.
const maxGlobTries = 64

func (pl *planner) parseCmd(c *command) (*stage, *CompileError) {
	src, err := pl.compile(c.src)
	if err != nil {
		return nil, err
	}
	pp := &parsePlan{src: src, multi: c.multi, format: c.format}
	if c.format != "" {
		for _, a := range c.aliases {
			pp.slots = append(pp.slots, pl.newSlot(a))
		}
		return &stage{kind: sParse, parse: pp}, nil
	}
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
	switch pp.format {
	case "logfmt":
		if ok {
			r.slots[pp.slots[0]] = parseLogfmt(s)
		} else {
			r.slots[pp.slots[0]] = null
		}
		next(r)
		return
	case "csv":
		var cols []string
		if ok {
			cols = splitCSV(s, len(pp.slots))
		}
		for i, sl := range pp.slots {
			if i < len(cols) {
				r.slots[sl] = str(cols[i])
			} else {
				r.slots[sl] = null
			}
		}
		next(r)
		return
	}
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

// parseLogfmt reads key=value pairs (values optionally double-quoted with
// backslash escapes) into a map; a bare key has an empty value. Null when
// there is no pair.
func parseLogfmt(s string) Value {
	c := &composite{}
	i := 0
	for i < len(s) && len(c.keys) < maxJSONFields {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		k := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		key := s[k:i]
		if key == "" {
			i++
			continue
		}
		val := ""
		if i < len(s) && s[i] == '=' {
			i++
			if i < len(s) && s[i] == '"' {
				var b strings.Builder
				i++
				for i < len(s) && s[i] != '"' {
					if s[i] == '\\' && i+1 < len(s) {
						i++
					}
					b.WriteByte(s[i])
					i++
				}
				i++
				val = b.String()
			} else {
				v := i
				for i < len(s) && s[i] != ' ' && s[i] != '\t' {
					i++
				}
				val = s[v:i]
			}
		}
		c.keys, c.vals = append(c.keys, key), append(c.vals, str(val))
	}
	if len(c.keys) == 0 {
		return null
	}
	return Value{k: kMap, c: c}
}

// splitCSV splits one CSV record (RFC 4180 quoting) into at most n columns.
func splitCSV(s string, n int) []string {
	var out []string
	for len(out) < n {
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for i < len(s) {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			out = append(out, b.String())
			s = s[i:]
			j := strings.IndexByte(s, ',')
			if j < 0 {
				return out
			}
			s = s[j+1:]
			continue
		}
		j := strings.IndexByte(s, ',')
		if j < 0 {
			return append(out, s)
		}
		out = append(out, s[:j])
		s = s[j+1:]
	}
	return out
}
