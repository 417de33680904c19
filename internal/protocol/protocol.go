// Package protocol is the AWS JSON 1.1 wire layer: it turns HTTP requests into
// operation calls and their results (or errors) back into HTTP responses. It
// is the only place an HTTP request becomes a caller.Caller.
//
// A request enters ServeHTTP. The handler gives every response an
// x-amzn-RequestId, reads the body within a bound (gunzipping it when
// Content-Encoding says gzip), authenticates it (the Authenticator returns
// the Caller; the handler adds the request id and source address), finds the
// operation named by X-Amz-Target ("Logs_20140328.PutLogEvents") in the
// Table, and calls it. The families of the service register typed functions,
// func(ctx, caller.Caller, *In) (*Out, error), through Decoded (the body is
// decoded and validated against the API model first) or Unchecked (the
// function validates its members itself); the service never sees the request,
// its headers or its body. The operation's result is written as JSON, or
// streamed when it is a Streamer; an *awserr.Error as {"__type","message"}
// with its status; any other error is logged and answered
// ServiceUnavailableException, so internal texts never reach a client.
// Form-encoded requests (the STS Query protocol) go to Config.Query with the
// Caller.
package protocol

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	json "github.com/goccy/go-json"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/awsmodel"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/uuid"
)

const contentType = "application/x-amz-json-1.1"

// DefaultMaxBody bounds a request body, compressed or not. The largest valid
// request, a PutLogEvents of 1,048,576 bytes of messages, can grow up to six
// times when every byte is a JSON \u escape.
const DefaultMaxBody = 8 << 20

// Operation executes one API operation from its request body. Operations
// are rarely written by hand: Decoded and Unchecked (table.go) adapt a typed
// service function to one.
type Operation func(ctx context.Context, c *Call) (any, error)

// Prechecker is an Authenticator that can refuse a request from its headers
// alone. The handler calls Precheck before it reads the body, so a client
// without a plausible signature cannot make the server buffer anything.
type Prechecker interface {
	Precheck(r *http.Request) error
}

// Authenticator verifies a request and says who sent it. body is the body as
// sent (before gunzip), because the signature covers those bytes. The Caller
// it returns has its account, region, identity and authorizer set; the
// handler adds the request id and the source address.
type Authenticator interface {
	Authenticate(r *http.Request, body []byte) (caller.Caller, error)
}

// QueryHandler serves form-encoded Query-protocol requests (STS), which
// answer in XML, errors included. r's body has been read; body holds it,
// uncompressed.
type QueryHandler interface {
	ServeQuery(w http.ResponseWriter, r *http.Request, c caller.Caller, body []byte)
	WriteError(w http.ResponseWriter, requestID string, err error)
}

// Streamer is a result that writes its own response body over time (Live
// Tail's event stream). Stream returns when the session ends or ctx is done.
type Streamer interface {
	ContentType() string
	Stream(ctx context.Context, w io.Writer, flush func()) error
}

// Config configures a Handler.
type Config struct {
	Model *awsmodel.Model
	// Operations are the operations served; the families of the service
	// register theirs (server assembles the table).
	Operations *Table
	Auth       Authenticator
	Query      QueryHandler // nil: Query-protocol requests are refused
	Logger     *slog.Logger
	MaxBody    int64
	// BodyTimeout is how long a request body may take to arrive
	// (DefaultBodyTimeout when 0).
	BodyTimeout time.Duration
	// BodyBudget bounds the bytes of all request bodies held at once
	// (DefaultBodyBudget when 0); BodyWait is how long a body waits for room
	// before the request is refused (DefaultBodyWait when 0).
	BodyBudget int64
	BodyWait   time.Duration
	// StreamWriteTimeout bounds how long a streamed response (Live Tail)
	// waits for the client to take one write (DefaultStreamWriteTimeout
	// when 0); a client that stops reading loses its session, and its
	// quota slot, after it.
	StreamWriteTimeout time.Duration
	// Extra serves requests that are not API calls (health, console, metrics).
	Extra http.Handler
	// Throttle admits or refuses an authenticated call of a served operation
	// before its body is decompressed or it runs (AWS's per-account TPS
	// quotas, package quota); nil admits every call.
	Throttle func(account, region, op string) error
	// Observe, when set, is told of every API call once it is answered: the
	// operation (an operation of the model, "STS" for the Query protocol,
	// "unknown" for any other target, so the values stay bounded), the AWS
	// error code sent ("" on success) and how long it took. Metrics use it.
	Observe func(op, code string, d time.Duration)
	// Audit, when set, is shown every authenticated API call once it is
	// answered (package audit turns them into CloudTrail records).
	Audit Auditor
}

