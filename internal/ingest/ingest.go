// Package ingest holds what Cairn's non-API doors for logs share (syslog in
// package ingest/syslog with its family logs/syslogconfig, OTLP in package
// ingest/otlp): Put, which writes a door's events into a log group through the
// very PutLogEvents operation clients call, so every door gets the same
// validation, ingest stages, limits and authorization.
//
// Data flows: a door's events (any order, any size) → Put sorts them, cuts
// them into batches that fit PutLogEvents (10,000 events, 1 MiB, 24 hours) →
// logs.Service.PutLogEvents as the given caller, creating the stream first
// when it does not exist yet.
package ingest

import (
	"context"
	"slices"
	"strings"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
)

// PutLogEvents' bounds (shared/reference/cloudwatch-logs-api.md §3).
const (
	maxEvents     = 10_000
	maxBatchBytes = 1_048_576
	eventOverhead = 26
	maxSpan       = 24*3_600_000 - 1
	// MaxEventBytes is the largest message PutLogEvents takes.
	MaxEventBytes = 1_048_576 - eventOverhead
)

// Writer is the logs service as the doors need it.
type Writer interface {
	PutLogEvents(ctx context.Context, c caller.Caller, in *logs.PutLogEventsInput) (*logs.PutLogEventsOutput, error)
	CreateLogStream(ctx context.Context, c caller.Caller, in *logs.CreateLogStreamInput) (*struct{}, error)
}

// Result counts what Put stored and what PutLogEvents rejected (too old,
// too new, expired by retention).
type Result struct {
	Accepted, TooOld, TooNew, Expired int
	// Sent counts the events of the batches PutLogEvents answered (stored
	// or rejected): a prefix of events as Put sorted them. After an error
	// the events from Sent on were not written, so a caller that retries
	// (a refused write) sends only those again.
	Sent int
}

// Put writes events (in any order; messages non-empty and at most
// MaxEventBytes: longer ones are cut) into group/stream as c, creating the
// stream when it is missing and create says so. It sorts events in place,
// by timestamp. The first error stops it; events of earlier batches stay
// stored (Result.Sent says how many).
func Put(ctx context.Context, w Writer, c caller.Caller, group, stream string, events []logs.InputLogEvent, create bool) (Result, error) {
	var res Result
	slices.SortStableFunc(events, func(a, b logs.InputLogEvent) int {
		switch {
		case a.Timestamp < b.Timestamp:
			return -1
		case a.Timestamp > b.Timestamp:
			return 1
		}
		return 0
	})
	created := !create
	for len(events) > 0 {
		n, size := 0, 0
		for n < len(events) && n < maxEvents {
			e := &events[n]
			if len(e.Message) > MaxEventBytes {
				e.Message = Truncate(e.Message, MaxEventBytes)
			}
			if size+len(e.Message)+eventOverhead > maxBatchBytes || e.Timestamp-events[0].Timestamp > maxSpan {
				break
			}
			size += len(e.Message) + eventOverhead
			n++
		}
		batch := events[:n]
		events = events[n:]
		in := &logs.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream, LogEvents: batch}
		out, err := w.PutLogEvents(ctx, c, in)
		if err != nil && !created && isStreamMissing(err) {
			if _, cerr := w.CreateLogStream(ctx, c, &logs.CreateLogStreamInput{LogGroupName: group, LogStreamName: stream}); cerr != nil && !awserr.Is(cerr, awserr.ResourceAlreadyExists) {
				return res, cerr
			}
			created = true
			out, err = w.PutLogEvents(ctx, c, in)
		}
		if err != nil {
			return res, err
		}
		// The rejected events are a too-old prefix, then an expired run, and
		// a too-new suffix (the indexes PutLogEvents reports).
		tooOld, expired, tooNew := 0, 0, 0
		if ri := out.RejectedLogEventsInfo; ri != nil {
			if ri.TooOldLogEventEndIndex != nil {
				tooOld = *ri.TooOldLogEventEndIndex
			}
			if ri.ExpiredLogEventEndIndex != nil {
				expired = *ri.ExpiredLogEventEndIndex - tooOld
			}
			if ri.TooNewLogEventStartIndex != nil {
				tooNew = len(batch) - *ri.TooNewLogEventStartIndex
			}
		}
		res.TooOld += tooOld
		res.Expired += expired
		res.TooNew += tooNew
		res.Accepted += len(batch) - tooOld - expired - tooNew
		res.Sent += len(batch)
	}
	return res, nil
}

func isStreamMissing(err error) bool {
	e, ok := awserr.As(err)
	return ok && e.Code == awserr.ResourceNotFound && e.Message == awserr.StreamNotFound().Message
}

// Truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// StreamName makes a log stream name of s: the characters a stream name
// cannot hold (':' and '*') become '_', it is cut to 512 bytes, and an
// empty one becomes fallback.
func StreamName(s, fallback string) string {
	s = strings.Map(func(r rune) rune {
		if r == ':' || r == '*' {
			return '_'
		}
		return r
	}, s)
	s = Truncate(s, 512)
	if s == "" {
		return fallback
	}
	return s
}
