package cwli

import (
	"fmt"
	"strconv"
	"strings"
)

// node is a parsed expression, before names are resolved.
type node struct {
	op   string // "lit", "field", "call", "regex", "dur", "list", "star", "index", "member", or an operator
	kids []*node
	lit  Value
	name string   // field name (joined), call name (lower-case), member key
	segs []string // field segments
	re   string   // regex body
	dur  duration
	pos  int // byte offsets of the source text
	end  int
}

// proj is "expr [as name]".
type proj struct {
	e     *node
	alias string
	text  string // source text, the column name when there is no alias
}

type sortKey struct {
	name string
	desc bool
	pos  int
	end  int
}

// command is one parsed pipeline stage.
type command struct {
	name  string // lower-case command name
	pos   int
	end   int
	projs []proj    // fields, display, stats aggregates
	by    []proj    // stats by
	cond  *node     // filter, filterIndex
	keys  []sortKey // sort
	limit int
	any   bool
	// parse
	src     *node
	glob    string
	regex   string
	isRegex bool
	multi   bool
	format  string // parse logfmt / csv
	aliases []string
	// fillmissing: with value for field, ...
	fills []fillArg
	// dedup, unnest, pattern
	names []string
	into  string
	// source
	spec *SourceSpec
	// lookup
	table    string
	keyPairs [][2]string // lookup: table field, event field
	outs     []proj
}

type parser struct {
	src   string
	toks  []token
	i     int
	depth int // recursion depth of the expression parser
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}
func (p *parser) fail(t token) *CompileError { return unexpected(p.src, t) }

func (p *parser) isOp(s string) bool { t := p.peek(); return t.k == tOp && t.s == s }
func (p *parser) isKw(s string) bool {
	t := p.peek()
	return t.k == tIdent && !t.quote && strings.EqualFold(t.s, s)
}
func (p *parser) expectOp(s string) *CompileError {
	if !p.isOp(s) {
		return p.fail(p.peek())
	}
	p.next()
	return nil
}

// keywords cannot be unquoted field names.
var keywords = map[string]bool{"and": true, "or": true, "not": true, "in": true, "like": true, "as": true, "by": true, "asc": true, "desc": true}

func parseQuery(src string) ([]*command, *CompileError) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	var cmds []*command
	for {
		c, err := p.command()
		if err != nil {
			return nil, err
		}
		if c.name == "countfrequent" {
			cmds = append(cmds, countFrequent(c)...)
		} else {
			cmds = append(cmds, c)
		}
		if p.peek().k == tEOF {
			return cmds, nil
		}
		if err := p.expectOp("|"); err != nil {
			return nil, err
		}
	}
}

