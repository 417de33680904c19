package otlp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/klauspost/compress/gzip"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
)

// Bounds. AWS documents no size for its OTLP endpoint beyond the 1 MB event;
// these are Cairn's: an export of a few thousand records fits, and what one
// request may make the server hold is capped.
const (
	DefaultMaxBody    = 5 << 20  // bytes as sent
	DefaultMaxDecoded = 20 << 20 // after gunzip: the bomb limit
	DefaultConcurrent = 16       // requests decoded at once
	bodyTimeout       = 30 * time.Second
)

// Authenticator verifies a request (body as sent) and returns its caller.
// The server's is auth.Security, which takes SigV4 signed for "logs" and
// bearer API keys.
type Authenticator interface {
	Authenticate(r *http.Request, body []byte) (caller.Caller, error)
}

// Config configures a Handler.
type Config struct {
	Auth       Authenticator
	Logs       logs.Writer
	Now        func() time.Time
	Logger     *slog.Logger
	MaxBody    int64
	MaxDecoded int64
	Concurrent int
}

// Handler serves POST /v1/logs.
type Handler struct {
	cfg Config
	sem chan struct{}
}

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxDecoded <= 0 {
		cfg.MaxDecoded = DefaultMaxDecoded
	}
	if cfg.Concurrent <= 0 {
		cfg.Concurrent = DefaultConcurrent
	}
	return &Handler{cfg: cfg, sem: make(chan struct{}, cfg.Concurrent)}
}

// failure is an answer other than success: an HTTP status and a message,
// written as OTLP's google.rpc.Status in the request's encoding.
type failure struct {
	status int
	msg    string
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind := "json"
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "application/x-protobuf" {
		kind = "protobuf"
	}
	f := h.serve(r, kind, w)
	if f != nil {
		if f.status == http.StatusServiceUnavailable || f.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		writeStatus(w, kind, f.status, f.msg)
	}
}

func (h *Handler) serve(r *http.Request, kind string, w http.ResponseWriter) *failure {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		return &failure{http.StatusMethodNotAllowed, "only POST is supported"}
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/x-protobuf" && mt != "application/json") {
		return &failure{http.StatusUnsupportedMediaType, "Content-Type must be application/x-protobuf or application/json"}
	}
	select {
	case h.sem <- struct{}{}:
		defer func() { <-h.sem }()
	default:
		return &failure{http.StatusServiceUnavailable, "too many concurrent exports; retry"}
	}
	group, stream := r.Header.Get("x-aws-log-group"), r.Header.Get("x-aws-log-stream")
	if group == "" || stream == "" {
		return &failure{http.StatusBadRequest, "the x-aws-log-group and x-aws-log-stream headers are required"}
	}
	if r.ContentLength > h.cfg.MaxBody {
		return &failure{http.StatusRequestEntityTooLarge, fmt.Sprintf("the body exceeds %d bytes", h.cfg.MaxBody)}
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bodyTimeout)) // the wall clock: a deadline is real time
	raw, err := io.ReadAll(io.LimitReader(r.Body, h.cfg.MaxBody+1))
	_ = rc.SetReadDeadline(time.Time{})
	if err != nil {
		return &failure{http.StatusBadRequest, "the body could not be read"}
	}
	if int64(len(raw)) > h.cfg.MaxBody {
		return &failure{http.StatusRequestEntityTooLarge, fmt.Sprintf("the body exceeds %d bytes", h.cfg.MaxBody)}
	}
	// The signature covers the body as sent, so authenticate before any
	// decompression work is spent on a stranger.
	c, err := h.cfg.Auth.Authenticate(r, raw)
	if err != nil {
		return awsFailure(err)
	}
	body := raw
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		if body, err = gunzip(raw, h.cfg.MaxDecoded); err != nil {
			if errors.Is(err, errTooLarge) {
				return &failure{http.StatusRequestEntityTooLarge, fmt.Sprintf("the decompressed body exceeds %d bytes", h.cfg.MaxDecoded)}
			}
			return &failure{http.StatusBadRequest, "the body is not valid gzip"}
		}
	default:
		return &failure{http.StatusUnsupportedMediaType, "Content-Encoding must be gzip or absent"}
	}
	req, err := Decode(body, kind)
	if err != nil {
		return &failure{http.StatusBadRequest, err.Error()}
	}
	now := h.cfg.Now().UnixMilli()
	evs := Events(req, now)
	var res logs.PutResult
	if len(evs) > 0 {
		in := make([]logs.InputLogEvent, len(evs))
		for i, e := range evs {
			in[i] = logs.InputLogEvent{Timestamp: e.TimestampMs, Message: e.Message}
		}
		// AWS's endpoint writes to "an existing LogGroup and LogStream":
		// no stream is created here.
		if res, err = logs.Put(r.Context(), h.cfg.Logs, c, group, stream, in, false); err != nil {
			return awsFailure(err)
		}
	}
	writeSuccess(w, kind, res)
	return nil
}

