// Package drain clusters log messages into templates with variable tokens,
// after the Drain algorithm (He et al., "Drain: An Online Log Parsing
// Approach with Fixed Depth Tree", ICWS 2017), implemented here from the
// paper's description.
//
// A message is split into tokens: words, and the separators between them
// (white space and punctuation), each a token of its own, so a template
// prints back as the message did. Tokens that are obviously variable
// (numbers, hex, UUIDs, IP addresses, timestamps) are typed and masked
// before clustering. Add walks a fixed-depth tree (token count, then the
// first few word tokens) to a leaf's candidate clusters, picks the most
// similar one (share of equal static tokens) above a threshold, and
// generalises the positions that differ to <*>; otherwise it starts a new
// cluster. Memory is bounded: at most MaxClusters clusters (the least
// recently matched one is evicted to make room) and tokens per message.
//
// Users: the anomaly detectors (package logs/anomaly) and Insights' pattern
// command. A Miner is not safe for concurrent use.
package drain

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// Config tunes a Miner; zero fields take the defaults.
type Config struct {
	Depth       int     // tree depth including the length level (default 4: length + 2 prefix tokens + leaf)
	Similarity  float64 // minimum share of equal static tokens to join a cluster (default 0.4)
	MaxChildren int     // children per tree node before new keys share <*> (default 100)
	MaxClusters int     // clusters kept (default 1000)
	MaxTokens   int     // tokens of a message considered; the rest is one token (default 200)
}

// Token types of dynamic tokens.
const (
	TypeNone      = ""
	TypeNumber    = "Number"
	TypeHex       = "HexNumber"
	TypeUUID      = "UUID"
	TypeIP        = "IPAddress"
	TypeTimestamp = "Timestamp"
	TypeVariable  = "Variable" // differed between messages of a cluster
)

// Token is one token of a template.
type Token struct {
	Text    string // the literal text, or "<*>" for a dynamic token
	Dynamic bool
	Type    string // for dynamic tokens
}

// Template is one cluster.
type Template struct {
	ID     int
	Tokens []Token
	Count  int64
	Sample string // the first message of the cluster
}

// String prints the template with <*> for dynamic tokens.
func (t Template) String() string {
	var b strings.Builder
	for _, tok := range t.Tokens {
		b.WriteString(tok.Text)
	}
	return b.String()
}

type cluster struct {
	id      int
	tokens  []Token
	count   int64
	sample  string
	touched uint64
	leaf    *node
	path    []string // the tree keys from the root to leaf (State, Restore)
}

type node struct {
	children map[string]*node
	clusters []*cluster
}

// Miner is a Drain clusterer.
type Miner struct {
	cfg      Config
	root     *node
	clusters map[int]*cluster
	nextID   int
	clock    uint64
}

// New returns a Miner.
func New(cfg Config) *Miner {
	if cfg.Depth < 3 {
		cfg.Depth = 4
	}
	if cfg.Similarity <= 0 {
		cfg.Similarity = 0.4
	}
	if cfg.MaxChildren <= 0 {
		cfg.MaxChildren = 100
	}
	if cfg.MaxClusters <= 0 {
		cfg.MaxClusters = 1000
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = 200
	}
	return &Miner{cfg: cfg, root: &node{children: map[string]*node{}}, clusters: map[int]*cluster{}}
}

const wildcard = "<*>"

// Add clusters message and returns its template's ID. IDs are never reused.
func (m *Miner) Add(message string) int {
	m.clock++
	toks := Tokenize(message, m.cfg.MaxTokens)
	leaf, path := m.leaf(toks)
	var best *cluster
	bestSim := -1.0
	for _, c := range leaf.clusters {
		if s := similarity(c.tokens, toks); s > bestSim {
			best, bestSim = c, s
		}
	}
	if best != nil && bestSim >= m.cfg.Similarity {
		for i := range best.tokens {
			if !best.tokens[i].Dynamic && best.tokens[i].Text != toks[i].Text {
				best.tokens[i] = Token{Text: wildcard, Dynamic: true, Type: TypeVariable}
			}
		}
		best.count++
		best.touched = m.clock
		return best.id
	}
	if len(m.clusters) >= m.cfg.MaxClusters {
		m.evict()
	}
	m.nextID++
	c := &cluster{id: m.nextID, tokens: toks, count: 1, sample: message, touched: m.clock, leaf: leaf, path: path}
	leaf.clusters = append(leaf.clusters, c)
	m.clusters[c.id] = c
	return c.id
}