func (p *parser) command() (*command, *CompileError) {
	t := p.peek()
	if t.k != tIdent || t.quote {
		return nil, p.fail(t)
	}
	p.next()
	c := &command{name: strings.ToLower(t.s), pos: t.pos}
	var err *CompileError
	switch c.name {
	case "fields", "display":
		c.projs, err = p.projs(c.name == "fields")
	case "filter", "where":
		c.name = "filter"
		c.cond, err = p.expr()
	case "filterindex":
		c.cond, err = p.expr()
	case "stats":
		err = p.stats(c)
	case "sort":
		err = p.sortKeys(c)
	case "limit":
		err = p.limitCmd(c)
	case "parse":
		err = p.parseCmd(c)
	case "dedup":
		c.names, err = p.names()
	case "unnest":
		var e *node
		if e, err = p.expr(); err == nil {
			c.src = e
			if !p.isKw("into") {
				return nil, p.fail(p.peek())
			}
			p.next()
			c.into, err = p.ident()
		}
	case "expand":
		t := p.peek()
		var n string
		if n, err = p.ident(); err == nil {
			c.src, c.into = &node{op: "field", name: n, segs: t.segs, pos: t.pos, end: t.end}, n
		}
	case "pattern":
		var e *node
		if p.peek().k == tEOF || p.isOp("|") {
			e = &node{op: "field", name: "@message", segs: []string{"@message"}}
		} else if e, err = p.expr(); err != nil {
			return nil, err
		}
		c.src = e
	case "source":
		err = p.sourceCmd(c)
	case "lookup":
		err = p.lookupCmd(c)
	case "unmask":
		// unmask [@message]: the events' masked text replaced by the
		// originals data protection kept (unmask.go).
		if t := p.peek(); t.k != tEOF && !p.isOp("|") {
			var e *node
			if e, err = p.expr(); err == nil && (e.op != "field" || e.name != "@message") {
				return nil, errAt(p.src, e.pos, e.end, "unmask takes no field or @message")
			}
		}
	case "fillmissing":
		c.fills, err = p.fillArgs()
	case "countfrequent", "count_frequent":
		c.name = "countfrequent"
		if c.by, err = p.projs(false); err == nil {
			for _, b := range c.by {
				if b.e.op != "field" {
					return nil, errAt(p.src, b.e.pos, b.e.end, "countFrequent takes field names")
				}
			}
		}
	case "diff", "anomaly", "join", "autoregress", "logcompare", "filldown", "cidrlookup",
		"outlier", "accum", "appendcols", "sessionize", "addtotals", "relevantfields", "estimate":
		return nil, errAt(p.src, t.pos, t.end, fmt.Sprintf("the %s command is not supported by this server", t.s))
	default:
		return nil, p.fail(t)
	}
	if err != nil {
		return nil, err
	}
	c.end = p.toks[max(p.i-1, 0)].end
	if t := p.peek(); t.k != tEOF && !(t.k == tOp && t.s == "|") {
		return nil, p.fail(t)
	}
	return c, nil
}

// countFrequent is "countFrequent f1, f2" (CWL_QuerySyntax-CountFrequent:
// "compute an approximate count of each unique field-value combination,
// sorted in descending order. The command emits an _approxcount field"): a
// stats count() as _approxcount by the fields, sorted by it, descending.
// Cairn's counts are exact (no approximation is needed at Insights'
// limits: the stats' memory bound applies); rows with equal counts keep
// the order in which their first event came.
func countFrequent(c *command) []*command {
	count := &node{op: "call", name: "count", pos: c.pos, end: c.pos}
	st := &command{name: "stats", pos: c.pos, end: c.end, by: c.by,
		projs: []proj{{e: count, alias: "_approxcount", text: "count()"}}}
	so := &command{name: "sort", pos: c.pos, end: c.end, keys: []sortKey{{name: "_approxcount", desc: true, pos: c.pos, end: c.end}}}
	return []*command{st, so}
}

// fillArg is one "with value for field" of fillmissing.
type fillArg struct {
	val   *node // a literal
	field string
	pos   int
	end   int
}

// fillArgs reads fillmissing's optional "with value for field [, value for
// field ...]" (CWL_QuerySyntax-Fillmissing: a constant value for a field
// of the inserted rows). A value is a number or a string literal.
func (p *parser) fillArgs() ([]fillArg, *CompileError) {
	if p.peek().k == tEOF || p.isOp("|") {
		return nil, nil
	}
	if !p.isKw("with") {
		return nil, p.fail(p.peek())
	}
	p.next()
	var out []fillArg
	for {
		t := p.peek()
		neg := false
		if t.k == tOp && t.s == "-" {
			p.next()
			neg, t = true, p.peek()
		}
		if t.k != tNumber && (t.k != tString || neg) {
			return nil, p.fail(t)
		}
		p.next()
		lit := &node{op: "lit", pos: t.pos, end: t.end}
		if t.k == tNumber {
			f, ok := parseNumber(t.s)
			if !ok {
				return nil, p.fail(t)
			}
			if neg {
				f = -f
			}
			lit.lit = num(f)
		} else {
			lit.lit = str(t.s)
		}
		if !p.isKw("for") {
			return nil, p.fail(p.peek())
		}
		p.next()
		ft := p.peek()
		name, err := p.ident()
		if err != nil {
			return nil, err
		}
		out = append(out, fillArg{val: lit, field: name, pos: t.pos, end: ft.end})
		if !p.isOp(",") {
			return out, nil
		}
		p.next()
	}
}

