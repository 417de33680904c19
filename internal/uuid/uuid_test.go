package uuid

import (
	"regexp"
	"testing"
)

// The form, written out by hand: 8-4-4-4-12 lowercase hex digits, version
// nibble 4, variant bits 10 (8, 9, a or b).
var form = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNew(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := New()
		if !form.MatchString(id) {
			t.Fatalf("%q is not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("%q twice in 1000", id)
		}
		seen[id] = true
	}
}