// Auditor sees answered API calls. Wants is asked first, so that calls it
// does not record (data events when they are off) cost nothing more.
type Auditor interface {
	// Wants reports whether op (an operation's name; for STS, the form's
	// Action) is recorded.
	Wants(op string, sts bool) bool
	// Audit records one call. The call's byte slices are valid only during
	// Audit: it copies what it keeps. It must not block for long.
	Audit(c *AuditCall)
}

// AuditCall is one answered API call as an Auditor sees it.
type AuditCall struct {
	Op        string // the operation; for STS, the form's Action
	STS       bool   // a Query-protocol (STS) call
	Caller    caller.Caller
	UserAgent string
	Time      time.Time // when the request arrived
	// Request is the decoded request body: JSON for the logs API, the form
	// for STS; nil when the call failed before its body was read.
	Request []byte
	// Response is the operation's output (JSON-encodable; a Streamer for
	// Live Tail), nil on error. ResponseXML is STS's answer as sent.
	Response    any
	ResponseXML []byte
	Err         *awserr.Error // nil on success; for STS see ResponseXML
}

// Handler is the API's http.Handler.
type Handler struct {
	cfg    Config
	log    *slog.Logger
	target string // "Logs_20140328."
	budget *budget
	chunks sync.Pool // *[]byte of firstChunk bytes, where bodies start
	// out keeps a few response buffers for Appender outputs. Not a
	// sync.Pool: that drops its contents at every GC, and a reader paging
	// through 1 MB pages causes one every few pages, so each page paid for
	// a fresh 1–3 MB buffer, zeroed (~6 % of a time-range read's CPU).
	out chan *[]byte
	// bigs keeps a few grown body buffers (at most maxPooledBody bytes
	// each) for the bodies that outgrow their first chunk, for the same
	// reason: a 1,000-event PutLogEvents body (~120 KB) grew through two
	// fresh zeroed allocations and a copy per request.
	bigs chan *[]byte
}

// pooledBodies is how many grown body buffers bigs keeps: the bench's and a
// typical agent fleet's concurrent writers.
const pooledBodies = 8

// maxPooledBody bounds a kept body buffer: a full PutLogEvents batch (1 MiB
// of messages, plus its JSON) fits.
const maxPooledBody = 2 << 20

// pooledResponses is how many response buffers out keeps (each at most
// maxPooledResponse): one per core is what can be encoding at once.
func pooledResponses() int { return runtime.GOMAXPROCS(0) }

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	if cfg.BodyBudget == 0 {
		cfg.BodyBudget = DefaultBodyBudget
	}
	if cfg.BodyWait == 0 {
		cfg.BodyWait = DefaultBodyWait
	}
	h := &Handler{cfg: cfg, log: cfg.Logger, target: cfg.Model.TargetPrefix + ".", budget: newBudget(cfg.BodyBudget, cfg.BodyWait),
		out: make(chan *[]byte, pooledResponses()), bigs: make(chan *[]byte, pooledBodies)}
	h.chunks.New = func() any { b := make([]byte, firstChunk); return &b }
	return h
}