func (p *parser) ident() (string, *CompileError) {
	t := p.peek()
	if t.k != tIdent || (!t.quote && keywords[strings.ToLower(t.s)]) {
		return "", p.fail(t)
	}
	p.next()
	return t.s, nil
}

func (p *parser) names() ([]string, *CompileError) {
	var out []string
	for {
		n, err := p.ident()
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		if !p.isOp(",") {
			return out, nil
		}
		p.next()
	}
}

func (p *parser) projs(allowAlias bool) ([]proj, *CompileError) {
	var out []proj
	for {
		start := p.peek().pos
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		pr := proj{e: e, text: p.src[start:p.toks[p.i-1].end]}
		if allowAlias && p.isKw("as") {
			p.next()
			if pr.alias, err = p.ident(); err != nil {
				return nil, err
			}
		}
		out = append(out, pr)
		if !p.isOp(",") {
			return out, nil
		}
		p.next()
	}
}

func (p *parser) stats(c *command) *CompileError {
	var err *CompileError
	if c.projs, err = p.projs(true); err != nil {
		return err
	}
	if p.isKw("by") {
		p.next()
		if c.by, err = p.projs(true); err != nil {
			return err
		}
	}
	return nil
}

// sortKeys reads "name [asc|desc] {, name [asc|desc]}". Keys are names only:
// AWS rejects "sort bin(1d) desc" with "unexpected symbol found (".
func (p *parser) sortKeys(c *command) *CompileError {
	if p.isKw("by") {
		p.next() // "sort by f desc" appears in AWS-published queries
	}
	for {
		t := p.peek()
		n, err := p.ident()
		if err != nil {
			return err
		}
		k := sortKey{name: n, pos: t.pos, end: t.end}
		if p.isKw("desc") {
			k.desc = true
			p.next()
		} else if p.isKw("asc") {
			p.next()
		}
		c.keys = append(c.keys, k)
		if !p.isOp(",") {
			return nil
		}
		p.next()
	}
}

// maxRows is the most rows a query returns (insights.md §2.2, 2026).
const maxRows = 100000

func (p *parser) limitCmd(c *command) *CompileError {
	if p.isKw("any") {
		p.next()
		c.any = true
	}
	t := p.peek()
	if t.k != tNumber {
		return p.fail(t)
	}
	p.next()
	n, err := strconv.Atoi(t.s)
	if err != nil || n < 1 || n > maxRows {
		return errAt(p.src, t.pos, t.end, fmt.Sprintf("limit must be between 1 and %d", maxRows))
	}
	c.limit = n
	return nil
}

