package iam

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Context is one request as policies see it.
type Context struct {
	Action   string // "logs:PutLogEvents"; matched case-insensitively
	Resource string // an ARN, or "*" for actions without a resource

	// The principal. PrincipalARN is what aws:PrincipalArn reports (for a
	// role session, the role's ARN); CallerARN is the exact caller (the
	// session's ARN). Trust policies match either.
	PrincipalARN     string
	CallerARN        string
	PrincipalAccount string
	Username         string // aws:username, IAM users only
	// ServicePrincipal is set when Cairn's own work acts as an AWS service
	// ("delivery.logs.amazonaws.com") under a resource policy (package
	// logs/resourcepolicy); it matches a Principal's "Service" entries only.
	ServicePrincipal string
	UserID           string // aws:userid

	Region   string     // aws:RequestedRegion
	SourceIP netip.Addr // aws:SourceIp
	Time     time.Time  // aws:CurrentTime, aws:EpochTime

	// Keys holds any other condition keys, by lower-case name.
	Keys map[string][]string

	action     string // lower-cased Action
	actionFrom string // the Action that action was computed from
}

func (c *Context) prepare() {
	if c.actionFrom != c.Action || c.action == "" {
		c.action = strings.ToLower(c.Action)
		c.actionFrom = c.Action
	}
}

// lookup returns the values of a condition key (given lower-case).
func (c *Context) lookup(key string) ([]string, bool) {
	one := func(s string) ([]string, bool) {
		if s == "" {
			return nil, false
		}
		return []string{s}, true
	}
	switch key {
	case "aws:requestedregion":
		return one(c.Region)
	case "aws:sourceip":
		if !c.SourceIP.IsValid() {
			return nil, false
		}
		return []string{c.SourceIP.String()}, true
	case "aws:currenttime":
		if c.Time.IsZero() {
			return nil, false
		}
		return []string{c.Time.UTC().Format(time.RFC3339)}, true
	case "aws:epochtime":
		if c.Time.IsZero() {
			return nil, false
		}
		return []string{strconv.FormatInt(c.Time.Unix(), 10)}, true
	case "aws:principalarn":
		return one(c.PrincipalARN)
	case "aws:principalaccount":
		return one(c.PrincipalAccount)
	case "aws:username":
		return one(c.Username)
	case "aws:userid":
		return one(c.UserID)
	}
	v, ok := c.Keys[key]
	return v, ok && len(v) > 0
}

type opKind int

const (
	opString opKind = iota
	opStringLike
	opArn
	opDate
	opNumeric
	opIP
	opBool
	opNull
)

type compare int

