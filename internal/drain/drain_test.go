package drain

import (
	"fmt"
	"reflect"
	"testing"
)

func TestClusters(t *testing.T) {
	m := New(Config{})
	var ids []int
	for i := 0; i < 50; i++ {
		ids = append(ids, m.Add(fmt.Sprintf("user %d logged in from 10.0.%d.%d", i, i%7, i%250)))
	}
	for i := 0; i < 20; i++ {
		m.Add(fmt.Sprintf("cache miss for key session-%c took %dms", 'a'+i%26, i))
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("one template expected, got ids %v", ids)
		}
	}
	ts := m.Templates()
	if len(ts) != 2 {
		for _, x := range ts {
			t.Log(x.String(), x.Count)
		}
		t.Fatalf("%d templates", len(ts))
	}
	if got := ts[0].String(); got != "user <*> logged in from <*>" || ts[0].Count != 50 || ts[0].Sample != "user 0 logged in from 10.0.0.0" {
		t.Fatalf("template %q count %d sample %q", got, ts[0].Count, ts[0].Sample)
	}
	if got := ts[1].String(); got != "cache miss for key <*> took <*>" || ts[1].Count != 20 {
		t.Fatalf("template %q count %d", got, ts[1].Count)
	}
	var types []string
	for _, tok := range ts[0].Tokens {
		if tok.Dynamic {
			types = append(types, tok.Type)
		}
	}
	if fmt.Sprint(types) != "[Number IPAddress]" {
		t.Fatalf("token types %v", types)
	}
}

func TestBounded(t *testing.T) {
	m := New(Config{MaxClusters: 10})
	for i := 0; i < 1000; i++ {
		// every message its own shape (different token counts)
		m.Add(fmt.Sprintf("w%s", string(make([]byte, i%300))))
	}
	if n := len(m.Templates()); n > 10 {
		t.Fatalf("%d clusters kept, bound is 10", n)
	}
	toks := Tokenize(string(make([]byte, 0))+repeat("a ", 10000), 200)
	if len(toks) > 200 {
		t.Fatalf("%d tokens", len(toks))
	}
}

func repeat(s string, n int) string {
	b := make([]byte, 0, len(s)*n)
	for i := 0; i < n; i++ {
		b = append(b, s...)
	}
	return string(b)
}

func FuzzAdd(f *testing.F) {
	f.Add("user 1 logged in from 10.0.0.1")
	f.Add("2024-01-02T03:04:05Z ERROR [x=1] ok")
	f.Fuzz(func(t *testing.T, s string) {
		m := New(Config{MaxClusters: 5})
		id := m.Add(s)
		if _, ok := m.Template(id); !ok {
			t.Fatal("template of the message missing")
		}
		m.Add(s)
	})
}

// TestRestore: a Miner restored from State clusters what follows as the
// original does (same IDs, same templates), evictions included.
func TestRestore(t *testing.T) {
	cfg := Config{MaxClusters: 20}
	msg := func(i int) string {
		return fmt.Sprintf("svc%d request %d took %dms from 10.0.%d.1", i%37, i, i%50, i%9)
	}
	a := New(cfg)
	for i := 0; i < 500; i++ {
		a.Add(msg(i))
	}
	b := Restore(cfg, a.State())
	for i := 500; i < 1500; i++ {
		if x, y := a.Add(msg(i*7)), b.Add(msg(i*7)); x != y {
			t.Fatalf("message %d: cluster %d, restored %d", i, x, y)
		}
	}
	if !reflect.DeepEqual(a.Templates(), b.Templates()) {
		t.Fatal("templates differ")
	}
	// Untrusted input: repeated and out-of-range IDs, empty paths are dropped.
	bad := State{NextID: 2, Clusters: []ClusterState{{ID: 1, Tokens: []Token{{Text: "a"}}, Path: []string{"1"}},
		{ID: 1, Tokens: []Token{{Text: "b"}}, Path: []string{"1"}}, {ID: 3, Tokens: []Token{{Text: "c"}}, Path: []string{"1"}},
		{ID: 2, Tokens: []Token{{Text: "d"}}}}}
	if n := len(Restore(Config{}, bad).Templates()); n != 1 {
		t.Fatalf("%d clusters restored", n)
	}
}