func (p *parser) parseCmd(c *command) *CompileError {
	t := p.peek()
	mode := func(t token) string {
		if t.k == tIdent && !t.quote && (strings.EqualFold(t.s, "logfmt") || strings.EqualFold(t.s, "csv")) &&
			p.toks[p.i+1].k == tIdent && strings.EqualFold(p.toks[p.i+1].s, "as") {
			return strings.ToLower(t.s)
		}
		return ""
	}
	if t.k == tIdent && mode(t) == "" {
		e, err := p.postfix()
		if err != nil {
			return err
		}
		c.src = e
		t = p.peek()
	} else {
		c.src = &node{op: "field", name: "@message", segs: []string{"@message"}}
	}
	if m := mode(t); m != "" {
		p.next()
		p.next() // as
		names, err := p.names()
		if err != nil {
			return err
		}
		if m == "logfmt" && len(names) != 1 {
			return errAt(p.src, t.pos, p.toks[p.i-1].end, "parse logfmt takes one name, the map of the pairs")
		}
		c.aliases, c.format = names, m
		c.pos = t.pos
		return nil
	}
	switch t.k {
	case tString:
		p.next()
		c.glob = t.s
		if !p.isKw("as") {
			return p.fail(p.peek())
		}
		p.next()
		names, err := p.names()
		if err != nil {
			return err
		}
		c.aliases = names
		if n := strings.Count(c.glob, "*"); n != len(names) {
			return errAt(p.src, t.pos, p.toks[p.i-1].end, fmt.Sprintf("the pattern has %d wildcards but %d fields are named", n, len(names)))
		}
	case tRegex:
		p.next()
		c.regex, c.isRegex = t.s, true
		if p.isKw("as") {
			p.next()
			names, err := p.names()
			if err != nil {
				return err
			}
			c.aliases = names
		}
		if p.isKw("multi") {
			p.next()
			c.multi = true
		}
	default:
		return p.fail(t)
	}
	c.pos = t.pos
	return nil
}

// SourceSpec is what a SOURCE command selects. AWS's form is
// SOURCE logGroups(namePrefix: ['a'], accountIdentifiers: ['1…'], class:
// ['STANDARD']) (logGroups() is every group); DescribeQueries shows an
// API-started query rewritten as SOURCE "name" START=<ms> END=<ms> | …,
// so names and START/END are accepted too.
type SourceSpec struct {
	Names              []string // exact log group names (the rewritten form)
	NamePrefixes       []string // at most 5
	AccountIdentifiers []string // at most 20
	Classes            []string // log group classes; empty: STANDARD
	All                bool     // logGroups() with no selector
	// Start/End when given: epoch ms, or with Relative a signed offset in
	// ms from the time the query starts (START=-3600s END=0s).
	HasStart, HasEnd bool
	Start, End       int64
	StartRelative    bool
	EndRelative      bool
}

func (p *parser) sourceCmd(c *command) *CompileError {
	sp := &SourceSpec{}
	c.spec = sp
	for {
		t := p.peek()
		switch {
		case t.k == tString:
			p.next()
			sp.Names = append(sp.Names, t.s)
		case t.k == tIdent && !t.quote && strings.EqualFold(t.s, "logGroups"):
			p.next()
			if err := p.logGroupsSpec(sp); err != nil {
				return err
			}
		case t.k == tIdent && !t.quote && (strings.EqualFold(t.s, "start") || strings.EqualFold(t.s, "end")):
			p.next()
			if err := p.expectOp("="); err != nil {
				return err
			}
			neg := false
			if p.isOp("-") {
				p.next()
				neg = true
			}
			v := p.peek()
			var ms int64
			rel := false
			switch v.k {
			case tNumber:
				n, err := strconv.ParseInt(v.s, 10, 64)
				if err != nil {
					return p.fail(v)
				}
				ms = n
			case tDuration:
				d, ok := parseDurationUncapped(v.s)
				if !ok {
					return p.fail(v)
				}
				ms, rel = d, true
			default:
				return p.fail(v)
			}
			p.next()
			if neg {
				if !rel {
					return p.fail(v)
				}
				ms = -ms
			}
			if strings.EqualFold(t.s, "start") {
				sp.HasStart, sp.Start, sp.StartRelative = true, ms, rel
			} else {
				sp.HasEnd, sp.End, sp.EndRelative = true, ms, rel
			}
			continue
		default:
			if len(sp.Names) == 0 && len(sp.NamePrefixes) == 0 && !sp.All && len(sp.AccountIdentifiers) == 0 && len(sp.Classes) == 0 {
				return p.fail(t)
			}
			return nil
		}
		if p.isOp(",") {
			p.next()
		}
	}
}