// awsFailure maps an AWS error to an OTLP/HTTP status: 4xx are not retried
// by exporters, 429 and 503 are.
func awsFailure(err error) *failure {
	e, ok := awserr.As(err)
	if !ok {
		return &failure{http.StatusServiceUnavailable, "internal failure; retry"}
	}
	status := http.StatusBadRequest
	switch e.Code {
	case awserr.AccessDenied:
		status = http.StatusForbidden
	case awserr.MissingAuthToken, awserr.UnrecognizedClient, awserr.InvalidSignature, awserr.IncompleteSignature,
		awserr.ExpiredToken, awserr.InvalidClientTokenID, awserr.SignatureDoesNotMatch:
		status = http.StatusUnauthorized
	case awserr.ResourceNotFound:
		status = http.StatusNotFound
	case awserr.Throttling:
		status = http.StatusTooManyRequests
	case awserr.ServiceUnavailable, awserr.InternalFailure:
		status = http.StatusServiceUnavailable
	}
	return &failure{status, string(e.Code) + ": " + e.Message}
}

var errTooLarge = errors.New("decompressed body too large")

func gunzip(b []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > limit {
		return nil, errTooLarge
	}
	return out, nil
}

// writeSuccess answers ExportLogsServiceResponse: {} when every record was
// stored, else partialSuccess with AWS's counts in errorMessage.
func writeSuccess(w http.ResponseWriter, kind string, res logs.PutResult) {
	rejected := res.TooOld + res.TooNew + res.Expired
	msg := ""
	if rejected > 0 {
		msg = fmt.Sprintf(`{"tooOldLogEventCount": %d, "tooNewLogEventCount": %d, "expiredLogEventCount": %d}`, res.TooOld, res.TooNew, res.Expired)
	}
	if kind == "protobuf" {
		var b []byte
		if rejected > 0 {
			var ps []byte
			ps = protowire.AppendTag(ps, 1, protowire.VarintType)
			ps = protowire.AppendVarint(ps, uint64(rejected))
			ps = protowire.AppendTag(ps, 2, protowire.BytesType)
			ps = protowire.AppendString(ps, msg)
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = protowire.AppendBytes(b, ps)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
		w.Write(b)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if rejected == 0 {
		io.WriteString(w, "{}")
		return
	}
	fmt.Fprintf(w, `{"partialSuccess":{"rejectedLogRecords":%d,"errorMessage":%s}}`, rejected, strconv.Quote(msg))
}

// writeStatus answers a failure as google.rpc.Status {code, message}, the
// body OTLP/HTTP specifies for errors.
func writeStatus(w http.ResponseWriter, kind string, status int, msg string) {
	code := grpcCode(status)
	if kind == "protobuf" {
		var b []byte
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(code))
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, msg)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(status)
		w.Write(b)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":%d,"message":%s}`, code, strconv.Quote(msg))
}

func grpcCode(status int) int {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return 3 // INVALID_ARGUMENT
	case http.StatusUnauthorized:
		return 16 // UNAUTHENTICATED
	case http.StatusForbidden:
		return 7 // PERMISSION_DENIED
	case http.StatusNotFound:
		return 5 // NOT_FOUND
	case http.StatusTooManyRequests:
		return 8 // RESOURCE_EXHAUSTED
	case http.StatusMethodNotAllowed:
		return 12 // UNIMPLEMENTED
	}
	return 14 // UNAVAILABLE
}
