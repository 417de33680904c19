package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/awsclient"
)

// newCloudWatch is the target for any CloudWatch Logs endpoint: signed
// PutLogEvents, FilterLogEvents reads (lean and through the SDK).
func newCloudWatch(cfg Config) *client {
	c := &client{
		endpoint: strings.TrimRight(cfg.Endpoint, "/"),
		region:   cfg.Region,
		creds:    aws.Credentials{AccessKeyID: cfg.AccessKey, SecretAccessKey: cfg.SecretKey},
		signer:   v4.NewSigner(),
		http: &http.Client{Transport: &http.Transport{
			MaxIdleConns: cfg.Writers * 2, MaxIdleConnsPerHost: cfg.Writers * 2, IdleConnTimeout: time.Minute,
		}},
	}
	c.sdk = cwl.New(cwl.Options{
		Region:       cfg.Region,
		BaseEndpoint: aws.String(c.endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, ""),
		HTTPClient:   awsclient.BufferedBodies{Next: c.http},
	})
	return c
}

func (c *client) setup(ctx context.Context, w *Workload) error {
	for i := 0; i < w.Groups; i++ {
		if err := c.call(ctx, "CreateLogGroup", map[string]any{"logGroupName": w.Group(i)}, nil); err != nil && !isAlreadyExists(err) {
			return fmt.Errorf("create group: %w", err)
		}
	}
	for i := 0; i < w.Streams; i++ {
		in := map[string]any{"logGroupName": w.Group(i % w.Groups), "logStreamName": w.StreamName(i)}
		if err := c.call(ctx, "CreateLogStream", in, nil); err != nil && !isAlreadyExists(err) {
			return fmt.Errorf("create stream: %w", err)
		}
	}
	return nil
}

func (c *client) encode(dst []byte, b Batch) []byte { return AppendPutLogEvents(dst, b) }
func (c *client) hash(body []byte) string           { return payloadHash(body) }

func (c *client) send(ctx context.Context, body []byte, hash string) error {
	_, err := c.do(ctx, "PutLogEvents", body, hash)
	return err
}

// ready: an answered PutLogEvents is readable at once.
func (c *client) ready(context.Context, int64) error { return nil }

type client struct {
	endpoint string
	region   string
	creds    aws.Credentials
	signer   *v4.Signer
	http     *http.Client
	compare  bool        // the Insights phase also times CompareShapes
	sdk      *cwl.Client // the reads through aws-sdk-go-v2
}

type apiError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
	Status  int
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Message) }

func isAlreadyExists(err error) bool {
	var e *apiError
	return errors.As(err, &e) && strings.HasSuffix(e.Type, "ResourceAlreadyExistsException")
}

func (c *client) call(ctx context.Context, op string, in any, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, op, data, payloadHash(data))
	if err != nil {
		return err
	}
	if out != nil {
		return json.Unmarshal(resp, out)
	}
	return nil
}

func (c *client) do(ctx context.Context, op string, data []byte, hash string) ([]byte, error) {
	return c.doInto(ctx, op, data, hash, nil)
}

// doInto is do reading the answer into buf (reused when large enough), as
// the VictoriaLogs side reuses its line buffer.
func (c *client) doInto(ctx context.Context, op string, data []byte, hash string, buf []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Logs_20140328."+op)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hash, "logs", c.region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body []byte
	if n := resp.ContentLength; n >= 0 && n <= 64<<20 {
		body = slices.Grow(buf[:0], int(n))[:n]
		if _, err = io.ReadFull(resp.Body, body); err != nil {
			return nil, err
		}
	} else if body, err = io.ReadAll(resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		e := &apiError{Status: resp.StatusCode}
		_ = json.Unmarshal(body, e)
		if e.Type == "" {
			e.Message = string(body)
		}
		return nil, e
	}
	return body, nil
}

