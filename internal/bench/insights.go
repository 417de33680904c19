package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
)

// The Logs Insights read phase (cairn bench --insights): the query
// shapes through StartQuery and GetQueryResults, over every group of the
// run (up to 50, StartQuery's limit), each timed from StartQuery to the
// GetQueryResults that reports Complete, polled every 5 ms.

// InsightsShape is one measured query.
type InsightsShape struct {
	Name, Query string
}

// InsightsShapes are the six shapes, in the generator's
// vocabulary: bins of timestamps only, a regex over every message, the
// newest 20 events, a rare term, a JSON field averaged by user, and a parse
// of the access-log lines.
var InsightsShapes = []InsightsShape{
	{"count by bin(5m)", "stats count() by bin(5m)"},
	{"like /ERROR/ by bin(1h)", "filter @message like /ERROR/ | stats count() by bin(1h)"},
	{"newest 20", "fields @timestamp, @message | sort @timestamp desc | limit 20"},
	{"rare term", "filter @message like /" + RareToken + "/ | fields @timestamp, @message"},
	{"avg(latency_ms) by user (JSON)", "filter ispresent(latency_ms) | stats avg(latency_ms) by user"},
	{"parse access logs by status", `parse @message /" (?<status>\d{3}) / | filter ispresent(status) | stats count() by status`},
}

// CompareShape is one question asked of both systems in --compare mode:
// the Insights query Cairn runs and the LogsQL VictoriaLogs runs, over the
// same lines. n is each side's count column, so the answers can be checked
// against each other (the sum of n over the rows).
type CompareShape struct {
	Name, Insights, LogsQL string
}

// CompareShapes: bins of timestamps, a substring filter with a count, and a
// JSON field aggregated by another. VictoriaLogs stores each line as _msg
// and unpacks the JSON at query time (unpack_json), as Insights does; its
// word filter "latency_ms" plays the part of Cairn's pushdown of
// ispresent(latency_ms). Both cap the JSON answer at 10,000 rows (Insights'
// default limit) and compute every group to get there.
var CompareShapes = []CompareShape{
	{"count by bin(5m)", "stats count() as n by bin(5m)", "| stats by (_time:5m) count() n"},
	{"substring ERROR, count", `filter @message like "ERROR" | stats count() as n`, "*ERROR* | stats count() n"},
	{"avg(latency_ms) by user (JSON)", "filter ispresent(latency_ms) | stats avg(latency_ms) as a by user",
		`"latency_ms" | unpack_json fields (user, latency_ms) | filter latency_ms:* | stats by (user) avg(latency_ms) a | limit 10000`},
}

// InsightsResult is one shape's figures.
type InsightsResult struct {
	InsightsShape
	Time time.Duration // median of the runs
	// ServerCPU is the server's CPU time (user+system) per run, the mean
	// of the runs: on a loaded machine it is steadier than Time, and
	// BytesScanned / ServerCPU is the rate per core.
	ServerCPU      time.Duration
	Rows           int
	RecordsScanned float64
	RecordsMatched float64
	BytesScanned   float64
}

// InsightsReport holds the Insights figures.
type InsightsReport struct {
	Results []InsightsResult
	// Concurrent is 10 queries at once (the shapes, and a stats by a
	// high-cardinality key), all started together: the wall time until the
	// last completed, and the server's peak RSS sampled meanwhile.
	Concurrent        time.Duration
	ConcurrentPeakRSS int64
	// Compare is the CompareShapes, in their order (--compare mode only).
	Compare []CompareResult
	// ComparedPeakRSS is the server's VmHWM once the CompareShapes ran,
	// before the phases only Cairn runs (the six shapes, the ten at
	// once): its peak over what both systems of a comparison did (0 when
	// unknown or not comparing).
	ComparedPeakRSS int64
}

// CompareResult is one CompareShape's answer on one system.
type CompareResult struct {
	Name  string
	Time  time.Duration // median of 3
	Rows  int
	Total float64 // Σ n over the rows (NaN for a shape without n)
	// ServerCPU is the server's user+system CPU time a run (the mean of
	// the 3; 0 when unknown): on a loaded machine it is steadier than
	// Time, and the ratio of the two systems' CPU is what an idle machine
	// with as many cores would show at most.
	ServerCPU time.Duration
}

type queryResults struct {
	Status     string `json:"status"`
	Results    [][]struct{ Field, Value string }
	Statistics struct {
		RecordsMatched float64 `json:"recordsMatched"`
		RecordsScanned float64 `json:"recordsScanned"`
		BytesScanned   float64 `json:"bytesScanned"`
	} `json:"statistics"`
}