// Call is one operation invocation as the wire layer holds it: the caller,
// the operation's name and its body. Only the adapters in table.go read it;
// the service gets the caller and the decoded input.
type Call struct {
	Op     string
	Caller caller.Caller
	// Body is the uncompressed JSON. Its memory is reused once the operation
	// returns: an operation copies what it keeps (the decoders do).
	Body []byte

	model *awsmodel.Model
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := uuid.New()
	w.Header().Set("x-amzn-RequestId", reqID)
	target := r.Header.Get("X-Amz-Target")
	if !isAPICall(r, target) {
		if h.cfg.Extra != nil {
			h.cfg.Extra.ServeHTTP(w, r)
			return
		}
		h.writeError(w, reqID, "", awserr.NoOperation())
		return
	}
	var audit *AuditCall // set once authenticated, when the auditor wants the call
	if debug := h.log.Enabled(r.Context(), slog.LevelDebug); debug || h.cfg.Observe != nil || h.cfg.Audit != nil {
		rec := &requestLog{ResponseWriter: w, start: time.Now(), op: target}
		defer func() {
			// Calls refused before their operation ran (throttled, bad
			// encoding, unknown operation) are audited here, without body.
			if audit != nil {
				audit.Err = rec.err
				h.cfg.Audit.Audit(audit)
			}
			if debug {
				rec.log(h.log, reqID)
			}
			if h.cfg.Observe != nil {
				h.cfg.Observe(h.opLabel(target), rec.code, time.Since(rec.start))
			}
		}()
		w = rec
	}
	if err := h.precheck(r); err != nil {
		// The body is not read: the connection closes after this answer
		// instead of draining it.
		w.Header().Set("Connection", "close")
		h.authFailed(w, reqID, target, err)
		return
	}
	mem := bodyMem{h: h}
	defer mem.release()
	raw, err := h.readBody(w, r, &mem)
	if err != nil {
		w.Header().Set("Connection", "close")
		h.writeError(w, reqID, target, err)
		return
	}
	id, err := h.authenticate(r, raw)
	if err != nil {
		h.authFailed(w, reqID, target, err)
		return
	}
	id.RequestID, id.SourceIP = reqID, sourceIP(r)
	if rec, ok := w.(*requestLog); ok {
		rec.arn = id.Identity.ARN
		if h.cfg.Audit != nil {
			audit = h.auditCall(r, target, id, rec.start)
		}
	}
	// Quotas are charged only to authenticated callers, and only for
	// operations that exist, so the quota keys stay bounded.
	if op, ok := strings.CutPrefix(target, h.target); ok && h.cfg.Throttle != nil && h.cfg.Operations.Has(op) {
		if err := h.cfg.Throttle(id.Account, id.Region, op); err != nil {
			h.writeError(w, reqID, op, err)
			return
		}
	}
	body, err := h.decompress(r, raw, &mem)
	if err != nil {
		h.writeError(w, reqID, target, err)
		return
	}
	if target == "" {
		if audit == nil {
			h.serveQuery(w, r, id, body, reqID)
			return
		}
		cw := &captureWriter{ResponseWriter: w}
		h.serveQuery(cw, r, id, body, reqID)
		audit.Request, audit.ResponseXML = body, cw.buf.Bytes()
		h.cfg.Audit.Audit(audit)
		audit = nil
		return
	}
	op, ok := strings.CutPrefix(target, h.target)
	fn := h.cfg.Operations.lookup(op)
	if !ok || fn == nil {
		if ok && h.cfg.Model.HasOperation(op) {
			h.writeError(w, reqID, target, awserr.NotSupported(op))
			return
		}
		h.writeError(w, reqID, target, awserr.UnknownTarget(target))
		return
	}
	call := &Call{Op: op, Caller: id, Body: body, model: h.cfg.Model}
	out, err := h.invoke(r.Context(), fn, call)
	if audit != nil {
		// Before the body's memory is released.
		audit.Request, audit.Response = body, out
		if err != nil {
			audit.Err = wireError(err)
		}
		h.cfg.Audit.Audit(audit)
		audit = nil
	}
	// The operation has decoded what it needs; a Live Tail stream that
	// follows lasts hours and must not hold the body's memory.
	call.Body = nil
	mem.release()
	if err != nil {
		h.writeError(w, reqID, op, err)
		return
	}
	if s, ok := out.(Streamer); ok {
		h.stream(w, r, s)
		return
	}
	h.writeJSON(w, http.StatusOK, out)
}

// opLabel names a target for Observe with a bounded set of values.
func (h *Handler) opLabel(target string) string {
	if target == "" {
		return "STS"
	}
	if op, ok := strings.CutPrefix(target, h.target); ok && h.cfg.Model.HasOperation(op) {
		return op
	}
	return "unknown"
}

// invoke runs an operation and turns a panic into an internal error, so one
// bad request cannot take the server down.
func (h *Handler) invoke(ctx context.Context, fn Operation, c *Call) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("operation panicked", "op", c.Op, "requestId", c.Caller.RequestID, "panic", fmt.Sprint(p))
			out, err = nil, fmt.Errorf("panic in %s: %v", c.Op, p)
		}
	}()
	return fn(ctx, c)
}

func (h *Handler) stream(w http.ResponseWriter, r *http.Request, s Streamer) {
	w.Header().Set("Content-Type", s.ContentType())
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	timeout := h.cfg.StreamWriteTimeout
	if timeout <= 0 {
		timeout = DefaultStreamWriteTimeout
	}
	// Every write and flush gets its own deadline: a client that reads
	// slowly but steadily keeps its session; one that stops reading makes
	// the blocked write fail, which ends the session instead of holding it
	// (and its slot) forever.
	dw := &deadlineWriter{w: w, rc: rc, timeout: timeout}
	flush := func() {
		_ = rc.SetWriteDeadline(time.Now().Add(timeout))
		_ = rc.Flush()
	}
	flush()
	if err := s.Stream(r.Context(), dw, flush); err != nil && r.Context().Err() == nil {
		h.log.Debug("stream ended with error", "err", err)
	}
}

