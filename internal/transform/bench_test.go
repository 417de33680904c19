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
