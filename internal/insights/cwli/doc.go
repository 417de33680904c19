// Package cwli is the CloudWatch Logs Insights query language (CWLI): lexer,
// parser, planner and executor. It knows nothing of HTTP or AWS error codes.
//
// Data flow: Compile lexes (lexer.go) and parses (parser.go) the text into
// commands, then plans them (query.go, expr.go, stats.go, parse.go, …) into
// a pipeline of stages over rows, or returns a *CompileError with AWS's
// wording and character offsets. The runner (the Insights API family) asks
// the query for its Pushdown: a store.Matcher with required literals so the
// store skips blocks and filters in its decode workers, whether messages
// are needed at all, SOURCE selections, stream and field-index terms, and
// the order and limit that let it stop early. It then scans and feeds each
// store.ScanBlock to an Exec (exec.go) with AddBlock.
//
// Events flow one at a time through the streaming stages (filter, fields,
// parse, unnest, lookup) with no per-event allocation: system fields are
// read from the event, JSON fields are extracted lazily and only those the
// query names (json.go). The first blocking stage keeps a bounded state
// charged against Options.MaxMemory: stats groups (agg.go, distinct.go),
// a top-K heap (the implicit "@timestamp desc, limit 10,000" included), or
// the rows dedup and pattern need. A stats may run in parallel lanes inside
// AddBlock (Options.Parallel), merged in serial order. Snapshot renders the
// partial result while the scan runs; Finish runs the remaining stages over
// the state and renders rows as {field, value} strings exactly as
// GetQueryResults shows them (value.go).
package cwli
