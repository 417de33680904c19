package cwli

import (
	"strings"
	"time"
)

// datePattern is a compiled parseDate/formatDate pattern with its zone.
type datePattern struct {
	layout string
	loc    *time.Location
}

// javaLayout translates a Java DateTimeFormatter pattern (parseDate's
// argument, per AWS's documentation) into a Go layout. Letters outside the
// common set are refused at compile time.
func javaLayout(p string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(p); {
		c := p[i]
		j := i
		for j < len(p) && p[j] == c {
			j++
		}
		n := j - i
		switch c {
		case 'y', 'u':
			if n == 2 {
				b.WriteString("06")
			} else {
				b.WriteString("2006")
			}
		case 'M':
			switch n {
			case 1:
				b.WriteString("1")
			case 2:
				b.WriteString("01")
			case 3:
				b.WriteString("Jan")
			default:
				b.WriteString("January")
			}
		case 'd':
			b.WriteString([]string{"2", "02"}[min(n, 2)-1])
		case 'H':
			if n == 1 {
				b.WriteString("15") // Go has no unpadded 24-hour form
			} else {
				b.WriteString("15")
			}
		case 'h':
			b.WriteString([]string{"3", "03"}[min(n, 2)-1])
		case 'm':
			b.WriteString([]string{"4", "04"}[min(n, 2)-1])
		case 's':
			b.WriteString([]string{"5", "05"}[min(n, 2)-1])
		case 'S':
			b.WriteString(strings.Repeat("0", n))
			if i > 0 && p[i-1] != '.' && p[i-1] != ',' {
				return "", false
			}
		case 'a':
			b.WriteString("PM")
		case 'E':
			if n >= 4 {
				b.WriteString("Monday")
			} else {
				b.WriteString("Mon")
			}
		case 'X':
			switch n {
			case 1:
				b.WriteString("Z07")
			case 2:
				b.WriteString("Z0700")
			default:
				b.WriteString("Z07:00")
			}
		case 'x':
			b.WriteString([]string{"-07", "-0700", "-07:00"}[min(n, 3)-1])
		case 'Z':
			b.WriteString("-0700")
		case 'z':
			b.WriteString("MST")
		case '\'':
			k := strings.IndexByte(p[i+1:], '\'')
			if k < 0 {
				return "", false
			}
			b.WriteString(p[i+1 : i+1+k])
			j = i + k + 2
		default:
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
				return "", false
			}
			b.WriteString(p[i:j])
		}
		i = j
	}
	return b.String(), true
}

// strftimeLayout translates formatDate's strftime directives.
func strftimeLayout(p string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			b.WriteByte(p[i])
			continue
		}
		i++
		if i >= len(p) {
			return "", false
		}
		m := map[byte]string{'Y': "2006", 'y': "06", 'm': "01", 'd': "02", 'e': "_2", 'H': "15", 'I': "03", 'M': "04", 'S': "05",
			'L': "000", 'f': "000000", 'p': "PM", 'b': "Jan", 'h': "Jan", 'B': "January", 'a': "Mon", 'A': "Monday",
			'z': "-0700", 'Z': "MST", 'j': "002", 'F': "2006-01-02", 'T': "15:04:05", 'D': "01/02/06", '%': "%"}
		s, ok := m[p[i]]
		if !ok {
			return "", false
		}
		b.WriteString(s)
	}
	return b.String(), true
}

func zoneArg(pl *planner, n *node) (*time.Location, *CompileError) {
	if len(n.kids) < 3 {
		return time.UTC, nil
	}
	a := n.kids[2]
	if a.op != "lit" || a.lit.k != kStr {
		return nil, pl.errNode(a, "the time zone must be a string literal")
	}
	loc, err := time.LoadLocation(a.lit.s)
	if err != nil {
		return nil, pl.errNode(a, "unknown time zone %q", a.lit.s)
	}
	return loc, nil
}

func constJavaPattern(pl *planner, n *node) (any, *CompileError) {
	a := n.kids[1]
	if a.op != "lit" || a.lit.k != kStr {
		return nil, pl.errNode(a, "the date pattern must be a string literal")
	}
	l, ok := javaLayout(a.lit.s)
	if !ok {
		return nil, pl.errNode(a, "unsupported date pattern %q", a.lit.s)
	}
	loc, err := zoneArg(pl, n)
	if err != nil {
		return nil, err
	}
	return datePattern{l, loc}, nil
}

func constStrftime(pl *planner, n *node) (any, *CompileError) {
	a := n.kids[1]
	if a.op != "lit" || a.lit.k != kStr {
		return nil, pl.errNode(a, "the date format must be a string literal")
	}
	l, ok := strftimeLayout(a.lit.s)
	if !ok {
		return nil, pl.errNode(a, "unsupported date format %q", a.lit.s)
	}
	loc, err := zoneArg(pl, n)
	if err != nil {
		return nil, err
	}
	return datePattern{l, loc}, nil
}

// parseDateFn returns epoch milliseconds (AWS: parseDate gives a number).
func parseDateFn(a []Value, _ *env, c any) Value {
	s, ok := a[0].text()
	if !ok {
		return null
	}
	p := c.(datePattern)
	t, err := time.ParseInLocation(p.layout, s, p.loc)
	if err != nil {
		return null
	}
	return num(float64(t.UnixMilli()))
}

func formatDateFn(a []Value, _ *env, c any) Value {
	ms, ok := a[0].millis()
	if !ok {
		return null
	}
	p := c.(datePattern)
	return str(time.UnixMilli(ms).In(p.loc).Format(p.layout))
}
