package protocol

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"
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