// queries measures FilterLogEvents over the first group: the first page
// of a rare-term search (median of 5), the whole rare search, a full scan
// for a term that every block holds but few events match (median of 3), and
// a time range of rangeEvents events, every page fetched (median of 3).
//
// The full scan and the time range are read twice: by the lean client
// (signed HTTP, every event decoded by the lean scanner and checked, as the
// VictoriaLogs side does), and by aws-sdk-go-v2's CloudWatch Logs client,
// what a real Go application pays (its deserializer included).
func (c *client) queries(ctx context.Context, w *Workload, st *Stats, rangeEvents int) (*QueryReport, error) {
	group := w.Group(0)
	q := &QueryReport{RareTerm: RareToken, CommonTerm: CommonTerm}
	var sc jsonScanner
	var bufs [2][]byte // answer buffers: one being decoded, one being fetched
	fetch := func(term string, startMs, endMs int64, token string, buf []byte) ([]byte, error) {
		in := map[string]any{"logGroupName": group, "startTime": startMs, "limit": 10000}
		if term != "" {
			in["filterPattern"] = term
		}
		if endMs >= 0 {
			in["endTime"] = endMs
		}
		if token != "" {
			in["nextToken"] = token
		}
		data, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		return c.doInto(ctx, "FilterLogEvents", data, payloadHash(data), buf)
	}
	// scan pages through one search with the lean client; endMs < 0 means
	// no end. chk sees every event. The next page is asked for as soon as
	// its token is known — Cairn writes nextToken last, so it is read off
	// the answer's end — and the page is decoded while the server prepares
	// the next one, as the VictoriaLogs side decodes its answer while the
	// rest of it arrives. The token the decoder then finds must be the one
	// used.
	scan := func(term string, startMs, endMs int64, firstOnly bool, chk *readCheck) (time.Duration, int, error) {
		t := time.Now()
		pages := 0
		body, err := fetch(term, startMs, endMs, "", bufs[0])
		for {
			if err != nil {
				return 0, 0, err
			}
			bufs[pages%2] = body
			pages++
			ahead, early := tailToken(body)
			early = early && ahead != "" && !firstOnly
			var nextBody []byte
			var nextErr error
			done := make(chan struct{})
			if early {
				go func() {
					defer close(done)
					nextBody, nextErr = fetch(term, startMs, endMs, ahead, bufs[pages%2])
				}()
			} else {
				close(done)
			}
			next, err := decodeFilterPage(&sc, body, chk.event)
			<-done
			switch {
			case err != nil:
				return 0, 0, fmt.Errorf("FilterLogEvents page %d: %w", pages, err)
			case early && next != ahead:
				return 0, 0, fmt.Errorf("FilterLogEvents page %d: nextToken %q, read off its end as %q", pages, next, ahead)
			case (firstOnly && chk.events > 0) || next == "":
				return time.Since(t), pages, nil
			case early:
				body, err = nextBody, nextErr
			default:
				body, err = fetch(term, startMs, endMs, next, bufs[pages%2])
			}
		}
	}
	start := w.FirstMs - 1000
	var firsts []time.Duration
	for i := 0; i < 5; i++ {
		d, _, err := scan(RareToken, start, -1, true, &readCheck{term: RareToken})
		if err != nil {
			return nil, fmt.Errorf("rare search: %w", err)
		}
		firsts = append(firsts, d)
	}
	q.RareFirstPage = medianDuration(firsts)
	rare := &readCheck{term: RareToken}
	var err error
	if q.RareFullScan, _, err = scan(RareToken, start, -1, false, rare); err != nil {
		return nil, err
	}
	q.RareMatches = rare.events
	var scans, sdkScans []time.Duration
	for i := 0; i < 3; i++ {
		chk := &readCheck{term: CommonTerm}
		d, p, err := scan(CommonTerm, start, -1, false, chk)
		if err != nil {
			return nil, fmt.Errorf("common-term scan: %w", err)
		}
		if err := chk.want(st.CommonMatches, st.CommonBytes); err != nil {
			return nil, fmt.Errorf("common-term scan: %w", err)
		}
		scans, q.CommonMatches, q.Pages = append(scans, d), chk.events, p
		chk = &readCheck{term: CommonTerm}
		if d, err = c.sdkScan(ctx, group, CommonTerm, start, -1, chk); err != nil {
			return nil, fmt.Errorf("common-term scan through the SDK: %w", err)
		}
		if err := chk.want(st.CommonMatches, st.CommonBytes); err != nil {
			return nil, fmt.Errorf("common-term scan through the SDK: %w", err)
		}
		sdkScans = append(sdkScans, d)
	}
	q.CommonScanTime, q.CommonScanTimeSDK = medianDuration(scans), medianDuration(sdkScans)
	q.RangeFrom, q.RangeTo, q.RangeExpected = st.RangeOf(rangeEvents)
	wantEvents, wantBytes := st.RangeBytes(q.RangeFrom, q.RangeTo)
	var ranges, sdkRanges []time.Duration
	for i := 0; i < 3; i++ {
		// FilterLogEvents' endTime is inclusive.
		chk := &readCheck{from: q.RangeFrom, to: q.RangeTo}
		d, p, err := scan("", q.RangeFrom, q.RangeTo-1, false, chk)
		if err != nil {
			return nil, fmt.Errorf("time-range read: %w", err)
		}
		if err := chk.want(wantEvents, wantBytes); err != nil {
			return nil, fmt.Errorf("time-range read: %w", err)
		}
		ranges, q.RangeEvents, q.RangePages = append(ranges, d), chk.events, p
		chk = &readCheck{from: q.RangeFrom, to: q.RangeTo}
		if d, err = c.sdkScan(ctx, group, "", q.RangeFrom, q.RangeTo-1, chk); err != nil {
			return nil, fmt.Errorf("time-range read through the SDK: %w", err)
		}
		if err := chk.want(wantEvents, wantBytes); err != nil {
			return nil, fmt.Errorf("time-range read through the SDK: %w", err)
		}
		sdkRanges = append(sdkRanges, d)
	}
	q.RangeTime, q.RangeTimeSDK = medianDuration(ranges), medianDuration(sdkRanges)
	return q, nil
}

