package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SettleReport is what Cairn's background re-compaction did between the end
// of a run and its steady state (cairn_store_recompact_settled 1 on
// /metrics): how long that took, the server's CPU meanwhile (the worker's,
// with the idle server's little beside it), and what was rewritten.
type SettleReport struct {
	// MergesAtStart is the merges the worker had done when the wait began,
	// after the first read phase: 0 means those reads found only blocks as
	// appended (the age policy kept the worker off them).
	MergesAtStart int64
	Wait          time.Duration
	ServerCPU     time.Duration
	Merges        int64
	Events        int64
	BytesBefore   int64
	BytesAfter    int64
}

// WaitSettled polls the Cairn server's /metrics until its re-compaction
// reports the steady state from a pass that started after the call (one
// before could have seen an empty engine), or timeout. pid, when known,
// gives the CPU.
func WaitSettled(ctx context.Context, endpoint string, pid int, timeout time.Duration) (*SettleReport, error) {
	start, cpu0 := time.Now(), procCPU(pid)
	deadline := start.Add(timeout)
	url := strings.TrimRight(endpoint, "/") + "/metrics"
	m, err := scrape(ctx, url)
	if err != nil {
		return nil, err
	}
	// A server that runs no re-compaction (--recompact-interval negative)
	// exports none of its figures: nothing to wait for.
	if _, ok := m["cairn_store_recompact_passes_total"]; !ok {
		return nil, nil
	}
	// The pass running now may have started before; the one after it did not.
	after := m["cairn_store_recompact_passes_total"] + 2
	atStart := int64(m["cairn_store_recompact_merges_total"])
	for {
		m, err := scrape(ctx, url)
		if err != nil {
			return nil, err
		}
		if m["cairn_store_recompact_settled"] == 1 && m["cairn_store_recompact_passes_total"] >= after {
			return &SettleReport{MergesAtStart: atStart, Wait: time.Since(start), ServerCPU: procCPU(pid) - cpu0,
				Merges: int64(m["cairn_store_recompact_merges_total"]), Events: int64(m["cairn_store_recompact_events_total"]),
				BytesBefore: int64(m["cairn_store_recompact_bytes_before_total"]), BytesAfter: int64(m["cairn_store_recompact_bytes_after_total"])}, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("re-compaction not settled after %v (%v merges so far)", timeout, m["cairn_store_recompact_merges_total"])
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond): // polling a server, not synchronising a test
		}
	}
}

// scrape reads the unlabelled samples of a Prometheus text page.
func scrape(ctx context.Context, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok || strings.ContainsRune(name, '{') {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}
