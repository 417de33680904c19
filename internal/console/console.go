// Package console is Cairn's web console, served by the server's own
// listener under /console/ (and / redirects there). The front end is plain
// JavaScript modules and CSS in static/, embedded with embed.FS, so `go
// build` alone puts it in the binary and nothing is compiled or fetched.
//
// Data flows: the browser signs in with an access key id and its secret
// (POST /console/api/signin); the Auth checks the pair against the server's
// identities and the console keeps a server-side session (session.go) that
// holds the key id, never the secret, behind an HttpOnly, SameSite=Strict
// cookie. Every API request of the page (POST /console/api/call/{Op}, with
// the session's CSRF token in X-CSRF-Token) is the real CloudWatch Logs JSON
// API: the console builds the caller.Caller of the session's key for that
// request (Auth.KeyCaller) and runs the operation through the protocol
// layer (API.Invoke), so IAM authorizes the console exactly as it authorizes
// a signed call. Live Tail's event stream is relayed as newline-delimited
// JSON (tail.go); a CI build's log is read progressively, Jenkins style, by
// the page and by other CI systems: package buildlog serves those routes in
// the console's mux, as the session's caller or one of HTTP Basic
// credentials (requestCaller).
package console

import (
	"context"
	"embed"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cairnlog/cairn/internal/buildlog"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/protocol"
)

//go:embed static
var static embed.FS

// API runs operations as a caller: the protocol handler (protocol.Handler).
type API interface {
	Invoke(ctx context.Context, c caller.Caller, op string, body []byte) (any, error)
	WriteResult(w http.ResponseWriter, r *http.Request, op string, out any, err error)
	StreamTo(w http.ResponseWriter, r *http.Request, s protocol.Streamer, contentType string, translate func(io.Writer) io.Writer)
}

// Auth checks a sign-in and builds the caller of a signed-in key
// (auth.Security).
type Auth interface {
	SignIn(keyID, secret string) (arn string, err error)
	KeyCaller(r *http.Request, keyID, region string) (caller.Caller, error)
}

// Config configures a Console.
type Config struct {
	API  API
	Auth Auth
	// Now is the clock (sessions expire by it); nil means time.Now.
	Now func() time.Time
	// SessionTTL is how long a session lasts after sign-in (0: 8 h).
	SessionTTL time.Duration
	// MaxSessions bounds the sessions held at once (0: 10,000); past it the
	// oldest is ended.
	MaxSessions int
	Logger      *slog.Logger
}

// Console serves the console's pages and its API.
type Console struct {
	cfg      Config
	sessions *sessions
	mux      *http.ServeMux
}

// New returns a Console.
func New(cfg Config) *Console {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 10_000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Console{cfg: cfg, sessions: newSessions(cfg.Now, cfg.SessionTTL, cfg.MaxSessions)}
	sub, _ := fs.Sub(static, "static")
	files := http.StripPrefix("/console/static/", http.FileServerFS(sub))
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusFound)
	})
	m.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusFound)
	})
	m.HandleFunc("GET /console/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, sub, "index.html")
	})
	m.Handle("GET /console/static/", withHeader(noListing(files), "Cache-Control", "no-cache"))
	m.HandleFunc("POST /console/api/signin", c.signIn)
	m.HandleFunc("POST /console/api/signout", c.signOut)
	m.HandleFunc("GET /console/api/session", c.session)
	m.HandleFunc("POST /console/api/call/{op}", c.call)
	buildlog.New(buildlog.Config{API: cfg.API, Caller: c.requestCaller, WriteError: writeError, Now: cfg.Now}).Mount(m)
	m.HandleFunc("POST /console/api/readable", c.readable)
	c.mux = m
	return c
}

// Mount adds the console's routes to mux (the server's non-API routes).
func (c *Console) Mount(mux *http.ServeMux) {
	for _, p := range []string{"GET /{$}", "/console", "/console/"} {
		mux.Handle(p, c)
	}
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Everything the page loads is its own: no inline script, no other
	// origin, no framing (clickjacking).
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	c.mux.ServeHTTP(w, r)
}

// noListing answers a directory with 404 instead of FileServer's listing.
func noListing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func withHeader(next http.Handler, k, v string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(k, v)
		next.ServeHTTP(w, r)
	})
}

// maxSignInBody bounds the sign-in form; a key id and secret are short.
const maxSignInBody = 4 << 10

type signInRequest struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	Region          string `json:"region"`
}

type sessionInfo struct {
	ARN     string `json:"arn"`
	KeyID   string `json:"accessKeyId"`
	Region  string `json:"region"`
	CSRF    string `json:"csrfToken"`
	Expires int64  `json:"expires"`
}

func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	// A form cannot send JSON cross-site without a CORS preflight, which
	// this server never answers: with the Origin check that refuses login
	// CSRF (signing a victim into the attacker's account).
	if !sameOrigin(r) || !isJSON(r) {
		writeError(w, http.StatusForbidden, "Forbidden", "Cross-site request refused.")
		return
	}
	var in signInRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxSignInBody)).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "The sign-in form is not valid JSON.")
		return
	}
	in.AccessKeyID = strings.TrimSpace(in.AccessKeyID)
	if in.Region == "" {
		in.Region = "us-east-1"
	}
	if !validRegion(in.Region) {
		writeError(w, http.StatusBadRequest, "BadRequest", "The region is not valid.")
		return
	}
	arn, err := c.cfg.Auth.SignIn(in.AccessKeyID, in.SecretAccessKey)
	if err != nil {
		// The same answer for an unknown key and a wrong secret.
		writeError(w, http.StatusUnauthorized, "SignInFailed", "The access key id or secret is not valid.")
		return
	}
	s := c.sessions.create(in.AccessKeyID, arn, in.Region)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.id, Path: "/console/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, Expires: s.expires, MaxAge: int(c.cfg.SessionTTL / time.Second)})
	writeJSON(w, s.info())
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	s, ok := c.authenticated(w, r, true)
	if !ok {
		return
	}
	c.sessions.delete(s.id)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/console/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: -1})
	writeJSON(w, struct{}{})
}

