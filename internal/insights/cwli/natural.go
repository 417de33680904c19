package cwli

import "strings"

// naturalCompare is the sort command's "updated natural sort" (insights.md
// §2.3): values that are numbers sort after all others and compare
// numerically; other strings compare run by run, digit runs by length and
// then value, other runs by code point. Nulls sort last. desc is the exact
// reverse.
func naturalCompare(a, b Value) int {
	if a.k == kNull || b.k == kNull {
		switch {
		case a.k == b.k:
			return 0
		case a.k == kNull:
			return 1
		}
		return -1
	}
	an, aIs := sortNumber(a)
	bn, bIs := sortNumber(b)
	switch {
	case aIs && bIs:
		switch {
		case an < bn:
			return -1
		case an > bn:
			return 1
		}
		as, bs := a.render(), b.render()
		return strings.Compare(as, bs)
	case aIs:
		return 1
	case bIs:
		return -1
	}
	return naturalStrings(a.render(), b.render())
}

// sortNumber: computed numbers and times are numbers; text is a number when
// it is only digits with an optional sign and decimal part.
func sortNumber(v Value) (float64, bool) {
	switch v.k {
	case kNum, kTime, kBool:
		return v.n, true
	case kStr:
		s := v.s
		if s == "" {
			return 0, false
		}
		i := 0
		if s[0] == '-' {
			i = 1
		}
		digits, dot := 0, false
		for ; i < len(s); i++ {
			c := s[i]
			switch {
			case c >= '0' && c <= '9':
				digits++
			case c == '.' && !dot && digits > 0 && i+1 < len(s):
				dot = true
			default:
				return 0, false
			}
		}
		if digits == 0 {
			return 0, false
		}
		f, ok := parseNumber(s)
		return f, ok
	}
	return 0, false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func naturalStrings(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if isDigit(a[i]) && isDigit(b[j]) {
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			ra, rb := a[si:i], b[sj:j]
			if len(ra) != len(rb) {
				if len(ra) < len(rb) {
					return -1
				}
				return 1
			}
			if c := strings.Compare(ra, rb); c != 0 {
				return c
			}
			continue
		}
		// compare one code point at a time (UTF-8 byte order is code point order)
		if a[i] != b[j] {
			if a[i] < b[j] {
				return -1
			}
			return 1
		}
		i++
		j++
	}
	switch {
	case len(a)-i < len(b)-j:
		return -1
	case len(a)-i > len(b)-j:
		return 1
	}
	return 0
}
