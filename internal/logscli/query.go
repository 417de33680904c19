package logscli

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	json "github.com/goccy/go-json"
)

// QueryClient is the part of the API `cairn logs query` uses.
type QueryClient interface {
	StartQuery(context.Context, *cwl.StartQueryInput, ...func(*cwl.Options)) (*cwl.StartQueryOutput, error)
	GetQueryResults(context.Context, *cwl.GetQueryResultsInput, ...func(*cwl.Options)) (*cwl.GetQueryResultsOutput, error)
	StopQuery(context.Context, *cwl.StopQueryInput, ...func(*cwl.Options)) (*cwl.StopQueryOutput, error)
}

// QueryOptions are one `cairn logs query`.
type QueryOptions struct {
	Groups     []string // none: the query's SOURCE command names them
	Query      string
	Start, End time.Time
	Limit      int    // 0: the query's own
	Format     string // table (default), json or csv
	// Progress receives a status line while the query runs (nil: none);
	// Live rewrites it in place (a terminal).
	Progress io.Writer
	Live     bool
	Interval time.Duration // between polls; 0: 250 ms
	// Chart draws a bar chart under a table whose rows are time bins
	// (stats … by bin()); Width is the terminal's width (0: 80).
	Chart bool
	Width int
}

// ErrQueryStopped is a query ended by the user (Ctrl-C); it was stopped on
// the server too.
var ErrQueryStopped = errors.New("query stopped")

