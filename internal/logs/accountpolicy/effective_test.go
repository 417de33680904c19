package accountpolicy

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// TestEffective: the lookup the enforcing families call, on the real engine.
func TestEffective(t *testing.T) {
	st, err := embedded.Open(embedded.Config{Dir: filepath.Join(t.TempDir(), "d")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(Config{Store: st})
	c := caller.System("123456789012", "us-east-1", "test", "logs:PutAccountPolicy", "logs:PutTransformer")
	ctx := context.Background()
	doc := `{"transformerConfig":[{"parseJSON":{}}]}`
	for name, crit := range map[string]string{"all": "", "aws": `LogGroupNamePrefix IN ["/aws"]`, "app": `LogGroupNamePrefix IN ["/app/web", "/x"]`} {
		in := &PutAccountPolicyInput{PolicyName: name, PolicyType: Transformer, PolicyDocument: doc}
		if crit != "" {
			in.SelectionCriteria = &crit
		}
		if _, err := s.PutAccountPolicy(ctx, c, in); err != nil {
			t.Fatal(err)
		}
	}
	scope := store.Scope{Account: "123456789012", Region: "us-east-1"}
	for group, want := range map[string][]string{"/aws/lambda/f": {"aws", "all"}, "/app/web/1": {"app", "all"}, "other": {"all"}} {
		ps, err := s.Effective(ctx, scope, Transformer, group)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.PolicyName)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", group, got, want)
		}
	}
	sel, _ := parseSelection(`LogGroupName NOT IN ["a", "b"]`)
	if sel.Selects("a") || !sel.Selects("c") {
		t.Errorf("NOT IN: %+v", sel)
	}
}

// FuzzSelection: the criteria parser never panics, and what it accepts it
// accepts again identically.
func FuzzSelection(f *testing.F) {
	for _, s := range []string{`LogGroupName NOT IN ["a","b"]`, `LogGroupNamePrefix IN ["/aws"]`, `DataSourceName = "amazon_vpc" AND DataSourceType = "flow"`, "", "IN", `LogGroupName IN [`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, why := parseSelection(s)
		if why != "" {
			return
		}
		_ = sel.Selects("g")
		again, why2 := parseSelection(s)
		if why2 != "" || !slices.Equal(again.Values, sel.Values) || again.Field != sel.Field || again.Not != sel.Not {
			t.Fatalf("not deterministic: %q", s)
		}
	})
}

// TestEffectiveAcrossNodes: two services on one store (two nodes of a
// cluster, each with its own cache): a Put, a replacement and a Delete on
// one apply to the other's next lookup, and a lookup repeated with no
// change returns the same policies.
func TestEffectiveAcrossNodes(t *testing.T) {
	st, err := embedded.Open(embedded.Config{Dir: filepath.Join(t.TempDir(), "d")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, b := New(Config{Store: st}), New(Config{Store: st})
	c := caller.System("123456789012", "us-east-1", "test", "logs:PutAccountPolicy", "logs:PutTransformer",
		"logs:DeleteAccountPolicy", "logs:DeleteTransformer")
	ctx := context.Background()
	scope := store.Scope{Account: "123456789012", Region: "us-east-1"}
	docs := func(s *Service) []string {
		t.Helper()
		ps, err := s.Effective(ctx, scope, Transformer, "g")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, p.PolicyName+"="+p.PolicyDocument)
		}
		return out
	}
	put := func(s *Service, name, doc string) {
		t.Helper()
		if _, err := s.PutAccountPolicy(ctx, c, &PutAccountPolicyInput{PolicyName: name, PolicyType: Transformer, PolicyDocument: doc}); err != nil {
			t.Fatal(err)
		}
	}
	one := `{"transformerConfig":[{"parseJSON":{}}]}`
	two := `{"transformerConfig":[{"lowerCaseString":{"withKeys":["a"]}}]}`
	for _, s := range []*Service{a, b, b} {
		if got := docs(s); len(got) != 0 {
			t.Fatalf("before any Put: %v", got)
		}
	}
	put(a, "p", one)
	for _, s := range []*Service{b, a, b} {
		if got := docs(s); !slices.Equal(got, []string{"p=" + one}) {
			t.Fatalf("after the Put on the other node: %v", got)
		}
	}
	put(b, "p", two)
	for _, s := range []*Service{a, b, a} {
		if got := docs(s); !slices.Equal(got, []string{"p=" + two}) {
			t.Fatalf("after the replacement: %v", got)
		}
	}
	if _, err := a.DeleteAccountPolicy(ctx, c, &DeleteAccountPolicyInput{PolicyName: "p", PolicyType: Transformer}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Service{b, a} {
		if got := docs(s); len(got) != 0 {
			t.Fatalf("after the Delete on the other node: %v", got)
		}
	}
}
