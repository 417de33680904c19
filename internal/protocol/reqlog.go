package protocol

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
)

// requestLog records what the debug request log says of one API call: the
// operation, the status and AWS error code sent, how long it took and who
// called. It wraps the ResponseWriter only while debug logging is on, so the
// hot path pays nothing otherwise. It never sees a secret: the caller is
// named by ARN, and neither headers nor bodies are kept.
type requestLog struct {
	http.ResponseWriter
	start  time.Time
	op     string // X-Amz-Target; "" for the STS Query protocol
	arn    string
	code   string
	err    *awserr.Error // the error sent, for the audit
	status int
}

func (l *requestLog) WriteHeader(status int) {
	if l.status == 0 {
		l.status = status
	}
	l.ResponseWriter.WriteHeader(status)
}

func (l *requestLog) Write(b []byte) (int, error) {
	if l.status == 0 {
		l.status = http.StatusOK
	}
	return l.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes for
// Live Tail, the body read deadline).
func (l *requestLog) Unwrap() http.ResponseWriter { return l.ResponseWriter }

func (l *requestLog) log(log *slog.Logger, reqID string) {
	op := l.op
	if i := strings.LastIndexByte(op, '.'); i >= 0 {
		op = op[i+1:]
	}
	if op == "" {
		op = "sts"
	}
	attrs := []slog.Attr{
		slog.String("op", op),
		slog.Int("status", l.status),
		slog.Duration("duration", time.Since(l.start)),
		slog.String("requestId", reqID),
	}
	if l.code != "" {
		attrs = append(attrs, slog.String("error", l.code))
	}
	if l.arn != "" {
		attrs = append(attrs, slog.String("principal", l.arn))
	}
	log.LogAttrs(context.Background(), slog.LevelDebug, "request", attrs...)
}

// auditCall starts the audit of an authenticated call, or answers nil when
// the auditor does not record it. Unknown targets are named as sent,
// truncated: CloudTrail records calls of operations that do not exist too.
func (h *Handler) auditCall(r *http.Request, target string, id caller.Caller, start time.Time) *AuditCall {
	c := &AuditCall{Caller: id, UserAgent: r.UserAgent(), Time: start}
	if target == "" {
		// STS: the Action is in the form, which is not read yet; the
		// auditor is asked about STS as a whole and filters by Action.
		c.STS = true
	} else {
		op, _ := strings.CutPrefix(target, h.target)
		if len(op) > 128 {
			op = op[:128]
		}
		c.Op = op
	}
	if !h.cfg.Audit.Wants(c.Op, c.STS) {
		return nil
	}
	return c
}

// wireError is err as writeError sends it.
func wireError(err error) *awserr.Error {
	if ae, ok := awserr.As(err); ok {
		return ae
	}
	return awserr.Internal()
}

// captureWriter keeps what an STS answer writes (a few KB at most), for the
// audit's responseElements and errorCode.
type captureWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.buf.Len() < 64<<10 {
		c.buf.Write(b)
	}
	return c.ResponseWriter.Write(b)
}

func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
