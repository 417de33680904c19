package pattern

import (
	"math/big"
	"math/rand/v2"
	"strconv"
	"testing"
)

// ratOf is the exact value of a number parseDecimal accepts, the
// reference cmpDecimal is held to (exponents kept small enough to build).
func ratOf(t testing.TB, s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("big.Rat cannot parse %q", s)
	}
	return r
}

// TestCmpDecimal holds cmpDecimal, its small-integer path and the digit
// path alike, to exact rational comparison: integers on both sides of
// the 18-digit bound, signs, -0, leading zeros, fractions that trim to
// integers (1.0), exponents, and each number against itself written
// another way.
func TestCmpDecimal(t *testing.T) {
	nums := []string{"0", "-0", "00", "0.0", "1", "-1", "1.0", "1.5", "-1.5", "10", "1e1", "100e-1", "0.1e2",
		"999999999999999999", "1000000000000000000", "-999999999999999999", "-1000000000000000000",
		"999999999999999998", "123456789012345678", "1234567890123456789", "007", "-007", "9223372036854775807",
		"9223372036854775808", "-9223372036854775808", "1e18", "1e17", "0.000001", "5e-1", "500", "499.999"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 400 {
		n := rng.Int64N(2_000_000_000_000_000_000) - 1_000_000_000_000_000_000
		nums = append(nums, strconv.FormatInt(n, 10), strconv.FormatInt(n/int64(1+rng.IntN(1_000_000_000)), 10))
	}
	for _, a := range nums {
		da, ok := parseDecimal(a)
		if !ok {
			t.Fatalf("%q does not parse", a)
		}
		for _, b := range nums {
			db, _ := parseDecimal(b)
			want := ratOf(t, a).Cmp(ratOf(t, b))
			if got := cmpDecimal(da, db); got != want {
				t.Fatalf("cmpDecimal(%s, %s) = %d, want %d", a, b, got, want)
			}
			// The digit path alone agrees too.
			sa, sb := da, db
			sa.small, sb.small = false, false
			if got := cmpDecimal(sa, sb); got != want {
				t.Fatalf("digit path: cmpDecimal(%s, %s) = %d, want %d", a, b, got, want)
			}
		}
	}
}

// FuzzCmpDecimal: any two numbers parseDecimal accepts compare as their
// exact values do.
func FuzzCmpDecimal(f *testing.F) {
	f.Add("12", "-12")
	f.Add("999999999999999999", "1e18")
	f.Add("-0", "0.0")
	f.Fuzz(func(t *testing.T, a, b string) {
		da, oka := parseDecimal(a)
		db, okb := parseDecimal(b)
		if !oka || !okb || da.exp > 1000 || da.exp < -1000 || db.exp > 1000 || db.exp < -1000 {
			return
		}
		ra, ok1 := new(big.Rat).SetString(a)
		rb, ok2 := new(big.Rat).SetString(b)
		if !ok1 || !ok2 {
			return // forms big.Rat does not read ("+.5e3"); the table above covers the rest
		}
		if got, want := cmpDecimal(da, db), ra.Cmp(rb); got != want {
			t.Fatalf("cmpDecimal(%q, %q) = %d, want %d", a, b, got, want)
		}
	})
}
