package pattern

import "cmp"

// decimal is an exactly comparable view of a decimal number written in text,
// such as "-12.50" or "1e400". It never allocates: the digit runs are
// substrings of the original text. Comparing numbers this way instead of
// through float64 keeps 18-digit identifiers distinct and lets 1e400 compare
// as a finite number, where a float would round or overflow.
type decimal struct {
	neg  bool
	intp string // integer digits without leading zeros
	frac string // fraction digits without trailing zeros
	exp  int64  // decimal exponent from an e/E suffix, clamped
	// small: the number is an integer of at most smallDigits digits
	// (no fraction digits left, no exponent), whose value with its sign
	// is val: cmpDecimal compares two such as integers, the usual case
	// of a JSON member against a pattern's constant.
	small bool
	val   int64
}

// smallDigits is the most digits a decimal's val holds (10^18 < 2^63).
const smallDigits = 18

const maxExp = 1 << 40 // far beyond any digit count, small enough not to overflow

// parseDecimal parses [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?
// and reports whether all of s was a number.
func parseDecimal(s string) (decimal, bool) {
	var d decimal
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		d.neg = s[i] == '-'
		i++
	}
	is := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	d.intp = s[is:i]
	nd := i - is
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		d.frac = s[fs:i]
		nd += i - fs
	}
	if nd == 0 {
		return decimal{}, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		es := i
		var e int64
		for i < len(s) && isDigit(s[i]) {
			if e < maxExp {
				e = e*10 + int64(s[i]-'0')
			}
			i++
		}
		if i == es {
			return decimal{}, false
		}
		if e > maxExp {
			e = maxExp
		}
		if eneg {
			e = -e
		}
		d.exp = e
	}
	if i != len(s) {
		return decimal{}, false
	}
	for len(d.intp) > 0 && d.intp[0] == '0' {
		d.intp = d.intp[1:]
	}
	for len(d.frac) > 0 && d.frac[len(d.frac)-1] == '0' {
		d.frac = d.frac[:len(d.frac)-1]
	}
	if d.frac == "" && d.exp == 0 && len(d.intp) <= smallDigits {
		var v int64
		for i := 0; i < len(d.intp); i++ {
			v = v*10 + int64(d.intp[i]-'0')
		}
		if d.neg {
			v = -v
		}
		d.small, d.val = true, v
	}
	return d, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (d decimal) isZero() bool { return d.intp == "" && d.frac == "" }

// norm returns the significant digits as two runs (hi then lo) and the
// position of the decimal point relative to their start: value = 0.D × 10^point.
func (d decimal) norm() (hi, lo string, point int64) {
	if d.intp != "" {
		return d.intp, d.frac, int64(len(d.intp)) + d.exp
	}
	f := d.frac
	lz := 0
	for lz < len(f) && f[lz] == '0' {
		lz++
	}
	return f[lz:], "", d.exp - int64(lz)
}

// cmpDecimal returns -1, 0 or +1 as a is less than, equal to or greater than b.
func cmpDecimal(a, b decimal) int {
	if a.small && b.small {
		return cmp.Compare(a.val, b.val) // -0 is 0 here as below: its val is 0
	}
	az, bz := a.isZero(), b.isZero()
	switch {
	case az && bz:
		return 0
	case az:
		if b.neg {
			return 1
		}
		return -1
	case bz:
		if a.neg {
			return -1
		}
		return 1
	case a.neg != b.neg:
		if a.neg {
			return -1
		}
		return 1
	}
	m := cmpMagnitude(a, b)
	if a.neg {
		return -m
	}
	return m
}

func cmpMagnitude(a, b decimal) int {
	ah, al, ap := a.norm()
	bh, bl, bp := b.norm()
	if ap != bp {
		if ap < bp {
			return -1
		}
		return 1
	}
	na, nb := len(ah)+len(al), len(bh)+len(bl)
	for i := 0; i < na || i < nb; i++ {
		ca, cb := byte('0'), byte('0')
		if i < na {
			ca = digitAt(ah, al, i)
		}
		if i < nb {
			cb = digitAt(bh, bl, i)
		}
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	return 0
}

func digitAt(hi, lo string, i int) byte {
	if i < len(hi) {
		return hi[i]
	}
	return lo[i-len(hi)]
}
