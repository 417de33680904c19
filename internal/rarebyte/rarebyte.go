// Package rarebyte ranks bytes by how common they are in log text, so that
// a substring search can jump (strings.IndexByte, vectorised) to a
// literal's rarest byte and compare around it instead of stopping at every
// occurrence of its first byte. The embedded engine's block prematch and
// the metric-filter counter's literal searches share this one ranking.
package rarebyte

// commonness lists bytes from the most to the least common in log text
// (English words, numbers, punctuation of access logs and JSON lines);
// bytes it does not list are rarer than all it does.
const commonness = " e0t1a2o3i4n5s6r7l8h9d.c:u-m/p\"g,f=yTbESAIRNOwv_kCLDP[]{}MxUHGFq()jzBKWVYJQXZ"

// Rank is c's place in the ranking: higher is rarer; every byte the
// ranking does not list has the highest rank.
func Rank(c byte) int {
	for i := 0; i < len(commonness); i++ {
		if commonness[i] == c {
			return i
		}
	}
	return len(commonness)
}

// Rarest is the index in s of its rarest byte by Rank, the first of equal
// rank; 0 for an empty s.
func Rarest[S ~string | ~[]byte](s S) int {
	r := 0
	for i := 1; i < len(s); i++ {
		if Rank(s[i]) > Rank(s[r]) {
			r = i
		}
	}
	return r
}
