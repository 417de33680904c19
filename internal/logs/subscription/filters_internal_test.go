package subscription

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// TestFiltersSkipsStoredFilterThatNoLongerCompiles: a stored filter whose
// pattern this build rejects (one put before MaxRegexProgram bounded
// %regex%) is left out of Filters, and the others are still delivered.
// Before, Filters failed as a whole and the delivery manager's reload with
// it, for every account.
func TestFiltersSkipsStoredFilterThatNoLongerCompiles(t *testing.T) {
	eng, err := embedded.Open(embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx := context.Background()
	scope := store.Scope{Account: "123456789012", Region: "us-east-1"}
	if err := eng.CreateGroup(ctx, store.Group{Scope: scope, Name: "g", CreationTime: 1}); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Store: eng, Compile: func(expr string) (logs.Pattern, error) { return pattern.Compile(expr) }})
	for name, pat := range map[string]string{"old": "%.{0,1000}x%", "ok": "ERROR"} {
		rec, _ := json.Marshal(filterRecord{FilterName: name, LogGroupName: "g", FilterPattern: pat,
			DestinationArn: "arn:aws:lambda:us-east-1:123456789012:function:f", Distribution: "ByLogStream"})
		if err := eng.PutResource(ctx, store.ResourceKey{Scope: scope, Group: "g", Kind: kindFilter, Name: name}, rec); err != nil {
			t.Fatal(err)
		}
		if err := eng.PutResource(ctx, indexKey(scope, "g", name), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pattern.Compile("%.{0,1000}x%"); err == nil {
		t.Fatal("the old filter's pattern compiles; the test needs one that does not")
	}
	fs, err := s.Filters(ctx)
	if err != nil {
		t.Fatalf("Filters: %v", err)
	}
	if len(fs) != 1 || fs[0].Name != "ok" {
		t.Fatalf("Filters = %+v, want the filter ok only", fs)
	}
}
