// Package protocol is the AWS JSON 1.1 wire layer: it turns HTTP requests into
// operation calls and their results (or errors) back into HTTP responses.
//
// A request enters ServeHTTP. The handler gives every response an
// x-amzn-RequestId, reads the body within a bound (gunzipping it when
// Content-Encoding says gzip), authenticates it, finds the operation named by
// X-Amz-Target ("Logs_20140328.PutLogEvents"), and calls it with a *Call that
// decodes and validates the JSON input against the API model. The operation's
// result is written as JSON; an *awserr.Error as {"__type","message"} with its
// status; any other error is logged and answered ServiceUnavailableException,
// so internal texts never reach a client. Form-encoded requests (the STS
// Query protocol) go to Config.Query.
package protocol

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/awsmodel"
)

const contentType = "application/x-amz-json-1.1"

// DefaultMaxBody bounds a request body, compressed or not. The largest valid
// request, a PutLogEvents of 1,048,576 bytes of messages, can grow up to six
// times when every byte is a JSON \u escape.
const DefaultMaxBody = 8 << 20

// Operation executes one API operation.
type Operation func(ctx context.Context, c *Call) (any, error)

// Identity is an authenticated caller.
type Identity struct {
	Account string
	Region  string
	// Authorize decides whether the caller may perform action (e.g.
	// "logs:PutLogEvents") on resource (an ARN); nil allows everything.
	Authorize func(action, resource string) error
	// Principal is the authenticator's own view of the caller (for STS).
	Principal any
}

// Authenticator verifies a request. body is the body as sent (before gunzip),
// because the signature covers those bytes.
type Authenticator interface {
	Authenticate(r *http.Request, body []byte) (Identity, error)
}

// QueryHandler serves form-encoded Query-protocol requests (STS), which
// answer in XML, errors included. r's body has been read; body holds it,
// uncompressed.
type QueryHandler interface {
	ServeQuery(w http.ResponseWriter, r *http.Request, id Identity, body []byte)
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
	Model      *awsmodel.Model
	Operations map[string]Operation
	Auth       Authenticator
	Query      QueryHandler // nil: Query-protocol requests are refused
	Logger     *slog.Logger
	MaxBody    int64
	// Extra serves requests that are not API calls (health, console, metrics).
	Extra http.Handler
	// Throttle admits or refuses an authenticated call of a served operation
	// before its body is decompressed or it runs (AWS's per-account TPS
	// quotas, package quota); nil admits every call.
	Throttle func(account, region, op string) error
}

// Handler is the API's http.Handler.
type Handler struct {
	cfg    Config
	log    *slog.Logger
	target string // "Logs_20140328."
}

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	return &Handler{cfg: cfg, log: cfg.Logger, target: cfg.Model.TargetPrefix + "."}
}

// Call is one operation invocation.
type Call struct {
	Op        string
	RequestID string
	Identity  Identity
	Header    http.Header
	RemoteIP  string
	Body      []byte // uncompressed JSON
	Received  time.Time

	model *awsmodel.Model
}

// Account and Region are where the call's resources live.
func (c *Call) Account() string { return c.Identity.Account }
func (c *Call) Region() string  { return c.Identity.Region }

// Authorize checks that the caller may perform action on resource.
func (c *Call) Authorize(action, resource string) error {
	if c.Identity.Authorize == nil {
		return nil
	}
	return c.Identity.Authorize(action, resource)
}

