package transform

import (
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
)

// BenchmarkFiveProcessors: a five-processor transformer (grok, then four
// mutators) on the standard benchmark lines (bench.LineGen).
func BenchmarkFiveProcessors(b *testing.B) {
	tr, err := Compile([]Processor{
		{Grok: &Grok{Match: "%{NOTSPACE:first} %{NOTSPACE:second} %{GREEDYDATA:rest}"}},
		{AddKeys: &AddKeys{Entries: []AddKeyEntry{{Key: "env", Value: "prod"}}}},
		{LowerCaseString: &WithKeys{WithKeys: []string{"second"}}},
		{RenameKeys: &RenameKeys{Entries: []RenameKeyEntry{{Key: "first", RenameTo: "head"}}}},
		{CopyValue: &CopyValue{Entries: []SourceTarget{{Source: "@logGroupName", Target: "group"}}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	g := bench.NewLineGen(1)
	lines := make([]string, 4096)
	size := 0
	for i := range lines {
		lines[i] = g.Line()
		size += len(lines[i])
	}
	b.SetBytes(int64(size / len(lines)))
	var buf []byte
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf, _ = tr.AppendApply(buf[:0], lines[i%len(lines)], Metadata{LogGroupName: "g"})
	}
}

// BenchmarkGrok: the grok of BenchmarkFiveProcessors alone on the same
// lines, through the literal splitter and through RE2 alone (the splitter
// switched off, as before it existed).
func BenchmarkGrok(b *testing.B) {
	g := bench.NewLineGen(1)
	lines := make([]string, 4096)
	for i := range lines {
		lines[i] = g.Line()
	}
	for _, fast := range []bool{true, false} {
		name := "splitter"
		if !fast {
			name = "regexp"
		}
		b.Run(name, func(b *testing.B) {
			m, err := CompileGrok("%{NOTSPACE:first} %{NOTSPACE:second} %{GREEDYDATA:rest}")
			if err != nil || m.fast == nil {
				b.Fatalf("%v, fast plan %v", err, m.fast)
			}
			if !fast {
				m.fast = nil
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.find(lines[i%len(lines)], nil)
			}
		})
	}
}