func (p *parser) logGroupsSpec(sp *SourceSpec) *CompileError {
	if err := p.expectOp("("); err != nil {
		return err
	}
	any := false
	for !p.isOp(")") {
		k := p.peek()
		if k.k != tIdent {
			return p.fail(k)
		}
		p.next()
		if err := p.expectOp(":"); err != nil {
			return err
		}
		if err := p.expectOp("["); err != nil {
			return err
		}
		var vals []string
		for !p.isOp("]") {
			v := p.peek()
			if v.k != tString {
				return p.fail(v)
			}
			p.next()
			vals = append(vals, v.s)
			if p.isOp(",") {
				p.next()
			}
		}
		p.next()
		switch strings.ToLower(k.s) {
		case "nameprefix":
			if len(sp.NamePrefixes)+len(vals) > 5 {
				return errAt(p.src, k.pos, p.toks[p.i-1].end, "SOURCE accepts at most 5 name prefixes")
			}
			sp.NamePrefixes = append(sp.NamePrefixes, vals...)
		case "accountidentifiers", "accountidentifier":
			if len(sp.AccountIdentifiers)+len(vals) > 20 {
				return errAt(p.src, k.pos, p.toks[p.i-1].end, "SOURCE accepts at most 20 account identifiers")
			}
			sp.AccountIdentifiers = append(sp.AccountIdentifiers, vals...)
		case "class", "loggroupclass":
			for _, v := range vals {
				if v != "STANDARD" && v != "INFREQUENT_ACCESS" {
					return errAt(p.src, k.pos, p.toks[p.i-1].end, fmt.Sprintf("unknown log group class %s", v))
				}
			}
			sp.Classes = append(sp.Classes, vals...)
		default:
			return errAt(p.src, k.pos, k.end, fmt.Sprintf("SOURCE logGroups does not take %s", k.s))
		}
		any = true
		if p.isOp(",") {
			p.next()
		}
	}
	p.next()
	if !any {
		sp.All = true
	}
	return nil
}

// lookupCmd reads AWS's "lookup table lookup-field [as log-field] [, …]
// OUTPUT output-field [as name] [, …]": each lookup-field is a column of the
// table matched (exactly, case-sensitively) against the event's log-field
// (the same name without as); all pairs must match.
func (p *parser) lookupCmd(c *command) *CompileError {
	n, err := p.ident()
	if err != nil {
		return err
	}
	c.table = n
	for {
		f, err := p.ident()
		if err != nil {
			return err
		}
		pair := [2]string{f, f} // table field, event field
		if p.isKw("as") {
			p.next()
			if pair[1], err = p.ident(); err != nil {
				return err
			}
		}
		c.keyPairs = append(c.keyPairs, pair)
		if !p.isOp(",") {
			break
		}
		p.next()
	}
	if !p.isKw("output") {
		return p.fail(p.peek())
	}
	p.next()
	for {
		n, err := p.ident()
		if err != nil {
			return err
		}
		pr := proj{text: n, e: &node{op: "field", name: n}}
		if p.isKw("as") {
			p.next()
			if pr.alias, err = p.ident(); err != nil {
				return err
			}
		}
		c.outs = append(c.outs, pr)
		if !p.isOp(",") {
			return nil
		}
		p.next()
	}
}

// Expressions, lowest precedence first.

func (p *parser) expr() (*node, *CompileError) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, errAt(p.src, p.peek().pos, p.peek().end, "query is nested too deeply")
	}
	return p.or()
}

func (p *parser) bin(op string, l, r *node) *node {
	return &node{op: op, kids: []*node{l, r}, pos: l.pos, end: r.end}
}

func (p *parser) or() (*node, *CompileError) {
	l, err := p.and()
	for err == nil && p.isKw("or") {
		p.next()
		var r *node
		if r, err = p.and(); err == nil {
			l = p.bin("or", l, r)
		}
	}
	return l, err
}

