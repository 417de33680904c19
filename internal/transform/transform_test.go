package transform

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// Golden is one hand-written case of testdata/golden.json: a configuration,
// an input message and the transformed event AWS's documentation prints for
// it (expected null: the processor fails and the event carries
// @transformationError). The family's tests run the same file through the
// real server's TestTransformer and PutLogEvents.
type Golden struct {
	Name     string          `json:"name"`
	Config   json.RawMessage `json:"config"`
	Message  string          `json:"message"`
	Expected json.RawMessage `json:"expected"`
}

func loadGolden(t *testing.T) []Golden {
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g []Golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGolden(t *testing.T) {
	seen := map[string]bool{}
	for _, g := range loadGolden(t) {
		t.Run(g.Name, func(t *testing.T) {
			var procs []Processor
			if err := json.Unmarshal(g.Config, &procs); err != nil {
				t.Fatal(err)
			}
			for _, p := range procs {
				name, _, _ := p.member()
				seen[name] = true
			}
			tr, err := Compile(procs)
			if err != nil {
				t.Fatal(err)
			}
			out, ok := tr.Apply(g.Message, Metadata{})
			var got any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("output is not JSON: %s", out)
			}
			if string(g.Expected) == "null" {
				if ok || !strings.Contains(string(out), ErrorField) {
					t.Fatalf("want a failure, got %s", out)
				}
				return
			}
			var want any
			json.Unmarshal(g.Expected, &want)
			if !ok || !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %s\nwant %s", out, g.Expected)
			}
		})
	}
	if len(seen) != 23 {
		t.Errorf("golden cases cover %d of the 23 processors: %v", len(seen), seen)
	}
}

func TestCopyValueMetadata(t *testing.T) {
	tr, err := Compile([]Processor{{ParseJSON: &ParseJSON{}}, {CopyValue: &CopyValue{Entries: []SourceTarget{
		{Source: "@logGroupName", Target: "g"}, {Source: "@logGroupStream", Target: "s"},
		{Source: "@accountId", Target: "a"}, {Source: "@regionName", Target: "r"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := tr.Apply(`{"x":1}`, Metadata{LogGroupName: "grp", LogStreamName: "str", AccountID: "123456789012", Region: "eu-west-1"})
	if string(out) != `{"x":1,"g":"grp","s":"str","a":"123456789012","r":"eu-west-1"}` {
		t.Fatal(string(out))
	}
}

// TestGrokWorkBound: an expression of many library patterns is not run on
// an event so long that the match would exceed the work budget (it does
// not match), and is run on one just inside it; the splitter's shape has no
// such bound.
func TestGrokWorkBound(t *testing.T) {
	m, err := CompileGrok(strings.Repeat("%{IPORHOST:h} ", 4) + "%{GREEDYDATA:rest}")
	if err != nil {
		t.Fatal(err)
	}
	if m.insts < 1000 {
		t.Fatalf("%d instructions: not the heavy expression the test needs", m.insts)
	}
	line := "a.example b.example c.example d.example "
	fits := line + strings.Repeat("x", grokWorkBudget/m.insts-len(line))
	if m.find(fits, nil) == nil {
		t.Fatal("an event inside the budget did not match")
	}
	if m.find(fits+"x", nil) != nil {
		t.Fatal("an event past the budget was matched")
	}
	f, _ := CompileGrok("%{NOTSPACE:a} %{GREEDYDATA:rest}")
	if idx := f.find("x "+strings.Repeat("y", 8<<20), nil); idx == nil {
		t.Fatal("the splitter's shape is bounded too")
	}
}