const (
	cmpEq compare = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

type setKind int

const (
	setNone setKind = iota
	setAny
	setAll
)

type condition struct {
	name       string // operator as written, for messages
	op         opKind
	cmp        compare
	negate     bool
	ignoreCase bool
	ifExists   bool
	set        setKind
	key        string // lower-case
	values     []string
	arns       []arnPattern
	times      []time.Time
	nums       []float64
	prefixes   []netip.Prefix
}

// operator returns how each supported operator (without IfExists and set
// prefixes) compares.
func operator(name string) (condition, bool) {
	switch name {
	case "StringEquals":
		return condition{op: opString}, true
	case "StringNotEquals":
		return condition{op: opString, negate: true}, true
	case "StringEqualsIgnoreCase":
		return condition{op: opString, ignoreCase: true}, true
	case "StringNotEqualsIgnoreCase":
		return condition{op: opString, ignoreCase: true, negate: true}, true
	case "StringLike":
		return condition{op: opStringLike}, true
	case "StringNotLike":
		return condition{op: opStringLike, negate: true}, true
	case "ArnEquals":
		return condition{op: opArn}, true
	case "ArnLike":
		return condition{op: opArn}, true
	case "ArnNotEquals":
		return condition{op: opArn, negate: true}, true
	case "ArnNotLike":
		return condition{op: opArn, negate: true}, true
	case "DateEquals":
		return condition{op: opDate}, true
	case "DateNotEquals":
		return condition{op: opDate, negate: true}, true
	case "DateLessThan":
		return condition{op: opDate, cmp: cmpLt}, true
	case "DateLessThanEquals":
		return condition{op: opDate, cmp: cmpLe}, true
	case "DateGreaterThan":
		return condition{op: opDate, cmp: cmpGt}, true
	case "DateGreaterThanEquals":
		return condition{op: opDate, cmp: cmpGe}, true
	case "NumericEquals":
		return condition{op: opNumeric}, true
	case "NumericNotEquals":
		return condition{op: opNumeric, negate: true}, true
	case "NumericLessThan":
		return condition{op: opNumeric, cmp: cmpLt}, true
	case "NumericLessThanEquals":
		return condition{op: opNumeric, cmp: cmpLe}, true
	case "NumericGreaterThan":
		return condition{op: opNumeric, cmp: cmpGt}, true
	case "NumericGreaterThanEquals":
		return condition{op: opNumeric, cmp: cmpGe}, true
	case "IpAddress":
		return condition{op: opIP}, true
	case "NotIpAddress":
		return condition{op: opIP, negate: true}, true
	case "Bool":
		return condition{op: opBool}, true
	case "Null":
		return condition{op: opNull}, true
	}
	return condition{}, false
}

func parseConditions(raw json.RawMessage) ([]condition, error) {
	var blocks map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, malformed("Condition must be an object of operators, each an object of keys")
	}
	var out []condition
	for name, keys := range blocks {
		base := name
		set := setNone
		switch {
		case strings.HasPrefix(base, "ForAnyValue:"):
			set, base = setAny, base[len("ForAnyValue:"):]
		case strings.HasPrefix(base, "ForAllValues:"):
			set, base = setAll, base[len("ForAllValues:"):]
		}
		ifExists := false
		if b, ok := strings.CutSuffix(base, "IfExists"); ok && base != "Null" {
			base, ifExists = b, true
		}
		proto, ok := operator(base)
		if !ok || (ifExists && proto.op == opNull) {
			return nil, malformed("Invalid Condition type : %s", name)
		}
		for key, v := range keys {
			vals, err := conditionValues(v)
			if err != nil || len(vals) == 0 {
				return nil, malformed("Condition %s %s: values must be a string, number, boolean or a non-empty list of them", name, key)
			}
			c := proto
			c.name, c.set, c.ifExists, c.key, c.values = name, set, ifExists, strings.ToLower(key), vals
			if err := c.compile(); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func (c *condition) compile() error {
	for _, v := range c.values {
		switch c.op {
		case opArn:
			c.arns = append(c.arns, compileARN(v))
		case opDate:
			t, ok := parseDate(v)
			if !ok {
				return malformed("Condition %s: %q is not a date (ISO 8601 or epoch seconds)", c.name, v)
			}
			c.times = append(c.times, t)
		case opNumeric:
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return malformed("Condition %s: %q is not a number", c.name, v)
			}
			c.nums = append(c.nums, n)
		case opIP:
			p, ok := parseCIDR(v)
			if !ok {
				return malformed("Condition %s: %q is not an IP address or CIDR block", c.name, v)
			}
			c.prefixes = append(c.prefixes, p)
		case opBool, opNull:
			if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
				return malformed("Condition %s: %q is not true or false", c.name, v)
			}
		}
	}
	return nil
}

// eval applies one operator to one key. The rules follow AWS:
//   - several policy values are ORed;
//   - a key absent from the request fails the condition, except with
//     ...IfExists, ForAllValues, Null, and the negated operators;
//   - a negated operator holds when no policy value matches;
//   - ForAnyValue needs one request value to match, ForAllValues all.
func (c *condition) eval(ctx *Context) bool {
	vals, present := ctx.lookup(c.key)
	if c.op == opNull {
		return strings.EqualFold(c.values[0], "true") != present
	}
	if !present {
		switch {
		case c.ifExists, c.set == setAll:
			return true
		case c.set == setAny:
			return false
		default:
			return c.negate
		}
	}
	m := func(v string) bool { return c.matchValue(v) != c.negate }
	switch {
	case c.set == setAll || (c.set == setNone && c.negate):
		for _, v := range vals {
			if !m(v) {
				return false
			}
		}
		return true
	default:
		for _, v := range vals {
			if m(v) {
				return true
			}
		}
		return false
	}
}

// matchValue reports whether a request value matches any policy value.
func (c *condition) matchValue(v string) bool {
	switch c.op {
	case opString:
		for _, p := range c.values {
			if p == v || (c.ignoreCase && strings.EqualFold(p, v)) {
				return true
			}
		}
	case opStringLike:
		for _, p := range c.values {
			if glob(p, v) {
				return true
			}
		}
	case opArn:
		for i := range c.arns {
			if c.arns[i].match(v) {
				return true
			}
		}
	case opDate:
		t, ok := parseDate(v)
		if !ok {
			return false
		}
		for _, p := range c.times {
			if c.cmp.holds(t.Compare(p)) {
				return true
			}
		}
	case opNumeric:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return false
		}
		for _, p := range c.nums {
			d := 0
			if n < p {
				d = -1
			} else if n > p {
				d = 1
			}
			if c.cmp.holds(d) {
				return true
			}
		}
	case opIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range c.prefixes {
			if p.Contains(a) {
				return true
			}
		}
	case opBool:
		for _, p := range c.values {
			if strings.EqualFold(p, v) {
				return true
			}
		}
	}
	return false
}

// holds reports whether "request cmp policy" is true given their ordering d.
func (c compare) holds(d int) bool {
	switch c {
	case cmpLt:
		return d < 0
	case cmpLe:
		return d <= 0
	case cmpGt:
		return d > 0
	case cmpGe:
		return d >= 0
	default:
		return d == 0
	}
}

func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

func parseCIDR(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// conditionValues accepts a string, number or boolean, or a list of them,
// and returns them as strings.
func conditionValues(raw json.RawMessage) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		switch e := e.(type) {
		case string:
			out = append(out, e)
		case json.Number:
			out = append(out, e.String())
		case bool:
			out = append(out, strconv.FormatBool(e))
		default:
			return nil, malformed("condition value is not a scalar")
		}
	}
	return out, nil
}