func (p *parser) and() (*node, *CompileError) {
	l, err := p.not()
	for err == nil && p.isKw("and") {
		p.next()
		var r *node
		if r, err = p.not(); err == nil {
			l = p.bin("and", l, r)
		}
	}
	return l, err
}

// depth guards the recursive descent against stack exhaustion.
const maxDepth = 200

func (p *parser) not() (*node, *CompileError) {
	if p.isKw("not") || p.isOp("!") {
		t := p.next()
		n, err := p.deeper(p.not)
		if err != nil {
			return nil, err
		}
		return &node{op: "not", kids: []*node{n}, pos: t.pos, end: n.end}, nil
	}
	return p.cmp()
}

func (p *parser) cmp() (*node, *CompileError) {
	l, err := p.sum()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t.k == tOp {
		switch t.s {
		case "=", "==", "!=", "<", "<=", ">", ">=":
			p.next()
			r, err := p.sum()
			if err != nil {
				return nil, err
			}
			op := t.s
			if op == "==" {
				op = "="
			}
			return p.bin(op, l, r), nil
		case "=~":
			p.next()
			r, err := p.pattern()
			if err != nil {
				return nil, err
			}
			return p.bin("like", l, r), nil
		}
	}
	neg := false
	if p.isKw("not") {
		save := p.i
		p.next()
		if !p.isKw("in") && !p.isKw("like") {
			p.i = save
			return l, nil
		}
		neg = true
	}
	var n *node
	switch {
	case p.isKw("in"):
		p.next()
		r, err := p.listLit()
		if err != nil {
			return nil, err
		}
		n = p.bin("in", l, r)
	case p.isKw("like"):
		p.next()
		r, err := p.pattern()
		if err != nil {
			return nil, err
		}
		n = p.bin("like", l, r)
	default:
		return l, nil
	}
	if neg {
		n = &node{op: "not", kids: []*node{n}, pos: n.pos, end: n.end}
	}
	return n, nil
}

// pattern is the right side of like/=~: a string (substring) or a regex.
func (p *parser) pattern() (*node, *CompileError) {
	t := p.peek()
	switch t.k {
	case tString:
		p.next()
		return &node{op: "lit", lit: str(t.s), pos: t.pos, end: t.end}, nil
	case tRegex:
		p.next()
		return &node{op: "regex", re: t.s, pos: t.pos, end: t.end}, nil
	}
	return nil, p.fail(t)
}

func (p *parser) listLit() (*node, *CompileError) {
	t := p.peek()
	if err := p.expectOp("["); err != nil {
		return nil, err
	}
	n := &node{op: "list", pos: t.pos}
	if !p.isOp("]") {
		for {
			e, err := p.sum()
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, e)
			if !p.isOp(",") {
				break
			}
			p.next()
		}
	}
	n.end = p.peek().end
	return n, p.expectOp("]")
}

func (p *parser) sum() (*node, *CompileError) {
	l, err := p.prod()
	for err == nil && (p.isOp("+") || p.isOp("-")) {
		op := p.next().s
		var r *node
		if r, err = p.prod(); err == nil {
			l = p.bin(op, l, r)
		}
	}
	return l, err
}

func (p *parser) prod() (*node, *CompileError) {
	l, err := p.pow()
	for err == nil && (p.isOp("*") || p.isOp("/") || p.isOp("%")) {
		op := p.next().s
		var r *node
		if r, err = p.pow(); err == nil {
			l = p.bin(op, l, r)
		}
	}
	return l, err
}

func (p *parser) pow() (*node, *CompileError) {
	l, err := p.unary()
	if err == nil && p.isOp("^") {
		p.next()
		var r *node
		if r, err = p.deeper(p.pow); err == nil {
			l = p.bin("^", l, r)
		}
	}
	return l, err
}