// DefaultStreamWriteTimeout is how long a streamed response waits for a
// client to take one write. Live Tail sends a heartbeat every second, so a
// reader that is alive is never near it.
const DefaultStreamWriteTimeout = 30 * time.Second

// deadlineWriter sets the connection's write deadline before each write.
type deadlineWriter struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.w.Write(p)
}

func (h *Handler) serveQuery(w http.ResponseWriter, r *http.Request, id caller.Caller, body []byte, reqID string) {
	if h.cfg.Query == nil {
		h.writeError(w, reqID, "", awserr.NoOperation())
		return
	}
	h.cfg.Query.ServeQuery(w, r, id, body)
}

// authFailed answers a request that failed authentication, in XML for the
// Query protocol.
func (h *Handler) authFailed(w http.ResponseWriter, reqID, target string, err error) {
	if target == "" && h.cfg.Query != nil {
		h.cfg.Query.WriteError(w, reqID, err)
		return
	}
	h.writeError(w, reqID, target, err)
}

func (h *Handler) precheck(r *http.Request) error {
	if p, ok := h.cfg.Auth.(Prechecker); ok {
		return p.Precheck(r)
	}
	return nil
}

// readBody reads the request body as sent, within the body deadline and the
// budget. The deadline is on the connection: a client that stops sending
// fails the read when it passes, whatever stage the read is in.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, mem *bodyMem) ([]byte, error) {
	if r.ContentLength > h.cfg.MaxBody {
		return nil, tooLarge(h.cfg.MaxBody)
	}
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	rc := http.NewResponseController(w)
	// Not every ResponseWriter has a connection (tests record responses);
	// those bodies are in memory already.
	deadline := rc.SetReadDeadline(time.Now().Add(h.cfg.BodyTimeout)) == nil
	raw, err := mem.readAll(r.Context(), r.Body, r.ContentLength, h.cfg.MaxBody)
	if deadline && err == nil {
		// No deadline while the operation runs: a deadline that passed
		// during net/http's background read (which notices a client going
		// away) would cancel a Live Tail stream. net/http clears it too when
		// the body hits EOF; this does not rely on that.
		_ = rc.SetReadDeadline(time.Time{})
	}
	return raw, err
}

func (h *Handler) decompress(r *http.Request, raw []byte, mem *bodyMem) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))) {
	case "", "identity":
		return raw, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, awserr.BadGzip()
		}
		body, err := mem.readAll(r.Context(), zr, -1, h.cfg.MaxBody)
		if err != nil {
			if ae, ok := awserr.As(err); ok && ae.Code != awserr.SerializationException {
				return nil, err // too large, or no room in the budget
			}
			return nil, awserr.BadGzip()
		}
		return body, nil
	default:
		return nil, awserr.UnsupportedEncoding(r.Header.Get("Content-Encoding"))
	}
}

func (h *Handler) authenticate(r *http.Request, raw []byte) (caller.Caller, error) {
	if h.cfg.Auth == nil {
		return caller.Caller{Region: RegionFromRequest(r), Authorizer: caller.AllowAll}, nil
	}
	return h.cfg.Auth.Authenticate(r, raw)
}

// RegionFromRequest reads the region from the SigV4 credential scope of the
// Authorization header or presigned query, defaulting to us-east-1.
func RegionFromRequest(r *http.Request) string {
	cred := ""
	if a := r.Header.Get("Authorization"); a != "" {
		if i := strings.Index(a, "Credential="); i >= 0 {
			cred = a[i+len("Credential="):]
			if j := strings.IndexAny(cred, ", "); j >= 0 {
				cred = cred[:j]
			}
		}
	} else {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	parts := strings.Split(cred, "/")
	if len(parts) == 5 && parts[2] != "" {
		return parts[2]
	}
	return "us-east-1"
}

// isAPICall tells API calls from other requests (health, console): a POST
// with X-Amz-Target (JSON protocol), or a Query-protocol (STS) call, which is
// a form-encoded POST or, as AWS STS also accepts (presigned
// GetCallerIdentity URLs, the kind EKS-style authenticators hand on), a GET
// whose query names an Action.
func isAPICall(r *http.Request, target string) bool {
	switch r.Method {
	case http.MethodPost:
		return target != "" || isForm(r)
	case http.MethodGet:
		return target == "" && r.URL.Query().Has("Action")
	}
	return false
}

func isForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded"
}

func tooLarge(max int64) error {
	return awserr.BodyTooLarge(max)
}