// sdkScan is scan through aws-sdk-go-v2: every page, every event checked.
func (c *client) sdkScan(ctx context.Context, group, term string, startMs, endMs int64, chk *readCheck) (time.Duration, error) {
	in := &cwl.FilterLogEventsInput{LogGroupName: aws.String(group), StartTime: aws.Int64(startMs), Limit: aws.Int32(10000)}
	if term != "" {
		in.FilterPattern = aws.String(term)
	}
	if endMs >= 0 {
		in.EndTime = aws.Int64(endMs)
	}
	t := time.Now()
	p := cwl.NewFilterLogEventsPaginator(c.sdk, in)
	var ev leanEvent
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return 0, err
		}
		for _, e := range out.Events {
			if aws.ToString(e.EventId) == "" {
				return 0, errors.New("event without an eventId")
			}
			ev = leanEvent{Time: aws.ToInt64(e.Timestamp), Stream: []byte(aws.ToString(e.LogStreamName)), Message: []byte(aws.ToString(e.Message))}
			if err := chk.event(&ev); err != nil {
				return 0, err
			}
		}
	}
	return time.Since(t), nil
}

// readCheck checks every event a read returns: a message that holds the
// searched term (when there is one), a timestamp inside [from, to) (when
// to > 0), a stream name; and counts events and message bytes, which the
// caller compares with what the workload sent (want).
type readCheck struct {
	term     string
	from, to int64
	events   int
	bytes    int64
}

func (r *readCheck) event(e *leanEvent) error {
	switch {
	case len(e.Stream) == 0:
		return errors.New("event without a stream")
	case r.term != "" && !bytes.Contains(e.Message, []byte(r.term)):
		return fmt.Errorf("event %d does not hold %q: %q", r.events, r.term, e.Message)
	case r.to > 0 && (e.Time < r.from || e.Time >= r.to):
		return fmt.Errorf("event %d at %d, outside [%d, %d)", r.events, e.Time, r.from, r.to)
	}
	r.events++
	r.bytes += int64(len(e.Message))
	return nil
}

func (r *readCheck) want(events int, bytes int64) error {
	if r.events != events || r.bytes != bytes {
		return fmt.Errorf("read %d events of %d message bytes, the workload holds %d of %d", r.events, r.bytes, events, bytes)
	}
	return nil
}

// tailToken reads the nextToken member off the end of a FilterLogEvents
// answer ({..., "nextToken":"…"}) without decoding the rest; ok is false
// when the end does not look like that (the caller then waits for the
// decoder), and the token must still be checked against the decoder's.
func tailToken(body []byte) (token string, ok bool) {
	const key = `,"nextToken":"`
	if !bytes.HasSuffix(body, []byte(`"}`)) {
		return "", false
	}
	i := bytes.LastIndex(body, []byte(key))
	if i < 0 {
		return "", false
	}
	tok := body[i+len(key) : len(body)-2]
	if bytes.ContainsAny(tok, "\\\"") {
		return "", false
	}
	return string(tok), true
}