// Query runs a Logs Insights query and prints its rows. When ctx ends
// before the query does (Ctrl-C), the query is stopped on the server.
func Query(ctx context.Context, c QueryClient, w io.Writer, o QueryOptions) error {
	in := &cwl.StartQueryInput{QueryString: aws.String(o.Query), StartTime: aws.Int64(o.Start.Unix()),
		EndTime: aws.Int64(o.End.Unix())}
	if len(o.Groups) > 0 {
		in.LogGroupNames = o.Groups
	}
	if o.Limit > 0 {
		in.Limit = aws.Int32(int32(o.Limit))
	}
	started, err := c.StartQuery(ctx, in)
	if err != nil {
		return err
	}
	id := started.QueryId
	every := o.Interval
	if every <= 0 {
		every = 250 * time.Millisecond
	}
	var out *cwl.GetQueryResultsOutput
	began := time.Now()
	for {
		out, err = c.GetQueryResults(ctx, &cwl.GetQueryResultsInput{QueryId: id})
		if err != nil && ctx.Err() == nil {
			return err
		}
		if ctx.Err() != nil {
			// Stop it on the server with a context of its own: ours is done.
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, serr := c.StopQuery(sctx, &cwl.StopQueryInput{QueryId: id})
			cancel()
			if o.Progress != nil {
				if o.Live {
					fmt.Fprint(o.Progress, "\r\033[K")
				}
				if serr != nil {
					fmt.Fprintf(o.Progress, "query %s: stopping it failed: %v\n", aws.ToString(id), serr)
				} else {
					fmt.Fprintf(o.Progress, "query %s stopped\n", aws.ToString(id))
				}
			}
			return ErrQueryStopped
		}
		if o.Progress != nil {
			progress(o.Progress, o.Live, out, time.Since(began))
		}
		if terminal(out.Status) {
			break
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	if o.Progress != nil && o.Live {
		fmt.Fprint(o.Progress, "\r\033[K")
	}
	if o.Progress != nil {
		progress(o.Progress, false, out, time.Since(began))
	}
	rows := out.Results
	for tok := out.NextToken; tok != nil; {
		page, err := c.GetQueryResults(ctx, &cwl.GetQueryResultsInput{QueryId: id, NextToken: tok})
		if err != nil {
			return err
		}
		rows = append(rows, page.Results...)
		tok = page.NextToken
	}
	if err := PrintRows(w, rows, o); err != nil {
		return err
	}
	if out.Status != types.QueryStatusComplete {
		return fmt.Errorf("query %s ended %s; the rows shown are partial", aws.ToString(id), out.Status)
	}
	return nil
}

func terminal(s types.QueryStatus) bool {
	switch s {
	case types.QueryStatusComplete, types.QueryStatusFailed, types.QueryStatusCancelled, types.QueryStatusTimeout:
		return true
	}
	return false
}

func progress(w io.Writer, live bool, out *cwl.GetQueryResultsOutput, took time.Duration) {
	var st types.QueryStatistics
	if out.Statistics != nil {
		st = *out.Statistics
	}
	line := fmt.Sprintf("%s: %s records scanned (%s), %s matched, %d rows, %.1fs", out.Status, grouped(st.RecordsScanned),
		byteSize(st.BytesScanned), grouped(st.RecordsMatched), len(out.Results), took.Seconds())
	if live {
		fmt.Fprint(w, "\r\033[K"+line)
		return
	}
	fmt.Fprintln(w, line)
}

// grouped writes a count with thousands separators.
func grouped(f float64) string {
	s := strconv.FormatInt(int64(f), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func byteSize(f float64) string {
	const unit = 1024
	if f < unit {
		return fmt.Sprintf("%d B", int64(f))
	}
	div, exp := float64(unit), 0
	for n := f / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", f/div, "KMGTPE"[exp])
}

// columns are the fields of rows in order of first appearance, without
// @ptr (an opaque pointer, for GetLogRecord).
func columns(rows [][]types.ResultField) []string {
	seen := map[string]bool{}
	var cols []string
	for _, r := range rows {
		for _, f := range r {
			name := aws.ToString(f.Field)
			if name == "@ptr" || seen[name] {
				continue
			}
			seen[name] = true
			cols = append(cols, name)
		}
	}
	return cols
}

func rowMap(r []types.ResultField) map[string]string {
	m := make(map[string]string, len(r))
	for _, f := range r {
		m[aws.ToString(f.Field)] = aws.ToString(f.Value)
	}
	return m
}

// PrintRows writes rows as a table (with a bar chart of time bins when
// o.Chart), JSON lines (one object per row) or CSV with a header.
func PrintRows(w io.Writer, rows [][]types.ResultField, o QueryOptions) error {
	cols := columns(rows)
	switch o.Format {
	case "json":
		for _, r := range rows {
			obj := map[string]string{}
			for _, f := range r {
				if n := aws.ToString(f.Field); n != "@ptr" {
					obj[n] = aws.ToString(f.Value)
				}
			}
			b, err := json.Marshal(obj)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "%s\n", b); err != nil {
				return err
			}
		}
		return nil
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(cols); err != nil {
			return err
		}
		for _, r := range rows {
			m := rowMap(r)
			rec := make([]string, len(cols))
			for i, c := range cols {
				rec[i] = m[c]
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	case "", "table":
	default:
		return fmt.Errorf("unknown format %q: table, json or csv", o.Format)
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no rows")
		return err
	}
	width := o.Width
	if width <= 0 {
		width = 80
	}
	maxCell := 200 // a long @message is cut in the table; json and csv have it whole
	widths := make([]int, len(cols))
	for i, c := range cols {
		widths[i] = utf8.RuneCountInString(c)
	}
	cells := make([][]string, len(rows))
	for j, r := range rows {
		m := rowMap(r)
		cells[j] = make([]string, len(cols))
		for i, c := range cols {
			v := strings.ReplaceAll(m[c], "\n", " ")
			if utf8.RuneCountInString(v) > maxCell {
				v = string([]rune(v)[:maxCell-1]) + "…"
			}
			cells[j][i] = v
			widths[i] = max(widths[i], utf8.RuneCountInString(v))
		}
	}
	line := func(vals []string) error {
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(v)
			if i < len(vals)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(v)))
			}
		}
		b.WriteByte('\n')
		_, err := io.WriteString(w, b.String())
		return err
	}
	if err := line(cols); err != nil {
		return err
	}
	rule := make([]string, len(cols))
	for i := range cols {
		rule[i] = strings.Repeat("-", widths[i])
	}
	if err := line(rule); err != nil {
		return err
	}
	for _, r := range cells {
		if err := line(r); err != nil {
			return err
		}
	}
	if o.Chart {
		return chart(w, cols, cells, width)
	}
	return nil
}

// chart draws a horizontal bar per row when the rows are time bins: a
// column of timestamps (the bin) and a numeric column (the first one after
// it). Anything else draws nothing.
func chart(w io.Writer, cols []string, cells [][]string, width int) error {
	tcol, vcol := -1, -1
	for i := range cols {
		allTime, allNum := true, true
		for _, r := range cells {
			if _, err := time.Parse("2006-01-02 15:04:05.000", r[i]); err != nil {
				allTime = false
			}
			if _, err := strconv.ParseFloat(r[i], 64); err != nil {
				allNum = false
			}
		}
		if allTime && tcol < 0 {
			tcol = i
		} else if allNum && vcol < 0 {
			vcol = i
		}
	}
	if tcol < 0 || vcol < 0 || len(cells) < 2 {
		return nil
	}
	peak := 0.0
	for _, r := range cells {
		v, _ := strconv.ParseFloat(r[vcol], 64)
		peak = math.Max(peak, v)
	}
	bar := width - 19 - 2 - 12
	if bar < 10 {
		bar = 10
	}
	if _, err := fmt.Fprintf(w, "\n%s by %s\n", cols[vcol], cols[tcol]); err != nil {
		return err
	}
	for _, r := range cells {
		v, _ := strconv.ParseFloat(r[vcol], 64)
		n := 0
		if peak > 0 {
			n = int(math.Round(v / peak * float64(bar)))
		}
		if _, err := fmt.Fprintf(w, "%s  %s %s\n", r[tcol][:19], strings.Repeat("█", n), r[vcol]); err != nil {
			return err
		}
	}
	return nil
}