// evict drops the least recently matched cluster.
func (m *Miner) evict() {
	var old *cluster
	for _, c := range m.clusters {
		if old == nil || c.touched < old.touched {
			old = c
		}
	}
	if old == nil {
		return
	}
	delete(m.clusters, old.id)
	l := old.leaf
	for i, c := range l.clusters {
		if c == old {
			l.clusters = append(l.clusters[:i], l.clusters[i+1:]...)
			break
		}
	}
}

// leaf walks (and grows) the tree: the number of tokens, then the first
// Depth-2 word tokens (a token with a digit, or one past MaxChildren, goes
// under <*>), and the keys it took.
func (m *Miner) leaf(toks []Token) (*node, []string) {
	path := []string{itoa(len(toks))}
	n := m.child(m.root, path[0])
	depth := 0
	for _, t := range toks {
		if depth >= m.cfg.Depth-2 {
			break
		}
		if isSeparator(t.Text) {
			continue
		}
		k := t.Text
		if t.Dynamic || hasDigit(k) {
			k = wildcard
		}
		if _, ok := n.children[k]; !ok && len(n.children) >= m.cfg.MaxChildren {
			k = wildcard
		}
		n = m.child(n, k)
		path = append(path, k)
		depth++
	}
	return n, path
}

func (m *Miner) child(n *node, k string) *node {
	c, ok := n.children[k]
	if !ok {
		c = &node{children: map[string]*node{}}
		n.children[k] = c
	}
	return c
}

// similarity is the share of positions whose static tokens are equal
// (separators count too: they are part of the structure).
func similarity(tmpl, toks []Token) float64 {
	if len(tmpl) != len(toks) || len(tmpl) == 0 {
		return 0
	}
	same := 0
	for i, t := range tmpl {
		if t.Dynamic {
			if toks[i].Dynamic {
				same++
			}
			continue
		}
		if t.Text == toks[i].Text {
			same++
		}
	}
	return float64(same) / float64(len(tmpl))
}

// Templates returns the clusters, in ID order.
func (m *Miner) Templates() []Template {
	out := make([]Template, 0, len(m.clusters))
	for id := 1; id <= m.nextID; id++ {
		if c, ok := m.clusters[id]; ok {
			out = append(out, Template{ID: c.id, Tokens: append([]Token(nil), c.tokens...), Count: c.count, Sample: c.sample})
		}
	}
	return out
}

// Template returns one cluster.
func (m *Miner) Template(id int) (Template, bool) {
	c, ok := m.clusters[id]
	if !ok {
		return Template{}, false
	}
	return Template{ID: c.id, Tokens: append([]Token(nil), c.tokens...), Count: c.count, Sample: c.sample}, true
}

// Tokenize splits a message into word and separator tokens and types the
// variable ones; past max tokens the rest of the message is one token.
func Tokenize(s string, max int) []Token {
	var out []Token
	for i := 0; i < len(s); {
		if len(out) >= max-1 {
			out = append(out, classify(s[i:]))
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if isSepRune(r) {
			out = append(out, Token{Text: s[i : i+size]})
			i += size
			continue
		}
		j := i
		for j < len(s) {
			r, size := utf8.DecodeRuneInString(s[j:])
			if isSepRune(r) {
				// Keep dotted and colon-joined words (IPs, times, hosts) whole
				// when the next character continues the word.
				if (r == '.' || r == ':') && j+1 < len(s) && !isSepRune(rune(s[j+1])) && j > i {
					j += size
					continue
				}
				break
			}
			j += size
		}
		out = append(out, classify(s[i:j]))
		i = j
	}
	return out
}

func isSepRune(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', ',', ';', '=', '"', '\'', '(', ')', '[', ']', '{', '}', '<', '>', '|', '.', ':':
		return true
	}
	return false
}

func isSeparator(s string) bool {
	r, size := utf8.DecodeRuneInString(s)
	return size == len(s) && isSepRune(r)
}

// classify masks a word that is obviously variable.
func classify(w string) Token {
	if t := kindOf(w); t != TypeNone {
		return Token{Text: wildcard, Dynamic: true, Type: t}
	}
	return Token{Text: w}
}

func kindOf(w string) string {
	switch {
	case w == "":
		return TypeNone
	case isUUID(w):
		return TypeUUID
	case isIP(w):
		return TypeIP
	case isNumber(w):
		return TypeNumber
	case isTimestamp(w):
		return TypeTimestamp
	case isHex(w):
		return TypeHex
	}
	return TypeNone
}

func isNumber(w string) bool {
	if w[0] == '-' || w[0] == '+' {
		w = w[1:]
	}
	digits, dots := 0, 0
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			// 12ms, 3.5s: a number with a short unit
			if digits > 0 && i >= len(w)-2 && isLetters(w[i:]) {
				return dots <= 1
			}
			return false
		}
	}
	return digits > 0 && dots <= 1
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if !(s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') {
			return false
		}
	}
	return true
}

