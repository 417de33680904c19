package pattern

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestRequiredSound checks, over generated pattern and message pairs, that
// every message a pattern matches contains its required literals.
func TestRequiredSound(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const pairs = 20000
	gens := []struct {
		name    string
		pattern func(*rand.Rand) string
		message func(*rand.Rand) string
	}{
		{"terms", genTerms, genText},
		{"json", genJSONPattern, genJSONMessage},
		{"spaced", genSpacedPattern, genText},
	}
	for _, g := range gens {
		matched, required := 0, 0
		for range pairs / len(gens) {
			src := g.pattern(r)
			if strings.Count(src, "%") > 2*MaxRegexes {
				continue
			}
			p, err := Compile(src)
			if err != nil {
				t.Fatalf("generated pattern %q: %v", src, err)
			}
			if len(p.Required())+len(p.RequiredUnlessEscaped()) > 0 {
				required++
			}
			for range 10 {
				msg := g.message(r)
				if p.Match(msg) {
					matched++
					checkRequired(t, p, msg)
				}
			}
		}
		t.Logf("%s: %d matches, %d patterns with required literals", g.name, matched, required)
		if matched < 500 || required < 500 {
			t.Errorf("%s: generator too weak: %d matches, %d patterns with literals", g.name, matched, required)
		}
	}
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

var words = []string{"ERROR", "WARN", "x", "xy", "404", "4", "a.b", "[a b]", `"q r"`, "GET", "10", "1e1", "-", "ERRORx"}

func genText(r *rand.Rand) string {
	n := r.IntN(6)
	var b []string
	for range n {
		b = append(b, pick(r, words...))
	}
	return strings.Join(b, pick(r, " ", "  ", "\t"))
}

func genTerms(r *rand.Rand) string {
	n := 1 + r.IntN(3)
	var b []string
	for range n {
		t := pick(r, "ERROR", "x", `"a b"`, `"xy"`, "4", `%E.R%`, `%^x%`, `%4|W%`, `%R{2}%`, `" "`, "GET")
		b = append(b, pick(r, "", "", "-", "?", "?")+t)
	}
	return strings.Join(b, " ")
}

func genSpacedPattern(r *rand.Rand) string {
	n := 1 + r.IntN(4)
	var b []string
	for i := range n {
		if r.IntN(5) == 0 {
			b = append(b, "...")
			continue
		}
		name := fmt.Sprintf("f%d", i)
		e := name
		for j := range r.IntN(3) {
			if j > 0 {
				e += pick(r, " && ", " || ") + name
			}
			e += pick(r, "=", "!=") + pick(r, "ERROR", "*x*", "4*", `"a b"`, "%^[0-9]+$%", "10", "*R*")
		}
		b = append(b, e)
	}
	return "[" + strings.Join(b, ", ") + "]"
}

var jsonKeys = []string{"a", "b", "c", "d.e"}

func genJSONPattern(r *rand.Rand) string {
	return "{ " + genJSONExpr(r, 2) + " }"
}

func genJSONExpr(r *rand.Rand, depth int) string {
	if depth > 0 && r.IntN(3) == 0 {
		return "(" + genJSONExpr(r, depth-1) + pick(r, " && ", " || ") + genJSONExpr(r, depth-1) + ")"
	}
	sel := pick(r, "$.a", "$.b", "$.a.b", "$.c[0]", "$.c[*]", "$.['d.e']", "$.*", "$.a.c")
	return sel + pick(r,
		` = "x"`, ` = x*`, ` != "x"`, ` = 1`, ` > 0`, ` = %^x%`, ` = *`, ` IS NULL`, ` IS TRUE`, ` NOT EXISTS`, ` = "e\"q"`, ` = true`)
}

func genJSONMessage(r *rand.Rand) string {
	return genJSONObject(r, 2)
}

func genJSONObject(r *rand.Rand, depth int) string {
	n := r.IntN(4)
	var b []string
	for range n {
		k := pick(r, jsonKeys...)
		key := `"` + k + `"`
		if r.IntN(8) == 0 {
			key = `"\u00` + fmt.Sprintf("%x", k[0]) + k[1:] + `"`
		}
		b = append(b, key+":"+genJSONValue(r, depth))
	}
	return "{" + strings.Join(b, ",") + "}"
}

func genJSONValue(r *rand.Rand, depth int) string {
	switch r.IntN(9) {
	case 0:
		if depth > 0 {
			return genJSONObject(r, depth-1)
		}
	case 1:
		if depth > 0 {
			return "[" + genJSONValue(r, depth-1) + "," + genJSONValue(r, depth-1) + "]"
		}
	}
	return pick(r, `"x"`, `"xy"`, `"\u0078"`, `1`, `1.0`, `-2`, `true`, `null`, `"e\"q"`, `"a b"`)
}
