package cwli

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// fnDef is a scalar function. fn gets the evaluated arguments (never null
// unless nullOK) and the compile-time state made by prep.
type fnDef struct {
	min, max int // arity; max -1: variadic
	nullOK   bool
	fn       func(a []Value, x *env, c any) Value
	// prep checks constant arguments at compile time and returns state.
	prep func(pl *planner, n *node) (any, *CompileError)
}

// maxText bounds a string a function builds (replace, regexReplace): a
// bigger result is null rather than memory growing with query effort.
const maxText = 4 << 20

// functions is the scalar function table (insights.md §3), keyed by the
// lower-case name: function names are case-insensitive.
var functions map[string]*fnDef

func init() {
	functions = map[string]*fnDef{
		// numeric
		"abs":      num1(math.Abs),
		"ceil":     num1(math.Ceil),
		"floor":    num1(math.Floor),
		"sqrt":     num1(math.Sqrt),
		"log":      num1(math.Log),
		"greatest": {min: 1, max: -1, nullOK: true, fn: extreme(1)},
		"least":    {min: 1, max: -1, nullOK: true, fn: extreme(-1)},
		"round": {min: 1, max: 2, fn: func(a []Value, _ *env, _ any) Value {
			f, ok := a[0].number()
			if !ok {
				return null
			}
			d := 0.0
			if len(a) > 1 {
				if d, ok = a[1].number(); !ok {
					return null
				}
			}
			p := math.Pow(10, math.Trunc(d))
			return numOK(math.Round(f*p) / p)
		}},
		"haversine": {min: 4, max: 4, fn: func(a []Value, _ *env, _ any) Value {
			var v [4]float64
			for i := range v {
				f, ok := a[i].number()
				if !ok {
					return null
				}
				v[i] = f * math.Pi / 180
			}
			dlat, dlon := v[2]-v[0], v[3]-v[1]
			h := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(v[0])*math.Cos(v[2])*math.Sin(dlon/2)*math.Sin(dlon/2)
			return numOK(2 * 6371 * math.Asin(math.Sqrt(h)))
		}},
		"tonumber": toNum(nil),
		"todouble": toNum(nil),
		"toint": toNum(func(f float64) (float64, bool) {
			t := math.Trunc(f)
			return t, t >= math.MinInt32 && t <= math.MaxInt32
		}),
		"tolong": toNum(func(f float64) (float64, bool) { t := math.Trunc(f); return t, t >= -1<<63 && t < 1<<63 }),

		// string
		"isempty": {min: 1, max: 1, nullOK: true, fn: func(a []Value, _ *env, _ any) Value {
			s, ok := a[0].text()
			return boolean(a[0].k == kNull || ok && s == "")
		}},
		"isblank": {min: 1, max: 1, nullOK: true, fn: func(a []Value, _ *env, _ any) Value {
			s, ok := a[0].text()
			return boolean(a[0].k == kNull || ok && strings.TrimSpace(s) == "")
		}},
		"concat": {min: 1, max: -1, fn: func(a []Value, _ *env, _ any) Value {
			var b strings.Builder
			for _, v := range a {
				s, ok := v.text()
				if !ok {
					return null
				}
				b.WriteString(s)
			}
			return str(b.String())
		}},
		"ltrim": trimFn(strings.TrimLeftFunc, strings.TrimLeft),
		"rtrim": trimFn(strings.TrimRightFunc, strings.TrimRight),
		"trim": trimFn(strings.TrimFunc, func(s, cut string) string {
			return strings.Trim(s, cut)
		}),
		"strlen":  str1n(func(s string) float64 { return float64(utf8.RuneCountInString(s)) }),
		"toupper": str1(strings.ToUpper),
		"tolower": str1(strings.ToLower),
		"substr": {min: 2, max: 3, fn: func(a []Value, _ *env, _ any) Value {
			s, ok := a[0].text()
			st, ok2 := a[1].number()
			if !ok || !ok2 {
				return null
			}
			rs := []rune(s)
			i := int(math.Max(0, math.Min(st, float64(len(rs)))))
			j := len(rs)
			if len(a) > 2 {
				l, ok := a[2].number()
				if !ok {
					return null
				}
				j = int(math.Max(float64(i), math.Min(float64(i)+l, float64(len(rs)))))
			}
			return str(string(rs[i:j]))
		}},
		"replace": {min: 3, max: 3, fn: func(a []Value, _ *env, _ any) Value {
			s, ok1 := a[0].text()
			f, ok2 := a[1].text()
			t, ok3 := a[2].text()
			if !ok1 || !ok2 || !ok3 {
				return null
			}
			if f == "" {
				return str(s)
			}
			if n := strings.Count(s, f); len(s)+n*(len(t)-len(f)) > maxText {
				return null
			}
			return str(strings.ReplaceAll(s, f, t))
		}},
		"regexreplace": {min: 3, max: 3, prep: constRegex(1), fn: func(a []Value, _ *env, c any) Value {
			s, ok1 := a[0].text()
			t, ok3 := a[2].text()
			if !ok1 || !ok3 {
				return null
			}
			// bound the output: every position may match an empty regex
			if len(s)+(len(s)+1)*len(t) > maxText {
				return null
			}
			return str(c.(*regexp.Regexp).ReplaceAllString(s, t))
		}},
		"strcontains": {min: 2, max: 3, fn: func(a []Value, _ *env, _ any) Value {
			s, ok1 := a[0].text()
			v, ok2 := a[1].text()
			if !ok1 || !ok2 {
				return null
			}
			if len(a) > 2 && a[2].truthy() {
				return boolean(strings.Contains(strings.ToLower(s), strings.ToLower(v)))
			}
			return boolean(strings.Contains(s, v))
		}},
		"startswith": str2b(strings.HasPrefix),
		"endswith":   str2b(strings.HasSuffix),
		"urlencode":  str1(url.QueryEscape),
		"urldecode": str1e(func(s string) (string, bool) {
			r, err := url.QueryUnescape(s)
			return r, err == nil
		}),
		"base64encode": str1(func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }),
		"base64decode": str1e(func(s string) (string, bool) {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				b, err = base64.RawStdEncoding.DecodeString(s)
			}
			return string(b), err == nil
		}),
		"split": {min: 2, max: 2, fn: func(a []Value, _ *env, _ any) Value {
			s, ok1 := a[0].text()
			d, ok2 := a[1].text()
			if !ok1 || !ok2 {
				return null
			}
			parts := strings.Split(s, d)
			c := &composite{list: make([]Value, len(parts))}
			for i, p := range parts {
				c.list[i] = str(p)
			}
			return Value{k: kList, c: c}
		}},
		"hextoascii": str1e(func(s string) (string, bool) {
			b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"))
			return string(b), err == nil
		}),
		"hextodec": str1e(func(s string) (string, bool) {
			t := strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(s), "0x"), "-0x")
			n, err := strconv.ParseUint(t, 16, 64)
			if err != nil {
				return "", false
			}
			if strings.HasPrefix(s, "-") {
				return "-" + strconv.FormatUint(n, 10), true
			}
			return strconv.FormatUint(n, 10), true
		}),
		"dectohex": {min: 1, max: 1, fn: func(a []Value, _ *env, _ any) Value {
			f, ok := a[0].number()
			if !ok || math.Abs(f) >= 1<<63 {
				return null
			}
			n := int64(f)
			if n < 0 {
				return str("-0x" + strconv.FormatInt(-n, 16))
			}
			return str("0x" + strconv.FormatInt(n, 16))
		}},

		// datetime
		"datefloor": {min: 2, max: 2, prep: constDuration(1), fn: func(a []Value, _ *env, c any) Value {
			ms, ok := a[0].millis()
			if !ok {
				return null
			}
			return timeMs(c.(duration).floor(ms))
		}},
		"dateceil": {min: 2, max: 2, prep: constDuration(1), fn: func(a []Value, _ *env, c any) Value {
			ms, ok := a[0].millis()
			if !ok {
				return null
			}
			return timeMs(c.(duration).ceil(ms))
		}},
		"frommillis": {min: 1, max: 1, fn: func(a []Value, _ *env, _ any) Value {
			f, ok := a[0].number()
			if !ok || math.Abs(f) > 1e15 {
				return null
			}
			return timeMs(int64(f))
		}},
		"tomillis": {min: 1, max: 1, fn: func(a []Value, _ *env, _ any) Value {
			ms, ok := a[0].millis()
			if !ok {
				return null
			}
			return num(float64(ms))
		}},
		// now() is the query's start time in epoch seconds (AWS's example
		// multiplies it by 1000 to compare with toMillis).
		"now":            {min: 0, max: 0, fn: func(_ []Value, x *env, _ any) Value { return num(float64(x.now / 1000)) }},
		"querystarttime": {min: 0, max: 0, fn: func(_ []Value, x *env, _ any) Value { return num(float64(x.opts.Start)) }},
		"queryendtime":   {min: 0, max: 0, fn: func(_ []Value, x *env, _ any) Value { return num(float64(x.opts.End)) }},
		"querytimerange": {min: 0, max: 0, fn: func(_ []Value, x *env, _ any) Value { return num(float64(x.opts.End - x.opts.Start)) }},
		"parsedate":      {min: 2, max: 3, prep: constJavaPattern, fn: parseDateFn},
		"formatdate":     {min: 2, max: 3, prep: constStrftime, fn: formatDateFn},
		"strftime":       {min: 2, max: 3, prep: constStrftime, fn: formatDateFn},

		// general
		"ispresent": {min: 1, max: 1, nullOK: true, fn: func(a []Value, _ *env, _ any) Value { return boolean(a[0].k != kNull) }},
		"coalesce": {min: 1, max: -1, nullOK: true, fn: func(a []Value, _ *env, _ any) Value {
			for _, v := range a {
				if v.k != kNull {
					return v
				}
			}
			return null
		}},
		"if": {min: 3, max: 3, nullOK: true, fn: func(a []Value, _ *env, _ any) Value {
			if a[0].truth() {
				return a[1]
			}
			return a[2]
		}},
		"case": {min: 2, max: 21, nullOK: true, fn: func(a []Value, _ *env, _ any) Value {
			i := 0
			for ; i+1 < len(a); i += 2 {
				if a[i].truth() {
					return a[i+1]
				}
			}
			if i < len(a) {
				return a[i]
			}
			return null
		}},
		"isnumeric": {min: 1, max: 1, nullOK: true, fn: func(a []Value, _ *env, _ any) Value {
			_, ok := a[0].number()
			return boolean(ok && a[0].k != kBool)
		}},
		"messagesize": str1n(func(s string) float64 { return float64(len(s)) }),

		// JSON
		"jsonparse": {min: 1, max: 1, fn: func(a []Value, _ *env, _ any) Value {
			s, ok := a[0].text()
			if !ok {
				if a[0].k == kMap || a[0].k == kList {
					return a[0]
				}
				return null
			}
			v := parseJSONValue(s)
			if v.k != kMap && v.k != kList {
				return null
			}
			return v
		}},
		"jsonstringify": {min: 1, max: 1, fn: func(a []Value, _ *env, _ any) Value {
			if a[0].k != kMap && a[0].k != kList {
				return null
			}
			return str(a[0].render())
		}},
		"jsonarraysize": {min: 1, max: 1, fn: func(a []Value, _ *env, _ any) Value {
			v := a[0]
			if s, ok := v.text(); ok {
				v = parseJSONValue(s)
			}
			if v.k != kList {
				return null
			}
			return num(float64(len(v.c.list)))
		}},
		"jsonarraycontains": {min: 2, max: 2, fn: func(a []Value, _ *env, _ any) Value {
			v := a[0]
			if s, ok := v.text(); ok {
				v = parseJSONValue(s)
			}
			if v.k != kList {
				return boolean(false)
			}
			want, _ := a[1].text()
			for _, e := range v.c.list {
				if e.k == kStr && e.s == want || (e.k == kNum || e.k == kBool) && e.render() == want {
					return boolean(true)
				}
			}
			return boolean(false)
		}},

		// IP
		"isvalidip":      ipPred(func(a netip.Addr) bool { return true }),
		"isvalidipv4":    ipPred(func(a netip.Addr) bool { return a.Is4() }),
		"isvalidipv6":    ipPred(func(a netip.Addr) bool { return a.Is6() }),
		"isprivateip":    ipPred(func(a netip.Addr) bool { return a.IsPrivate() }),
		"ispublicip":     ipPred(func(a netip.Addr) bool { return a.IsGlobalUnicast() && !a.IsPrivate() && !isReserved(a) }),
		"isreservedip":   ipPred(isReserved),
		"isipinsubnet":   subnetFn(0),
		"isipv4insubnet": subnetFn(4),
		"isipv6insubnet": subnetFn(6),
		"ipv4tonumber": {min: 1, max: 1, fn: func(a []Value, _ *env, _ any) Value {
			s, _ := a[0].text()
			ip, err := netip.ParseAddr(s)
			if err != nil || !ip.Is4() {
				return null
			}
			b := ip.As4()
			return num(float64(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])))
		}},

		// hashing: lower-case hex digests
		"md5": str1(func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }),
		"sha256": str1(func(s string) string {
			h := sha256.Sum256([]byte(s))
			return hex.EncodeToString(h[:])
		}),
	}
}

