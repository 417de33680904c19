package logs

// Put is the one way Cairn's in-process writers store events (the doors
// besides the API: syslog, OTLP; the audit trail): through the very
// PutLogEvents operation clients call, so every writer gets the same
// validation, ingest stages, limits and authorization.
//
// Data flows: a writer's events (any order, any size) → Put sorts them and
// cuts them into batches that fit PutLogEvents (10,000 events, 1 MiB, 24
// hours) → Writer.PutLogEvents as the given caller (the core Service, or the
// Service wrapped by policygate's resource-policy check), creating the
// stream first when it does not exist yet.

import (
	"context"
	"slices"
	"strings"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
)

// MaxPutMessage is the longest message Put stores whole: PutLogEvents'
// limit of one event (events.go) less the event's overhead.
const MaxPutMessage = maxEventBytes - eventOverhead

// Writer is the core service as Cairn's in-process writers need it:
// *Service is one; policygate.Enforcer.Writer wraps one with the
// resource-policy check of a service principal.
type Writer interface {
	PutLogEvents(ctx context.Context, c caller.Caller, in *PutLogEventsInput) (*PutLogEventsOutput, error)
	CreateLogStream(ctx context.Context, c caller.Caller, in *CreateLogStreamInput) (*struct{}, error)
}

// PutResult counts what Put stored and what PutLogEvents rejected (too old,
// too new, expired by retention).
type PutResult struct {
	Accepted, TooOld, TooNew, Expired int
	// Sent counts the events of the batches PutLogEvents answered (stored
	// or rejected): a prefix of events as Put sorted them. After an error
	// the events from Sent on were not written, so a caller that retries
	// (a refused write) sends only those again.
	Sent int
}

// Put writes events (in any order; messages non-empty and at most
// MaxPutMessage bytes: longer ones are cut) into group/stream as c, creating the
// stream when it is missing and create says so. It sorts events in place,
// by timestamp. The first error stops it; events of earlier batches stay
// stored (Result.Sent says how many).
func Put(ctx context.Context, w Writer, c caller.Caller, group, stream string, events []InputLogEvent, create bool) (PutResult, error) {
	var res PutResult
	slices.SortStableFunc(events, func(a, b InputLogEvent) int {
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
		for n < len(events) && n < maxEventsLimit {
			e := &events[n]
			if len(e.Message) > MaxPutMessage {
				e.Message = TruncateUTF8(e.Message, MaxPutMessage)
			}
			// A batch spans less than 24 hours (PutLogEvents takes 24 h
			// exactly; Put keeps the margin it always had).
			if size+len(e.Message)+eventOverhead > maxBatchBytes || e.Timestamp-events[0].Timestamp >= maxBatchSpan {
				break
			}
			size += len(e.Message) + eventOverhead
			n++
		}
		batch := events[:n]
		events = events[n:]
		in := &PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream, LogEvents: batch}
		out, err := w.PutLogEvents(ctx, c, in)
		if err != nil && !created && isStreamMissing(err) {
			if _, cerr := w.CreateLogStream(ctx, c, &CreateLogStreamInput{LogGroupName: group, LogStreamName: stream}); cerr != nil && !awserr.Is(cerr, awserr.ResourceAlreadyExists) {
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

// TruncateUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence.
func TruncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// MakeStreamName makes a log stream name of s: the characters a stream name
// cannot hold (':' and '*') become '_', it is cut to 512 bytes, and an
// empty one becomes fallback.
func MakeStreamName(s, fallback string) string {
	s = strings.Map(func(r rune) rune {
		if r == ':' || r == '*' {
			return '_'
		}
		return r
	}, s)
	s = TruncateUTF8(s, 512)
	if s == "" {
		return fallback
	}
	return s
}
