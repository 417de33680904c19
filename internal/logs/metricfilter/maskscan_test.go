package metricfilter

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
)

// TestEqMasksAVX2: the AVX2 masks equal eqMasks' on random bytes (every
// byte value, the high ones included) for every row count up to maskRows.
func TestEqMasksAVX2(t *testing.T) {
	if !haveAVX2 {
		t.Skip("no AVX2 on this CPU: eqMasks is what runs (and what blockScan's tests check)")
	}
	rng := rand.New(rand.NewSource(1))
	text := make([]byte, 64*9)
	for i := range text {
		text[i] = byte(rng.Intn(256))
		if i%3 == 0 {
			text[i] = "ab 5\x00\xff"[rng.Intn(6)]
		}
	}
	var rows [maskRows][32]byte
	for r := range rows {
		c := "ab 5\x00\xff"[r%6] + byte(r/6)
		for i := range rows[r] {
			rows[r][i] = c
		}
	}
	for n := 1; n <= maskRows; n++ {
		for chunks := 1; chunks <= 9; chunks++ {
			want := make([]uint64, chunks*n)
			got := make([]uint64, chunks*n)
			eqMasks(text, chunks, &rows, n, want)
			eqMasksAVX2(&text[0], chunks, &rows, n, &got[0])
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("n=%d chunks=%d: mask %d is %064b, want %064b", n, chunks, i, got[i], want[i])
				}
			}
		}
	}
}

// TestMaskScanAgrees: the search by masks finds what strings.Contains
// does on the pipeline benchmark's lines with its literals (tuned and not),
// on random short messages and literals (occurrences across the 64-byte
// chunks' edges, straddling messages, repeated bytes, literals of one byte
// and of 64), and it gives up (the literal-by-literal search answers) past
// maskRows bytes or for an empty literal or one longer than 64 bytes.
func TestMaskScanAgrees(t *testing.T) {
	g := bench.NewLineGen(42)
	var lines []string
	for range 2000 {
		lines = append(lines, g.Line())
	}
	start5 := newRareLiteral("5")
	start5.start = true
	lits := []rareLiteral{newRareLiteral("ERROR"), newRareLiteral("WARN"), newRareLiteral("timeout"), start5,
		newRareLiteral("FATAL"), newRareLiteral("cache miss"), newRareLiteral(`"level"`)}
	for i := range lits {
		lits[i].id = i
	}
	checkBlockScan(t, lits, lines)

	rng := rand.New(rand.NewSource(7))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "ab 5\"["[rng.Intn(6)]
		}
		return string(b)
	}
	for round := 0; round < 300; round++ {
		var msgs []string
		for range 1 + rng.Intn(40) {
			msgs = append(msgs, word(rng.Intn(150)))
		}
		var lits []rareLiteral
		for i := range 1 + rng.Intn(6) {
			l := newRareLiteral(word(1 + rng.Intn(4)))
			if round%5 == 0 {
				l = newRareLiteral(strings.Repeat("a", 64))
			}
			l.start, l.id = rng.Intn(2) == 0, i*9
			lits = append(lits, l)
		}
		checkBlockScan(t, lits, msgs)
	}

	var rows [maskRows][32]byte
	many := []rareLiteral{newRareLiteral("abcdefghijklmnopq")}
	many[0].rare, many[0].rare2 = 0, 1
	for _, c := range []struct {
		lits []rareLiteral
		ok   bool
	}{
		{[]rareLiteral{newRareLiteral(strings.Repeat("x", 64))}, true},
		{[]rareLiteral{newRareLiteral(strings.Repeat("x", 65))}, false},
		{[]rareLiteral{newRareLiteral("")}, false},
		{[]rareLiteral{newRareLiteral("ab"), newRareLiteral("cd"), newRareLiteral("ef"), newRareLiteral("gh"), newRareLiteral("ij"),
			newRareLiteral("kl"), newRareLiteral("mn"), newRareLiteral("op")}, true},
		{[]rareLiteral{newRareLiteral("ab"), newRareLiteral("cd"), newRareLiteral("ef"), newRareLiteral("gh"), newRareLiteral("ij"),
			newRareLiteral("kl"), newRareLiteral("mn"), newRareLiteral("op"), newRareLiteral("qr")}, false},
	} {
		if _, _, ok := maskPlan(c.lits, &rows, nil); ok != c.ok {
			t.Errorf("maskPlan(%q...): ok %v, want %v", c.lits[0].s, ok, c.ok)
		}
	}
}

// BenchmarkBlockScan: the block search of the pipeline benchmark's eager
// literals (the five term literals and the "5" at a field start) over a
// 1,000-event block, literal by literal and by masks.
func BenchmarkBlockScan(b *testing.B) {
	r := pipelineRun(b)
	block := pipelineEvents()[:1000]
	for _, masks := range []bool{false, true} {
		b.Run(map[bool]string{false: "indexbyte", true: "masks"}[masks], func(b *testing.B) {
			lits := append([]rareLiteral(nil), r.eager...)
			var bs blockScratch
			blockScan(block, lits, true, &bs, masks)
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				blockScan(block, lits, false, &bs, masks && haveAVX2)
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N*len(block)), "cpu-ns/event")
		})
	}
}