func (v Value) truthy() bool { return v.truth() || v.k == kStr && strings.EqualFold(v.s, "true") }

// millis reads a timestamp: a time value, epoch milliseconds, or an ISO
// 8601 / "2006-01-02 15:04:05.000" text.
func (v Value) millis() (int64, bool) {
	switch v.k {
	case kTime, kNum:
		return int64(v.n), true
	case kStr:
		if f, ok := parseNumber(v.s); ok {
			return int64(f), true
		}
		for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-07:00", tsLayout, "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
			if t, err := time.Parse(l, v.s); err == nil {
				return t.UnixMilli(), true
			}
		}
	}
	return 0, false
}

func numOK(f float64) Value {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return null
	}
	return num(f)
}

func num1(f func(float64) float64) *fnDef {
	return &fnDef{min: 1, max: 1, fn: func(a []Value, _ *env, _ any) Value {
		v, ok := a[0].number()
		if !ok {
			return null
		}
		return numOK(f(v))
	}}
}

func toNum(conv func(float64) (float64, bool)) *fnDef {
	return &fnDef{min: 1, max: 1, fn: func(a []Value, _ *env, _ any) Value {
		v, ok := a[0].number()
		if !ok {
			return null
		}
		if conv != nil {
			if v, ok = conv(v); !ok {
				return null
			}
		}
		return num(v)
	}}
}

