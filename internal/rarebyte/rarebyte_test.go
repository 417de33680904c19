package rarebyte

import "testing"

// TestRarest: answers read off the ranking by hand (O after R and E in
// "ERROR"; m after u in "timeout"; the first of equal rank; a byte not
// listed is rarer than all listed).
func TestRarest(t *testing.T) {
	for _, c := range []struct {
		s    string
		want int
	}{{"", 0}, {"a", 0}, {"ERROR", 3}, {"timeout", 2}, {"cache miss", 6}, {"eZe", 1}, {"Z~Z", 1}, {"ee", 0}, {"a\x00b", 1}} {
		if got := Rarest(c.s); got != c.want {
			t.Errorf("Rarest(%q) = %d, want %d", c.s, got, c.want)
		}
		if got := Rarest([]byte(c.s)); got != c.want {
			t.Errorf("Rarest([]byte(%q)) = %d, want %d", c.s, got, c.want)
		}
	}
	if Rank(' ') != 0 || Rank('Z') != len(commonness)-1 || Rank('~') != len(commonness) {
		t.Error("Rank disagrees with the ranking's ends")
	}
}
