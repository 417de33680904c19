// Package cwli is the CloudWatch Logs Insights query language (CWLI): lexer,
// parser, planner and executor. It knows nothing of HTTP or AWS error codes.
//
// Data flow: Compile turns query text into a *Query (a pipeline of stages)
// or a *CompileError with AWS-style offsets. The runner (the Insights API
// family) asks the query for its Pushdown (a store.Matcher with required
// literals so the store can skip blocks, whether messages are needed at all,
// SOURCE names, the order and limit that let it stop early), starts a scan,
// and feeds each store.ScanBlock to an Exec with AddBlock. Events flow
// through the streaming stages (filter, fields, parse, unnest) one at a time
// without materialising field maps; the first blocking stage (stats, sort,
// dedup, pattern, the implicit "@timestamp desc, limit 10,000") keeps a
// bounded state (aggregation groups, a top-K heap) charged against
// Options.MaxMemory. Snapshot renders the partial result while the scan runs;
// Finish runs the remaining stages over the state and renders rows as
// {field, value} strings exactly as GetQueryResults shows them.
package cwli