func (p *parser) unary() (*node, *CompileError) {
	if p.isOp("-") {
		t := p.next()
		n, err := p.deeper(p.unary)
		if err != nil {
			return nil, err
		}
		if n.op == "lit" && n.lit.k == kNum {
			n.lit.n = -n.lit.n
			n.pos = t.pos
			return n, nil
		}
		return &node{op: "neg", kids: []*node{n}, pos: t.pos, end: n.end}, nil
	}
	return p.postfix()
}

func (p *parser) postfix() (*node, *CompileError) {
	n, err := p.primary()
	for err == nil {
		switch {
		case p.isOp("["):
			p.next()
			t := p.peek()
			if t.k != tNumber {
				return nil, p.fail(t)
			}
			p.next()
			i, _ := strconv.Atoi(t.s)
			end := p.peek().end
			if err := p.expectOp("]"); err != nil {
				return nil, err
			}
			n = &node{op: "index", kids: []*node{n}, lit: num(float64(i)), pos: n.pos, end: end}
		case p.isOp("."):
			p.next()
			t := p.peek()
			if t.k != tIdent {
				return nil, p.fail(t)
			}
			p.next()
			for _, s := range t.segs {
				n = &node{op: "member", kids: []*node{n}, name: s, pos: n.pos, end: t.end}
			}
		default:
			return n, nil
		}
	}
	return nil, err
}

func (p *parser) deeper(f func() (*node, *CompileError)) (*node, *CompileError) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, errAt(p.src, p.peek().pos, p.peek().end, "query is nested too deeply")
	}
	return f()
}

func (p *parser) primary() (*node, *CompileError) {
	t := p.peek()
	switch t.k {
	case tNumber:
		p.next()
		f, err := strconv.ParseFloat(t.s, 64)
		if err != nil {
			return nil, p.fail(t)
		}
		return &node{op: "lit", lit: num(f), pos: t.pos, end: t.end}, nil
	case tString:
		p.next()
		return &node{op: "lit", lit: str(t.s), pos: t.pos, end: t.end}, nil
	case tRegex:
		p.next()
		return &node{op: "regex", re: t.s, pos: t.pos, end: t.end}, nil
	case tDuration:
		p.next()
		d, ok := parseDuration(t.s)
		if !ok {
			return nil, p.fail(t)
		}
		return &node{op: "dur", dur: d, pos: t.pos, end: t.end}, nil
	case tIdent:
		low := strings.ToLower(t.s)
		if !t.quote && keywords[low] {
			return nil, p.fail(t)
		}
		p.next()
		if !t.quote && len(t.segs) == 1 && p.isOp("(") {
			return p.call(t)
		}
		if !t.quote && (low == "true" || low == "false") {
			return &node{op: "lit", lit: boolean(low == "true"), pos: t.pos, end: t.end}, nil
		}
		return &node{op: "field", name: t.s, segs: t.segs, pos: t.pos, end: t.end}, nil
	case tOp:
		switch t.s {
		case "(":
			p.next()
			n, err := p.expr()
			if err != nil {
				return nil, err
			}
			end := p.peek().end
			if err := p.expectOp(")"); err != nil {
				return nil, err
			}
			n = &node{op: "paren", kids: []*node{n}, pos: t.pos, end: end}
			return n, nil
		case "[":
			return p.listLit()
		}
	}
	return nil, p.fail(t)
}

func (p *parser) call(name token) (*node, *CompileError) {
	p.next() // (
	n := &node{op: "call", name: strings.ToLower(name.s), pos: name.pos}
	if !p.isOp(")") {
		for {
			if p.isOp("*") {
				t := p.next()
				n.kids = append(n.kids, &node{op: "star", pos: t.pos, end: t.end})
			} else {
				e, err := p.expr()
				if err != nil {
					return nil, err
				}
				n.kids = append(n.kids, e)
			}
			if !p.isOp(",") {
				break
			}
			p.next()
		}
	}
	n.end = p.peek().end
	return n, p.expectOp(")")
}
