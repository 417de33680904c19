package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// vlClient is the VictoriaLogs target: the workload's batches as JSON lines
// to /insert/jsonline (same lines, same batch size, same writers), the reads
// as LogsQL at /select/logsql/query.
type vlClient struct {
	endpoint string
	http     *http.Client
	prefix   string
}

func newVictoriaLogs(cfg Config) *vlClient {
	return &vlClient{
		endpoint: strings.TrimRight(cfg.Endpoint, "/"),
		prefix:   cfg.Prefix,
		http: &http.Client{Transport: &http.Transport{
			MaxIdleConns: cfg.Writers * 2, MaxIdleConnsPerHost: cfg.Writers * 2, IdleConnTimeout: time.Minute,
		}},
	}
}

// setup: VictoriaLogs creates streams as lines arrive.
func (c *vlClient) setup(context.Context, *Workload) error { return nil }

func (c *vlClient) encode(dst []byte, b Batch) []byte { return AppendJSONLines(dst, b) }
func (c *vlClient) hash([]byte) string                { return "" }

func (c *vlClient) send(ctx context.Context, body []byte, _ string) error {
	u := c.endpoint + "/insert/jsonline?_stream_fields=" + url.QueryEscape(VLStreamFields)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/stream+json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("victorialogs insert: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// groupFilter selects the streams of one of this run's groups.
func groupFilter(group string) string { return "_stream:{group=" + strconv.Quote(group) + "}" }

// ready asks VictoriaLogs to flush what it buffers in memory (without it,
// the last second of ingest becomes searchable only later), then waits
// until a count query sees every event of the run.
func (c *vlClient) ready(ctx context.Context, events int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+"/internal/force_flush", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	query := `_stream:{group=~` + strconv.Quote(regexpQuote(c.prefix)+"-g.*") + `} | stats count() n`
	deadline := time.Now().Add(2 * time.Minute)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var got int64
	for {
		var row struct {
			N string `json:"n"`
		}
		_, _, err := c.query(ctx, query, func(line []byte) error { return json.Unmarshal(line, &row) })
		if err != nil {
			return err
		}
		got, _ = strconv.ParseInt(row.N, 10, 64)
		if got >= events {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("victorialogs: %d of %d events searchable after 2 minutes", got, events)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// regexpQuote escapes the regexp metacharacters of s.
func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// query runs one LogsQL query and reads its whole answer, one JSON object a
// line, calling each (when not nil) on every line.
func (c *vlClient) query(ctx context.Context, q string, each func([]byte) error) (lines int, elapsed time.Duration, err error) {
	t := time.Now()
	form := url.Values{"query": {q}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/select/logsql/query", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, 0, fmt.Errorf("victorialogs query %q: %s: %s", q, resp.Status, strings.TrimSpace(string(msg)))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		lines++
		if each != nil {
			if err := each(sc.Bytes()); err != nil {
				return lines, 0, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return lines, 0, err
	}
	return lines, time.Since(t), nil
}

// vlTime formats a Unix-ms instant as LogsQL's _time filter reads it.
func vlTime(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z") }

// queries asks VictoriaLogs the same questions as the CloudWatch target
// asks FilterLogEvents, over the same group, and fetches every answer. The
// fields kept (_time, stream, _msg) are what a FilterLogEvents event carries
// besides its ids, so neither side ships much more than the other; every
// line is decoded by the same lean scanner and checked as the Cairn side's
// events are (readCheck), inside the timing.
func (c *vlClient) queries(ctx context.Context, w *Workload, st *Stats, rangeEvents int) (*QueryReport, error) {
	const fields = " | fields _time, stream, _msg"
	g := groupFilter(w.Group(0))
	q := &QueryReport{RareTerm: RareToken, CommonTerm: CommonTerm}
	var sc jsonScanner
	var ev leanEvent
	run := func(query string, times int, check func() *readCheck, wantEvents int, wantBytes int64) (time.Duration, int, error) {
		var ds []time.Duration
		n := 0
		for i := 0; i < times; i++ {
			chk := check()
			_, d, err := c.query(ctx, query, func(line []byte) error {
				if err := decodeVLLine(&sc, line, &ev); err != nil {
					return err
				}
				return chk.event(&ev)
			})
			if err != nil {
				return 0, 0, err
			}
			if wantEvents >= 0 {
				if err := chk.want(wantEvents, wantBytes); err != nil {
					return 0, 0, fmt.Errorf("victorialogs %q: %w", query, err)
				}
			}
			ds, n = append(ds, d), chk.events
		}
		return medianDuration(ds), n, nil
	}
	var err error
	// VictoriaLogs answers the whole search at once: its "first page" and
	// its full rare search are the same request.
	rare := func() *readCheck { return &readCheck{term: RareToken} }
	if q.RareFirstPage, q.RareMatches, err = run(g+" "+RareToken+fields, 5, rare, -1, 0); err != nil {
		return nil, err
	}
	q.RareFullScan = q.RareFirstPage
	common := func() *readCheck { return &readCheck{term: CommonTerm} }
	if q.CommonScanTime, q.CommonMatches, err = run(g+" "+CommonTerm+fields, 3, common, st.CommonMatches, st.CommonBytes); err != nil {
		return nil, err
	}
	q.Pages, q.RangePages = 1, 1
	q.RangeFrom, q.RangeTo, q.RangeExpected = st.RangeOf(rangeEvents)
	wantEvents, wantBytes := st.RangeBytes(q.RangeFrom, q.RangeTo)
	rq := g + " _time:[" + vlTime(q.RangeFrom) + ", " + vlTime(q.RangeTo) + ")" + fields
	inRange := func() *readCheck { return &readCheck{from: q.RangeFrom, to: q.RangeTo} }
	if q.RangeTime, q.RangeEvents, err = run(rq, 3, inRange, wantEvents, wantBytes); err != nil {
		return nil, err
	}
	return q, nil
}