func extreme(sign int) func(a []Value, _ *env, _ any) Value {
	return func(a []Value, _ *env, _ any) Value {
		best, found := 0.0, false
		for _, v := range a {
			f, ok := v.number()
			if !ok {
				continue
			}
			if !found || sign > 0 && f > best || sign < 0 && f < best {
				best, found = f, true
			}
		}
		if !found {
			return null
		}
		return num(best)
	}
}

func str1(f func(string) string) *fnDef {
	return &fnDef{min: 1, max: 1, fn: func(a []Value, _ *env, _ any) Value {
		s, ok := a[0].text()
		if !ok {
			return null
		}
		return str(f(s))
	}}
}

func str1e(f func(string) (string, bool)) *fnDef {
	return &fnDef{min: 1, max: 1, fn: func(a []Value, _ *env, _ any) Value {
		s, ok := a[0].text()
		if !ok {
			return null
		}
		r, ok := f(s)
		if !ok {
			return null
		}
		return str(r)
	}}
}

func str1n(f func(string) float64) *fnDef {
	return &fnDef{min: 1, max: 1, fn: func(a []Value, _ *env, _ any) Value {
		s, ok := a[0].text()
		if !ok {
			return null
		}
		return num(f(s))
	}}
}

func str2b(f func(string, string) bool) *fnDef {
	return &fnDef{min: 2, max: 2, fn: func(a []Value, _ *env, _ any) Value {
		s, ok1 := a[0].text()
		t, ok2 := a[1].text()
		if !ok1 || !ok2 {
			return null
		}
		return boolean(f(s, t))
	}}
}