func (h *Handler) writeJSON(w http.ResponseWriter, status int, v any) {
	var body []byte
	if a, ok := v.(Appender); ok {
		var buf *[]byte
		select {
		case buf = <-h.out:
		default:
			buf = new([]byte)
		}
		body = a.AppendJSON((*buf)[:0])
		defer func() {
			// Put back only after Write: the body is the buffer.
			if cap(body) <= maxPooledResponse {
				*buf = body[:0]
				select {
				case h.out <- buf:
				default: // enough kept
				}
			}
		}()
	} else if v == nil {
		body = []byte("{}")
	} else {
		var err error
		if body, err = json.Marshal(v); err != nil {
			h.log.Error("encode response", "err", err)
			status, body = http.StatusInternalServerError, []byte(`{"__type":"ServiceUnavailableException","message":"The service cannot complete the request."}`)
		}
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError is the one place errors reach the wire.
func (h *Handler) writeError(w http.ResponseWriter, reqID, op string, err error) {
	ae, ok := awserr.As(err)
	if !ok {
		h.log.Error("internal error", "op", op, "requestId", reqID, "err", err)
		ae = awserr.Internal()
	}
	if rec, ok := w.(*requestLog); ok {
		rec.code, rec.err = string(ae.Code), ae
	}
	body := map[string]any{"__type": string(ae.Code), "message": ae.Message}
	for k, v := range ae.Extra {
		body[k] = v
	}
	if ae.Code == awserr.Throttling {
		w.Header().Set("Retry-After", "1")
	}
	h.writeJSON(w, ae.Code.Status(), body)
}

// sourceIP is the TCP peer's address (aws:SourceIp); a proxy's
// X-Forwarded-For is not trusted.
func sourceIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return ip.Unmap()
}

// Invoke runs operation op as c with a JSON body, exactly as if the call had
// arrived on the wire with c's credentials: the same quota check, the same
// model validation and the same operation function, so IAM decides what c may
// do the same way. It is the entry point of callers that authenticate by
// other means than a signature (the console's session). c's RequestID is
// set when empty. The result is what an operation returns: a value to write
// with WriteResult, or a Streamer.
func (h *Handler) Invoke(ctx context.Context, c caller.Caller, op string, body []byte) (any, error) {
	if c.RequestID == "" {
		c.RequestID = uuid.New()
	}
	fn := h.cfg.Operations.lookup(op)
	if fn == nil {
		if h.cfg.Model.HasOperation(op) {
			return nil, awserr.NotSupported(op)
		}
		return nil, awserr.UnknownTarget(h.target + op)
	}
	if h.cfg.Throttle != nil {
		if err := h.cfg.Throttle(c.Account, c.Region, op); err != nil {
			return nil, err
		}
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	start := time.Now()
	out, err := h.invoke(ctx, fn, &Call{Op: op, Caller: c, Body: body, model: h.cfg.Model})
	if h.cfg.Observe != nil {
		code := ""
		if err != nil {
			ae, ok := awserr.As(err)
			if !ok {
				ae = awserr.Internal() // what WriteResult will answer
			}
			code = string(ae.Code)
		}
		h.cfg.Observe(op, code, time.Since(start))
	}
	return out, err
}

// WriteResult writes what Invoke answered as the API writes it: the JSON
// result, the streamed body of a Streamer, or the error as
// {"__type","message"} with its status.
func (h *Handler) WriteResult(w http.ResponseWriter, r *http.Request, op string, out any, err error) {
	if w.Header().Get("x-amzn-RequestId") == "" {
		w.Header().Set("x-amzn-RequestId", uuid.New())
	}
	if err != nil {
		h.writeError(w, w.Header().Get("x-amzn-RequestId"), op, err)
		return
	}
	if s, ok := out.(Streamer); ok {
		h.stream(w, r, s)
		return
	}
	h.writeJSON(w, http.StatusOK, out)
}

// StreamTo runs a Streamer's session on w with the API's write deadlines
// (a client that stops reading ends it), for a caller that translates the
// stream (the console relays Live Tail to a browser).
func (h *Handler) StreamTo(w http.ResponseWriter, r *http.Request, s Streamer, contentType string, translate func(io.Writer) io.Writer) {
	h.stream(w, r, translated{s, contentType, translate})
}

type translated struct {
	Streamer
	ct string
	tr func(io.Writer) io.Writer
}

func (t translated) ContentType() string { return t.ct }
func (t translated) Stream(ctx context.Context, w io.Writer, flush func()) error {
	return t.Streamer.Stream(ctx, t.tr(w), flush)
}
