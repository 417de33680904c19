package metricfilter

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// metricValueRef is metricValue's definition: ParseFloat of the trimmed
// text, finite.
func metricValueRef(text string) (float64, bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// TestMetricValue holds metricValue's integer path to its definition,
// bit for bit (-0 keeps its sign), around the 15-digit bound and past it.
func TestMetricValue(t *testing.T) {
	for _, s := range []string{"0", "-0", "00", "007", "1", "1345", "999999999999999", "1000000000000000",
		"9007199254740993", "123456789012345678901", " 12", "12 ", "+12", "-12", "1.5", "1e3", "0x10", "", "12a",
		"١٢", "NaN", "Inf", "1_000"} {
		got, gok := metricValue(s)
		want, wok := metricValueRef(s)
		if gok != wok || math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("metricValue(%q) = %v, %v; want %v, %v", s, got, gok, want, wok)
		}
	}
}

func FuzzMetricValue(f *testing.F) {
	f.Add("1345")
	f.Add("-0")
	f.Add("999999999999999")
	f.Fuzz(func(t *testing.T, s string) {
		got, gok := metricValue(s)
		want, wok := metricValueRef(s)
		if gok != wok || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("metricValue(%q) = %v, %v; want %v, %v", s, got, gok, want, wok)
		}
	})
}