// Decode validates the body against the operation's input shape in the API
// model, then decodes it into v.
func (c *Call) Decode(v any) error {
	body := c.body()
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var doc any
	if err := d.Decode(&doc); err != nil {
		return serializationError(err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return awserr.New(awserr.SerializationException, "Start of structure or map found where not expected.")
	}
	if err := c.model.Validate(c.Op, doc); err != nil {
		return err
	}
	return c.DecodeUnchecked(v)
}

// DecodeUnchecked decodes the body into v without model validation; hot paths
// (PutLogEvents) validate their members themselves with Model().CheckValue.
func (c *Call) DecodeUnchecked(v any) error {
	if err := json.Unmarshal(c.body(), v); err != nil {
		return serializationError(err)
	}
	return nil
}

// Model is the API model, for members validated by hand.
func (c *Call) Model() *awsmodel.Model { return c.model }

func (c *Call) body() []byte {
	if len(bytes.TrimSpace(c.Body)) == 0 {
		return []byte("{}") // AWS treats an empty body as an empty input
	}
	return c.Body
}

func serializationError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return awserr.New(awserr.SerializationException, "Unexpected value type at '%s': expected %s", te.Field, te.Type)
	}
	return awserr.New(awserr.SerializationException, "Malformed request body: %s", err.Error())
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	target := r.Header.Get("X-Amz-Target")
	if r.Method != http.MethodPost || (target == "" && !isForm(r)) {
		if h.cfg.Extra != nil {
			h.cfg.Extra.ServeHTTP(w, r)
			return
		}
		h.writeError(w, reqID, "", awserr.New(awserr.UnknownOperation, "Unknown operation"))
		return
	}
	raw, err := readBody(r, h.cfg.MaxBody)
	if err != nil {
		h.writeError(w, reqID, target, err)
		return
	}
	id, err := h.authenticate(r, raw)
	if err != nil {
		if target == "" && h.cfg.Query != nil {
			h.cfg.Query.WriteError(w, reqID, err)
			return
		}
		h.writeError(w, reqID, target, err)
		return
	}
	// Quotas are charged only to authenticated callers, and only for
	// operations that exist, so the quota keys stay bounded.
	if op, ok := strings.CutPrefix(target, h.target); ok && h.cfg.Throttle != nil && h.cfg.Operations[op] != nil {
		if err := h.cfg.Throttle(id.Account, id.Region, op); err != nil {
			h.writeError(w, reqID, op, err)
			return
		}
	}
	body, err := decompress(r, raw, h.cfg.MaxBody)
	if err != nil {
		h.writeError(w, reqID, target, err)
		return
	}
	if target == "" {
		h.serveQuery(w, r, id, body, reqID)
		return
	}
	op, ok := strings.CutPrefix(target, h.target)
	fn := h.cfg.Operations[op]
	if !ok || fn == nil {
		if ok && h.cfg.Model.HasOperation(op) {
			h.writeError(w, reqID, target, awserr.New(awserr.InvalidOperation, "The operation %s is not supported by Cairn yet.", op))
			return
		}
		h.writeError(w, reqID, target, awserr.New(awserr.UnknownOperation, "Unknown operation %s", target))
		return
	}
	call := &Call{Op: op, RequestID: reqID, Identity: id, Header: r.Header, RemoteIP: remoteIP(r), Body: body, Received: time.Now(), model: h.cfg.Model}
	out, err := h.invoke(r.Context(), fn, call)
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

// invoke runs an operation and turns a panic into an internal error, so one
// bad request cannot take the server down.
func (h *Handler) invoke(ctx context.Context, fn Operation, c *Call) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("operation panicked", "op", c.Op, "requestId", c.RequestID, "panic", fmt.Sprint(p))
			out, err = nil, fmt.Errorf("panic in %s: %v", c.Op, p)
		}
	}()
	return fn(ctx, c)
}

func (h *Handler) stream(w http.ResponseWriter, r *http.Request, s Streamer) {
	w.Header().Set("Content-Type", s.ContentType())
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	flush := func() { _ = rc.Flush() }
	flush()
	if err := s.Stream(r.Context(), w, flush); err != nil && r.Context().Err() == nil {
		h.log.Warn("stream ended with error", "err", err)
	}
}

func (h *Handler) serveQuery(w http.ResponseWriter, r *http.Request, id Identity, body []byte, reqID string) {
	if h.cfg.Query == nil {
		h.writeError(w, reqID, "", awserr.New(awserr.UnknownOperation, "Unknown operation"))
		return
	}
	h.cfg.Query.ServeQuery(w, r, id, body)
}

func (h *Handler) authenticate(r *http.Request, raw []byte) (Identity, error) {
	if h.cfg.Auth == nil {
		return Identity{Region: RegionFromRequest(r)}, nil
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

func isForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded"
}

// readBody reads at most max bytes, refusing a larger body without reading it all.
func readBody(r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, tooLarge(max)
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, awserr.New(awserr.SerializationException, "Could not read the request body.")
	}
	if n > max {
		return nil, tooLarge(max)
	}
	return buf.Bytes(), nil
}

func decompress(r *http.Request, raw []byte, max int64) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))) {
	case "", "identity":
		return raw, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, awserr.New(awserr.SerializationException, "The request body is not valid gzip.")
		}
		var buf bytes.Buffer
		n, err := buf.ReadFrom(io.LimitReader(zr, max+1))
		if err != nil {
			return nil, awserr.New(awserr.SerializationException, "The request body is not valid gzip.")
		}
		if n > max {
			return nil, tooLarge(max)
		}
		return buf.Bytes(), nil
	default:
		return nil, awserr.New(awserr.SerializationException, "Unsupported Content-Encoding %q.", r.Header.Get("Content-Encoding"))
	}
}

func tooLarge(max int64) error {
	return awserr.New(awserr.RequestEntityTooLarge, "Request body exceeds the limit of %d bytes.", max)
}

func (h *Handler) writeJSON(w http.ResponseWriter, status int, v any) {
	var body []byte
	if v == nil {
		body = []byte("{}")
	} else {
		var err error
		if body, err = json.Marshal(v); err != nil {
			h.log.Error("encode response", "err", err)
			status, body = http.StatusInternalServerError, []byte(`{"__type":"ServiceUnavailableException","message":"The service cannot complete the request."}`)
		}
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
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
	body := map[string]any{"__type": string(ae.Code), "message": ae.Message}
	for k, v := range ae.Extra {
		body[k] = v
	}
	if ae.Code == awserr.Throttling {
		w.Header().Set("Retry-After", "1")
	}
	h.writeJSON(w, ae.Code.Status(), body)
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
