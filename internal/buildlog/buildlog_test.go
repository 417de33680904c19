package buildlog

import (
	"strings"
	"testing"
)

// TestFinishOffsets: the order keeps offsets fixed (ingestion time first),
// and each offset is the sum of the lines before it.
func TestFinishOffsets(t *testing.T) {
	lines := finish([]buildLine{
		{Message: "late but earlier timestamp", Timestamp: 1, ingested: 20, id: "b"},
		{Message: "first", Timestamp: 5, ingested: 10, id: "a"},
		{Message: "", Timestamp: 6, ingested: 10, id: "c"},
	})
	got := []string{}
	for _, l := range lines {
		got = append(got, l.Message)
	}
	if strings.Join(got, "|") != "first||late but earlier timestamp" || lines[0].Offset != 0 || lines[1].Offset != 6 || lines[2].Offset != 7 {
		t.Fatalf("%+v", lines)
	}
}