// trimFn: one argument strips whitespace; two strip any of the characters
// of the second (a set, not a substring), and then not whitespace.
func trimFn(ws func(string, func(rune) bool) string, set func(string, string) string) *fnDef {
	return &fnDef{min: 1, max: 2, fn: func(a []Value, _ *env, _ any) Value {
		s, ok := a[0].text()
		if !ok {
			return null
		}
		if len(a) == 1 {
			return str(ws(s, unicode.IsSpace))
		}
		cut, ok := a[1].text()
		if !ok {
			return null
		}
		return str(set(s, cut))
	}}
}

func ipPred(f func(netip.Addr) bool) *fnDef {
	return &fnDef{min: 1, max: 1, nullOK: true, fn: func(a []Value, _ *env, _ any) Value {
		s, ok := a[0].text()
		if !ok {
			return boolean(false)
		}
		ip, err := netip.ParseAddr(s)
		return boolean(err == nil && ip.Zone() == "" && f(ip))
	}}
}

func isReserved(a netip.Addr) bool {
	for _, p := range reservedNets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// reservedNets are the IANA special-purpose blocks that are neither private
// (RFC 1918 / ULA, isPrivateIP) nor global unicast.
var reservedNets = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{"0.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "192.0.0.0/24", "192.0.2.0/24",
		"192.88.99.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
		"::/128", "::1/128", "64:ff9b::/96", "100::/64", "2001:db8::/32", "fe80::/10", "ff00::/8"} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// subnetFn is true only for a valid address of the family inside the CIDR,
// which must be a constant.
func subnetFn(family int) *fnDef {
	return &fnDef{min: 2, max: 2, nullOK: true,
		prep: func(pl *planner, n *node) (any, *CompileError) {
			a := n.kids[1]
			if a.op != "lit" || a.lit.k != kStr {
				return nil, pl.errNode(a, "the subnet must be a string literal")
			}
			p, err := netip.ParsePrefix(a.lit.s)
			if err != nil || family == 4 && !p.Addr().Is4() || family == 6 && !p.Addr().Is6() {
				return nil, pl.errNode(a, "invalid subnet %q", a.lit.s)
			}
			return p.Masked(), nil
		},
		fn: func(a []Value, _ *env, c any) Value {
			s, ok := a[0].text()
			if !ok {
				return boolean(false)
			}
			ip, err := netip.ParseAddr(s)
			p := c.(netip.Prefix)
			return boolean(err == nil && ip.Is4() == p.Addr().Is4() && p.Contains(ip))
		}}
}

func constRegex(i int) func(pl *planner, n *node) (any, *CompileError) {
	return func(pl *planner, n *node) (any, *CompileError) {
		a := n.kids[i]
		var src string
		switch {
		case a.op == "regex":
			src = a.re
		case a.op == "lit" && a.lit.k == kStr:
			src = a.lit.s
		default:
			return nil, pl.errNode(a, "the pattern must be a string or regex literal")
		}
		re, _, _, err := compileRegex(src)
		if err != nil {
			return nil, pl.errNode(a, "invalid regular expression %q: %v", src, err)
		}
		return re, nil
	}
}

func constDuration(i int) func(pl *planner, n *node) (any, *CompileError) {
	return func(pl *planner, n *node) (any, *CompileError) {
		a := n.kids[i]
		if a.op != "dur" {
			return nil, pl.errNode(a, "expected a time period such as 5m")
		}
		return a.dur, nil
	}
}
