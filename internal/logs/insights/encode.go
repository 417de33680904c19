package insights

import (
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/cairnlog/cairn/internal/protocol"
)

// GetQueryResults encodes itself (protocol.Appender): a page holds up to
// 10,000 rows, clients poll it while the query runs (Grafana, the CLI, the
// console, cairn bench every 5 ms), and json.Marshal's reflection over
// 10,000 rows of {field, value} took CPU from the scan each time. The bytes
// are json.Marshal's for the same struct, member order and all
// (encode_test.go compares them), so clients see no change.

// AppendJSON implements protocol.Appender.
func (o *GetQueryResultsOutput) AppendJSON(dst []byte) []byte {
	if o == nil {
		return append(dst, "null"...)
	}
	size := 256 + len(o.results)
	for _, r := range o.Results {
		for _, f := range r {
			size += len(f.Field) + len(f.Value) + 24
		}
	}
	dst = slices.Grow(dst, size)
	dst = append(dst, `{"queryLanguage":`...)
	dst = protocol.AppendJSONString(dst, o.QueryLanguage)
	dst = append(dst, `,"results":`...)
	if o.results != nil {
		dst = append(dst, o.results...)
	} else {
		dst = appendResults(dst, o.Results)
	}
	s := &o.Statistics
	dst = append(dst, `,"statistics":{"recordsMatched":`...)
	dst = appendFloat(dst, s.RecordsMatched)
	dst = append(dst, `,"recordsScanned":`...)
	dst = appendFloat(dst, s.RecordsScanned)
	if s.EstimatedRecordsSkipped != nil {
		dst = append(dst, `,"estimatedRecordsSkipped":`...)
		dst = appendFloat(dst, *s.EstimatedRecordsSkipped)
	}
	dst = append(dst, `,"bytesScanned":`...)
	dst = appendFloat(dst, s.BytesScanned)
	if s.EstimatedBytesSkipped != nil {
		dst = append(dst, `,"estimatedBytesSkipped":`...)
		dst = appendFloat(dst, *s.EstimatedBytesSkipped)
	}
	if s.LogGroupsScanned != nil {
		dst = append(dst, `,"logGroupsScanned":`...)
		dst = appendFloat(dst, *s.LogGroupsScanned)
	}
	dst = append(dst, `},"status":`...)
	dst = protocol.AppendJSONString(dst, o.Status)
	if o.NextToken != nil {
		dst = append(dst, `,"nextToken":`...)
		dst = protocol.AppendJSONString(dst, *o.NextToken)
	}
	return append(dst, '}')
}

// appendResults writes rows as json.Marshal writes [][]ResultField.
func appendResults(dst []byte, rows [][]ResultField) []byte {
	if rows == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, r := range rows {
		if i > 0 {
			dst = append(dst, ',')
		}
		if r == nil {
			dst = append(dst, "null"...)
			continue
		}
		dst = append(dst, '[')
		for j, f := range r {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"field":`...)
			dst = protocol.AppendJSONString(dst, f.Field)
			dst = append(dst, `,"value":`...)
			dst = protocol.AppendJSONString(dst, f.Value)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, ']')
}

// pageKey names one encoded page: a query's rows [from, to) of one
// generation of its result.
type pageKey struct {
	id       string
	gen      uint64
	from, to int
}

// pageCache keeps the last page GetQueryResults encoded: a client polling
// one query gets the same bytes until a new snapshot. One entry (at most
// one page of up to 10,000 rows) bounds its memory; polls of several
// queries in turn only miss. Safe for concurrent use.
type pageCache struct {
	mu   sync.Mutex
	key  pageKey
	body []byte
}

func (c *pageCache) get(k pageKey) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.body == nil || c.key != k {
		return nil, false
	}
	return c.body, true
}

// put keeps body for k; body is never written to afterwards (readers
// append it to their responses).
func (c *pageCache) put(k pageKey, body []byte) {
	c.mu.Lock()
	c.key, c.body = k, body
	c.mu.Unlock()
}

// appendFloat writes f as encoding/json does: the shortest text that reads
// back as f, in exponent form below 1e-6 and from 1e21 (with "e-07" written
// "e-7"). Statistics are counts, never NaN or infinite (json.Marshal would
// fail on those; here they would be written as Go spells them).
func appendFloat(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}
