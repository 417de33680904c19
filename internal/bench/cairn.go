package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// newCloudWatch is the target for any CloudWatch Logs endpoint: signed
// PutLogEvents, FilterLogEvents reads.
func newCloudWatch(cfg Config) *client {
	return &client{
		endpoint: strings.TrimRight(cfg.Endpoint, "/"),
		region:   cfg.Region,
		creds:    aws.Credentials{AccessKeyID: cfg.AccessKey, SecretAccessKey: cfg.SecretKey},
		signer:   v4.NewSigner(),
		http: &http.Client{Transport: &http.Transport{
			MaxIdleConns: cfg.Writers * 2, MaxIdleConnsPerHost: cfg.Writers * 2, IdleConnTimeout: time.Minute,
		}},
	}
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
	compare  bool // the Insights phase also times CompareShapes
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
	body, err := io.ReadAll(resp.Body)
	if err != nil {
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
func (c *client) queries(ctx context.Context, w *Workload, st *Stats, rangeEvents int) (*QueryReport, error) {
	type page struct {
		Events    []struct{ Message string } `json:"events"`
		NextToken string                     `json:"nextToken"`
	}
	group := w.Group(0)
	q := &QueryReport{RareTerm: RareToken, CommonTerm: CommonTerm}
	// scan pages through one search; endMs < 0 means no end.
	scan := func(term string, startMs, endMs int64, firstOnly bool) (time.Duration, int, int, error) {
		t := time.Now()
		matches, pages, token := 0, 0, ""
		for {
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
			var p page
			if err := c.call(ctx, "FilterLogEvents", in, &p); err != nil {
				return 0, 0, 0, err
			}
			pages++
			matches += len(p.Events)
			if (firstOnly && matches > 0) || p.NextToken == "" {
				return time.Since(t), matches, pages, nil
			}
			token = p.NextToken
		}
	}
	start := w.FirstMs - 1000
	var firsts []time.Duration
	for i := 0; i < 5; i++ {
		d, _, _, err := scan(RareToken, start, -1, true)
		if err != nil {
			return nil, fmt.Errorf("rare search: %w", err)
		}
		firsts = append(firsts, d)
	}
	q.RareFirstPage = medianDuration(firsts)
	var err error
	if q.RareFullScan, q.RareMatches, _, err = scan(RareToken, start, -1, false); err != nil {
		return nil, err
	}
	var scans []time.Duration
	for i := 0; i < 3; i++ {
		d, m, p, err := scan(CommonTerm, start, -1, false)
		if err != nil {
			return nil, fmt.Errorf("common-term scan: %w", err)
		}
		scans, q.CommonMatches, q.Pages = append(scans, d), m, p
	}
	q.CommonScanTime = medianDuration(scans)
	q.RangeFrom, q.RangeTo, q.RangeExpected = st.RangeOf(rangeEvents)
	var ranges []time.Duration
	for i := 0; i < 3; i++ {
		// FilterLogEvents' endTime is inclusive.
		d, m, p, err := scan("", q.RangeFrom, q.RangeTo-1, false)
		if err != nil {
			return nil, fmt.Errorf("time-range read: %w", err)
		}
		ranges, q.RangeEvents, q.RangePages = append(ranges, d), m, p
	}
	q.RangeTime = medianDuration(ranges)
	return q, nil
}