// runQuery starts q over groups in [fromS, toS] and polls it to the end.
func (c *client) runQuery(ctx context.Context, groups []string, q string, fromS, toS int64) (time.Duration, *queryResults, error) {
	t := time.Now()
	var started struct {
		QueryID string `json:"queryId"`
	}
	if err := c.call(ctx, "StartQuery", map[string]any{"logGroupNames": groups, "queryString": q, "startTime": fromS, "endTime": toS}, &started); err != nil {
		return 0, nil, err
	}
	in, err := json.Marshal(map[string]any{"queryId": started.QueryID})
	if err != nil {
		return 0, nil, err
	}
	for {
		body, err := c.do(ctx, "GetQueryResults", in, payloadHash(in))
		if err != nil {
			return 0, nil, err
		}
		// A Running answer's partial rows are thrown away: the client reads
		// only its status. Decoding them in full (10,000 rows of the JSON
		// shape, ~0.8 MB, at every 5 ms poll) kept one of the machine's two
		// cores busy in the client while the server ran the query, so the
		// figure measured the client. Every poll, its answer and the bytes
		// sent are the same; the final answer is decoded in full.
		var r queryResults
		if st, ok := topStatus(body); ok && st != "Complete" {
			r.Status = st
		} else if err := json.Unmarshal(body, &r); err != nil {
			return 0, nil, err
		}
		switch r.Status {
		case "Complete":
			return time.Since(t), &r, nil
		case "Failed", "Cancelled", "Timeout":
			return 0, nil, fmt.Errorf("query %q ended %s", q, r.Status)
		}
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (c *client) insights(ctx context.Context, w *Workload, serverPID int) (*InsightsReport, error) {
	var groups []string
	for i := 0; i < min(w.Groups, 50); i++ {
		groups = append(groups, w.Group(i))
	}
	fromS, toS := w.FirstMs/1000-1, time.Now().Unix()+60
	rep := &InsightsReport{}
	// The CompareShapes first (both systems run them), then the shapes
	// only Cairn runs.
	if c.compare {
		for _, sh := range CompareShapes {
			var times []time.Duration
			var last *queryResults
			cpu0 := procCPU(serverPID)
			for i := 0; i < 3; i++ {
				d, r, err := c.runQuery(ctx, groups, sh.Insights, fromS, toS)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", sh.Name, err)
				}
				times, last = append(times, d), r
			}
			cr := CompareResult{Name: sh.Name, Time: medianDuration(times), Rows: len(last.Results), Total: math.NaN(),
				ServerCPU: (procCPU(serverPID) - cpu0) / 3}
			for _, row := range last.Results {
				for _, f := range row {
					if f.Field == "n" {
						v, _ := strconv.ParseFloat(f.Value, 64)
						cr.Total = nanAdd(cr.Total, v)
					}
				}
			}
			rep.Compare = append(rep.Compare, cr)
		}
		// The peak so far: ingest, the reads and these, what the peer
		// did too. The six shapes and the ten at once come after.
		rep.ComparedPeakRSS = procStatus(serverPID, "VmHWM:")
	}
	for _, sh := range InsightsShapes {
		var times []time.Duration
		var last *queryResults
		cpu0 := procCPU(serverPID)
		for i := 0; i < 3; i++ {
			d, r, err := c.runQuery(ctx, groups, sh.Query, fromS, toS)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", sh.Name, err)
			}
			times, last = append(times, d), r
		}
		cpu := (procCPU(serverPID) - cpu0) / 3
		rep.Results = append(rep.Results, InsightsResult{InsightsShape: sh, Time: medianDuration(times), ServerCPU: cpu, Rows: len(last.Results),
			RecordsScanned: last.Statistics.RecordsScanned, RecordsMatched: last.Statistics.RecordsMatched, BytesScanned: last.Statistics.BytesScanned})
	}
	// Ten at once: the six shapes, a stats by a high-cardinality key (the
	// JSON lines' req ids), and three more full scans.
	all := []string{}
	for _, sh := range InsightsShapes {
		all = append(all, sh.Query)
	}
	all = append(all, "filter ispresent(req) | stats count() by req", "stats count() by @logStream", "filter @message like /timeout/ | stats count()",
		"fields strlen(@message) as n | stats sum(n)")
	rss := rssSampler{pid: serverPID}
	stop := rss.start()
	t := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(all))
	for i, q := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = c.runQuery(ctx, groups, q, fromS, toS)
		}()
	}
	wg.Wait()
	rep.Concurrent = time.Since(t)
	stop()
	rep.ConcurrentPeakRSS = rss.max
	return rep, errors.Join(errs...)
}

// nanAdd is a + b where a NaN a means nothing yet.
func nanAdd(a, b float64) float64 {
	if math.IsNaN(a) {
		return b
	}
	return a + b
}

// insights asks VictoriaLogs the CompareShapes in LogsQL over every group of
// the run, each three times, timed from the request to the last line of the
// answer.
func (c *vlClient) insights(ctx context.Context, serverPID int) (*InsightsReport, error) {
	sel := `_stream:{group=~` + strconv.Quote(regexpQuote(c.prefix)+"-g.*") + `} `
	rep := &InsightsReport{}
	for _, sh := range CompareShapes {
		var times []time.Duration
		cr := CompareResult{Name: sh.Name}
		cpu0 := procCPU(serverPID)
		for i := 0; i < 3; i++ {
			total := math.NaN()
			n, d, err := c.query(ctx, sel+sh.LogsQL, func(line []byte) error {
				var row map[string]string
				if err := json.Unmarshal(line, &row); err != nil {
					return err
				}
				if v, ok := row["n"]; ok {
					f, _ := strconv.ParseFloat(v, 64)
					total = nanAdd(total, f)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", sh.Name, err)
			}
			times, cr.Rows, cr.Total = append(times, d), n, total
		}
		cr.Time = medianDuration(times)
		cr.ServerCPU = (procCPU(serverPID) - cpu0) / 3
		rep.Compare = append(rep.Compare, cr)
	}
	return rep, nil
}

// topStatus finds a GetQueryResults answer's status without decoding its
// rows: the value after `"status":"`. That byte sequence cannot occur
// inside a JSON string (its second quote would end the string) and no
// other object of the answer has a status key, so it occurs once, as the
// top-level member (searched from the end: Cairn writes it after the rows). ok is false when it is not there in that exact form
// (other spacing, an escape in the value): decode the whole answer then.
func topStatus(body []byte) (string, bool) {
	const key = `"status":"`
	i := bytes.LastIndex(body, []byte(key))
	if i < 0 {
		return "", false
	}
	v := body[i+len(key):]
	j := bytes.IndexByte(v, '"')
	if j < 0 || bytes.IndexByte(v[:j], '\\') >= 0 {
		return "", false
	}
	return string(v[:j]), true
}