func (c *Console) session(w http.ResponseWriter, r *http.Request) {
	s, ok := c.authenticated(w, r, false)
	if !ok {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, s.info())
}

// authenticated finds the request's session; a state-changing request must
// also carry the session's CSRF token. It answers the refusal itself.
func (c *Console) authenticated(w http.ResponseWriter, r *http.Request, changes bool) (*session, bool) {
	s := c.sessions.fromRequest(r)
	if s == nil {
		writeError(w, http.StatusUnauthorized, "NotSignedIn", "Sign in to the console first.")
		return nil, false
	}
	if changes && (!s.checkCSRF(r.Header.Get(csrfHeader)) || !sameOrigin(r)) {
		writeError(w, http.StatusForbidden, "Forbidden", "The request has no valid CSRF token.")
		return nil, false
	}
	return s, true
}

// callerFor is the session's identity as an API caller for this request.
func (c *Console) callerFor(w http.ResponseWriter, r *http.Request, s *session) (caller.Caller, bool) {
	cl, err := c.cfg.Auth.KeyCaller(r, s.keyID, s.region)
	if err != nil {
		// The key is gone (the IAM file was reloaded without it).
		c.sessions.delete(s.id)
		writeError(w, http.StatusUnauthorized, "NotSignedIn", "The session's access key is no longer valid; sign in again.")
		return caller.Caller{}, false
	}
	return cl, true
}

// maxCallBody is the API's own bound on a request body.
const maxCallBody = protocol.DefaultMaxBody

// call runs one API operation as the session's identity. Every call is
// treated as state-changing (they are POSTs and most change something), so
// every call needs the CSRF token.
func (c *Console) call(w http.ResponseWriter, r *http.Request) {
	s, ok := c.authenticated(w, r, true)
	if !ok {
		return
	}
	cl, ok := c.callerFor(w, r, s)
	if !ok {
		return
	}
	op := r.PathValue("op")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCallBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "BadRequest", "The request body is too large.")
		return
	}
	out, err := c.cfg.API.Invoke(r.Context(), cl, op, body)
	if st, ok := out.(protocol.Streamer); ok && err == nil {
		c.cfg.API.StreamTo(w, r, st, "application/x-ndjson", func(w io.Writer) io.Writer { return newTailRelay(w) })
		return
	}
	c.cfg.API.WriteResult(w, r, op, out, err)
}

func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		// Browsers send Origin on every cross-origin POST; a request without
		// one comes from the same origin or from a non-browser client.
		return true
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return origin == scheme+r.Host
}

// requestCaller is the caller of a build-log GET (package buildlog): the
// console session's, or, for other CI systems, HTTP Basic credentials
// (access key id and secret, as at sign-in).
func (c *Console) requestCaller(w http.ResponseWriter, r *http.Request) (caller.Caller, bool) {
	if key, secret, ok := r.BasicAuth(); ok {
		region := r.URL.Query().Get("region")
		if region == "" {
			region = "us-east-1"
		}
		if !validRegion(region) {
			writeError(w, http.StatusBadRequest, "BadRequest", "The region is not valid.")
			return caller.Caller{}, false
		}
		if _, err := c.cfg.Auth.SignIn(key, secret); err != nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="cairn"`)
			writeError(w, http.StatusUnauthorized, "SignInFailed", "The access key id or secret is not valid.")
			return caller.Caller{}, false
		}
		cl, err := c.cfg.Auth.KeyCaller(r, key, region)
		if err != nil {
			writeError(w, http.StatusUnauthorized, "SignInFailed", "The access key id or secret is not valid.")
			return caller.Caller{}, false
		}
		return cl, true
	}
	s, ok := c.authenticated(w, r, false)
	if !ok {
		return caller.Caller{}, false
	}
	return c.callerFor(w, r, s)
}

func isJSON(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/json")
}

func validRegion(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for _, ch := range s {
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
			return false
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers an error of the console's own endpoints (not an API
// call's: those are written by the API) in the API's shape, with the
// console's codes: SignInFailed, NotSignedIn, Forbidden, BadRequest.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

// maxReadable bounds the groups one readable request asks about (a page of
// DescribeLogGroups is at most 50).
const maxReadable = 1000

// readable answers which of the given groups the session's identity may read
// (logs:FilterLogEvents on the group, the check FilterLogEvents itself
// makes), so the group list shows a user restricted to some groups only
// those. It asks the identity's authorizer and touches no data.
func (c *Console) readable(w http.ResponseWriter, r *http.Request) {
	s, ok := c.authenticated(w, r, true)
	if !ok {
		return
	}
	cl, ok := c.callerFor(w, r, s)
	if !ok {
		return
	}
	var in struct {
		LogGroupNames []string `json:"logGroupNames"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil || len(in.LogGroupNames) > maxReadable {
		writeError(w, http.StatusBadRequest, "BadRequest", "Send {\"logGroupNames\": [...]} with at most 1000 names.")
		return
	}
	scope := logs.Scope(cl)
	out := map[string]bool{}
	for _, g := range in.LogGroupNames {
		out[g] = cl.Authorize("logs:FilterLogEvents", logs.GroupResource(scope, g)) == nil
	}
	writeJSON(w, struct {
		Readable map[string]bool `json:"readable"`
	}{out})
}