func isHex(w string) bool {
	w = strings.TrimPrefix(strings.TrimPrefix(w, "0x"), "0X")
	if len(w) < 6 {
		return false
	}
	digit := false
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return digit
}

func isUUID(w string) bool {
	if len(w) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := w[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isIP(w string) bool {
	if strings.Count(w, ".") == 3 {
		for _, p := range strings.Split(w, ".") {
			if p == "" || len(p) > 3 || !isNumber(p) || strings.ContainsAny(p, "+-.") {
				return false
			}
		}
		return true
	}
	if strings.Count(w, ":") >= 2 {
		for i := 0; i < len(w); i++ {
			c := w[i]
			if !(c == ':' || c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
		return strings.ContainsAny(w, "0123456789")
	}
	return false
}

// isTimestamp: ISO dates and clock times (2024-01-02T03:04:05.678Z, 12:34:56).
func isTimestamp(w string) bool {
	digits, other := 0, 0
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '-' || c == ':' || c == '.' || c == 'T' || c == 'Z' || c == '+' || c == '/':
			other++
		default:
			return false
		}
	}
	return digits >= 4 && other >= 2
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// State is a Miner's learning, for a user that keeps it (the anomaly
// detectors persist it): the clusters with the tree path each was filed
// under, the next cluster ID and the recency clock. The tree's inner nodes
// are not kept: Restore rebuilds them from the paths, so a node that only
// held evicted clusters is gone (its key no longer counts against
// MaxChildren).
type State struct {
	NextID   int
	Clock    uint64
	Clusters []ClusterState // any order
}

// ClusterState is one cluster of a State.
type ClusterState struct {
	ID      int
	Tokens  []Token
	Count   int64
	Sample  string
	Touched uint64
	Path    []string
}

// State returns the Miner's learning, clusters most recently matched first
// (a user bounding what it keeps drops from the end).
func (m *Miner) State() State {
	s := State{NextID: m.nextID, Clock: m.clock, Clusters: make([]ClusterState, 0, len(m.clusters))}
	for _, c := range m.clusters {
		s.Clusters = append(s.Clusters, ClusterState{ID: c.id, Tokens: append([]Token(nil), c.tokens...), Count: c.count,
			Sample: c.sample, Touched: c.touched, Path: append([]string(nil), c.path...)})
	}
	sort.Slice(s.Clusters, func(i, j int) bool { return s.Clusters[i].Touched > s.Clusters[j].Touched })
	return s
}

// Restore returns a Miner with cfg and the learning of s. It trusts nothing
// in s (a decoded record): clusters with an ID outside 1..NextID or
// repeated, no tokens, more tokens than MaxTokens or a path longer than the
// tree's depth are dropped, and past MaxClusters the least recently matched
// ones are. A dynamic token's text is always <*>.
func Restore(cfg Config, s State) *Miner {
	m := New(cfg)
	if s.NextID > 0 {
		m.nextID = s.NextID
	}
	m.clock = s.Clock
	cs := append([]ClusterState(nil), s.Clusters...)
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Touched > cs[j].Touched })
	for _, c := range cs {
		if len(m.clusters) >= m.cfg.MaxClusters {
			break
		}
		if c.ID <= 0 || c.ID > m.nextID || m.clusters[c.ID] != nil || len(c.Tokens) == 0 || len(c.Tokens) > m.cfg.MaxTokens ||
			len(c.Path) == 0 || len(c.Path) > m.cfg.Depth-1 {
			continue
		}
		n := m.root
		for _, k := range c.Path {
			n = m.child(n, k)
		}
		toks := append([]Token(nil), c.Tokens...)
		for i := range toks {
			if toks[i].Dynamic {
				toks[i].Text = wildcard
			}
		}
		cl := &cluster{id: c.ID, tokens: toks, count: c.Count, sample: c.Sample, touched: c.Touched, leaf: n,
			path: append([]string(nil), c.Path...)}
		if cl.touched > m.clock {
			m.clock = cl.touched
		}
		n.clusters = append(n.clusters, cl)
		m.clusters[cl.id] = cl
	}
	// Candidates of a leaf in creation order, as Add appended them.
	for _, c := range m.clusters {
		l := c.leaf
		sort.Slice(l.clusters, func(i, j int) bool { return l.clusters[i].id < l.clusters[j].id })
	}
	return m
}

// Config returns the Miner's configuration with the defaults filled in.
func (m *Miner) Config() Config { return m.cfg }
