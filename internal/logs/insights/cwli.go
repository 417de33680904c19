package insights

import (
	"errors"
	"strings"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/insights/cwli"
	"github.com/cairnlog/cairn/internal/insights/run"
	"github.com/cairnlog/cairn/internal/store"
)

// CWLI is the Logs Insights query language of package insights/cwli.
func CWLI() Language { return cwliLang{} }

type cwliLang struct{}

func (cwliLang) Compile(text string) (Plan, error) {
	q, err := cwli.Compile(text)
	if err != nil {
		var ce *cwli.CompileError
		if errors.As(err, &ce) {
			return nil, awserr.QueryCompileError(ce.Start, ce.End, ce.Message)
		}
		return nil, err
	}
	return cwliPlan{q: q, pd: q.Pushdown()}, nil
}

func (cwliLang) Discover(ev store.StoredEvent) []string { return cwli.DiscoverFields(ev) }

// Record runs `fields` of every discovered non-system field over the one
// event: the language's own flattening, so GetLogRecord shows what a query
// sees.
func (cwliLang) Record(group string, ev store.StoredEvent) (map[string]string, error) {
	var cols []string
	for _, f := range cwli.DiscoverFields(ev) {
		if strings.HasPrefix(f, "@") || strings.ContainsRune(f, '`') {
			continue // system fields are the caller's; @@names and backticks cannot be named in a query
		}
		cols = append(cols, "`"+f+"`")
	}
	out := map[string]string{}
	if len(cols) == 0 {
		return out, nil
	}
	q, err := cwli.Compile("fields " + strings.Join(cols, ", "))
	if err != nil {
		return out, nil // a name the language cannot spell: show the system fields only
	}
	x := q.Run(cwli.Options{Start: ev.Timestamp, End: ev.Timestamp, Limit: 1})
	x.AddBlock(group, store.ScanBlock{Group: group, Events: []store.StoredEvent{ev}})
	res, err := x.Finish()
	if err != nil {
		return nil, err
	}
	for _, r := range res.Rows {
		for _, f := range r {
			if !strings.HasPrefix(f.Field, "@") {
				out[f.Field] = f.Value
			}
		}
	}
	return out, nil
}

type cwliPlan struct {
	q  *cwli.Query
	pd cwli.Pushdown
}

func (p cwliPlan) Filter() store.Matcher { return p.pd.Filter }

func (p cwliPlan) NeedMessage() bool { return p.pd.NeedMessage }

func (p cwliPlan) Unmask() bool { return p.pd.Unmask }

// Source is the query's SOURCE command as the family selects by it.
func (p cwliPlan) Source() *Source {
	sp := p.pd.Source
	if sp == nil {
		return nil
	}
	return &Source{Names: sp.Names,
		Selector: sp.All || len(sp.NamePrefixes) > 0 || len(sp.AccountIdentifiers) > 0 || len(sp.Classes) > 0,
		Prefixes: sp.NamePrefixes, Accounts: sp.AccountIdentifiers, Classes: sp.Classes,
		HasStart: sp.HasStart, HasEnd: sp.HasEnd, Start: sp.Start, End: sp.End, StartRelative: sp.StartRelative, EndRelative: sp.EndRelative}
}

func (p cwliPlan) Streams() []string { return p.pd.Streams }

// Newest: Pushdown's Order -1 is a query that keeps its first Limit events
// by @timestamp descending (its own limit, or the default 10,000), cut
// further by StartQuery's limit.
func (p cwliPlan) Newest(limit int) int {
	if p.pd.Order != -1 || p.pd.Any {
		return 0
	}
	n := p.pd.Limit
	if n <= 0 {
		n = cwli.DefaultLimit
	}
	if limit > 0 {
		n = min(n, limit)
	}
	return n
}

func (p cwliPlan) Start(o RunOptions) run.Exec {
	return p.q.Run(cwli.Options{Start: o.Start, End: o.End, Limit: o.Limit, Ptr: o.Ptr, LogName: o.LogName, MaxMemory: o.MaxMemory, Now: o.Now,
		Parallel: o.Parallel, Lookup: o.Lookup, Unmask: o.Unmask, Shared: o.Shared})
}
