// Package buildlog serves CI build logs, the Jenkins model
// (pipeline-cloudwatch-logs-plugin), under the console's routes
// GET /console/api/builds/progressiveText and GET /console/api/builds/list,
// for the console's build page and for CI systems (docs/console.md).
//
// Data flows: a GET → Config.Caller (the console's signed-in session, or
// HTTP Basic credentials of another CI system) → FilterLogEvents through the
// protocol layer as that caller (Config.API, so IAM applies) over the job's
// streams with a filter pattern on the build (and step) → the events of the
// build, ordered so that byte offsets never move → the text after the
// client's offset, or the job's build list.
package buildlog

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/protocol"
)

// The Jenkins model (pipeline-cloudwatch-logs-plugin): one
// group; a job's streams are "<JOB>@master", "<JOB>@agentN"; each event's
// message is JSON {message, annotations, build, node}. A build's log is
// every event of its job's streams whose build matches; a step's log, those
// whose node matches too.
//
// The progressive read is Jenkins' progressiveText: the client sends the
// byte offset it has read up to (start), gets the text after it, the
// offset to send next (X-Text-Size) and whether more may come (X-More-Data).
// Offsets never move, so nothing is sent twice: lines are ordered by when
// the server ingested them (ingestionTime, then timestamp, then eventId),
// and events ingested in the last holdBack are held back, since a batch
// ingested earlier may still be committing. Each poll re-reads the build's
// events from the store (FilterLogEvents as the caller, so IAM applies);
// what the client downloads is only the new text.

// API runs operations as a caller: the protocol handler (protocol.Handler).
type API interface {
	Invoke(ctx context.Context, c caller.Caller, op string, body []byte) (any, error)
	WriteResult(w http.ResponseWriter, r *http.Request, op string, out any, err error)
}

// Config configures a Handler.
type Config struct {
	API API
	// Caller is the caller of a request; when there is none it has written
	// the answer (401) and reports false.
	Caller func(w http.ResponseWriter, r *http.Request) (caller.Caller, bool)
	// WriteError answers an error of the build log's own (BadRequest) and an
	// API error it relays, in the shape of the console's endpoints (the
	// console's writer: the routes are the console's).
	WriteError func(w http.ResponseWriter, status int, code, msg string)
	// Now is the clock of the hold-back; nil means time.Now.
	Now func() time.Time
}

// Handler serves the build-log routes.
type Handler struct {
	cfg Config
}

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.API == nil || cfg.Caller == nil || cfg.WriteError == nil {
		panic("BUG: buildlog.Config needs API, Caller and WriteError")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg}
}

// Mount adds the build-log routes to m.
func (h *Handler) Mount(m *http.ServeMux) {
	m.HandleFunc("GET /console/api/builds/progressiveText", h.progressive)
	m.HandleFunc("GET /console/api/builds/list", h.listBuilds)
}

// holdBack is how long after ingestion an event waits before it enters a
// build's text: longer than a PutLogEvents takes to commit, so no event
// ingested earlier can appear after a later one was served.
const holdBack = 2 * time.Second

// maxBuildText bounds the text one build's read assembles (a log larger than
// this is served up to it, with X-More-Data false, and says so in a last line).
const maxBuildText = 64 << 20

// finishedLine is the line Jenkins prints last in every build's log
// ("Finished: SUCCESS", FAILURE, UNSTABLE, ABORTED, NOT_BUILT).
var finishedLine = regexp.MustCompile(`^Finished: [A-Z_]+$`)

// buildID and nodeID are what Jenkins writes (numbers); restricting them
// keeps them safe inside a filter pattern's quoted string.
var buildID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

type buildEvent struct {
	Message     string            `json:"message"`
	Annotations []json.RawMessage `json:"annotations,omitempty"`
	Build       string            `json:"build"`
	Node        string            `json:"node,omitempty"`
	// Parent is the node's enclosing node, when the writer says so. The
	// Jenkins plugin does not (its events carry node ids only); another CI
	// system writing this shape may, and then it decides the step tree
	// (docs/console.md, "Steps").
	Parent string `json:"parent,omitempty"`
}

type filteredEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	IngestionTime int64  `json:"ingestionTime"`
	Message       string `json:"message"`
	EventID       string `json:"eventId"`
}

type filterPage struct {
	Events    []filteredEvent `json:"events"`
	NextToken string          `json:"nextToken"`
}

// buildLine is one line of a build's log, with its byte offset in the text.
type buildLine struct {
	Offset      int64             `json:"offset"`
	Timestamp   int64             `json:"timestamp"`
	Stream      string            `json:"stream"`
	Node        string            `json:"node,omitempty"`
	Parent      string            `json:"parent,omitempty"`
	Message     string            `json:"message"`
	Annotations []json.RawMessage `json:"annotations,omitempty"`
	ingested    int64
	id          string
}

// apiError is an API error as the build log relays it.
type apiError struct {
	status int
	code   string
	msg    string
}

func (bl *Handler) invokeJSON(r *http.Request, cl caller.Caller, op string, in, out any) *apiError {
	body, err := json.Marshal(in)
	if err != nil {
		return &apiError{http.StatusInternalServerError, "InternalError", err.Error()}
	}
	res, err := bl.cfg.API.Invoke(r.Context(), cl, op, body)
	if err != nil {
		// The API's own error, written the API's way.
		rec := &errorRecorder{header: http.Header{}}
		bl.cfg.API.WriteResult(rec, r, op, nil, err)
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(rec.body, &e)
		return &apiError{rec.status, e.Type, e.Message}
	}
	var raw []byte
	if a, ok := res.(protocol.Appender); ok {
		raw = a.AppendJSON(nil)
	} else if raw, err = json.Marshal(res); err != nil {
		return &apiError{http.StatusInternalServerError, "InternalError", err.Error()}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &apiError{http.StatusInternalServerError, "InternalError", err.Error()}
	}
	return nil
}

type errorRecorder struct {
	header http.Header
	status int
	body   []byte
}

func (e *errorRecorder) Header() http.Header { return e.header }
func (e *errorRecorder) WriteHeader(s int)   { e.status = s }
func (e *errorRecorder) Write(p []byte) (int, error) {
	e.body = append(e.body, p...)
	return len(p), nil
}

// readBuild reads every line of one build (or one of its steps), in the
// order that keeps offsets fixed, and whether more may come.
func (bl *Handler) readBuild(r *http.Request, cl caller.Caller, group, job, build, node string) ([]buildLine, bool, *apiError) {
	pattern := fmt.Sprintf(`{$.build = "%s"}`, build)
	if node != "" {
		pattern = fmt.Sprintf(`{$.build = "%s" && $.node = "%s"}`, build, node)
	}
	in := map[string]any{"logGroupName": group, "logStreamNamePrefix": job + "@", "filterPattern": pattern}
	cutoff := bl.cfg.Now().Add(-holdBack).UnixMilli()
	var lines []buildLine
	held, finished := false, false
	size := int64(0)
	for {
		var page filterPage
		if e := bl.invokeJSON(r, cl, "FilterLogEvents", in, &page); e != nil {
			return nil, false, e
		}
		for _, ev := range page.Events {
			var be buildEvent
			if json.Unmarshal([]byte(ev.Message), &be) != nil || be.Build != build || (node != "" && be.Node != node) {
				continue
			}
			if ev.IngestionTime > cutoff {
				held = true
				continue
			}
			if be.Node == "" && finishedLine.MatchString(be.Message) {
				finished = true
			}
			size += int64(len(be.Message)) + 1
			if size > maxBuildText {
				return finish(lines), false, nil
			}
			lines = append(lines, buildLine{Timestamp: ev.Timestamp, Stream: ev.LogStreamName, Node: be.Node, Parent: be.Parent, Message: be.Message,
				Annotations: be.Annotations, ingested: ev.IngestionTime, id: ev.EventID})
		}
		if page.NextToken == "" {
			break
		}
		in["nextToken"] = page.NextToken
	}
	// A step's log is complete when its build is: the finished line has no
	// node, so for a step it is asked for separately.
	if node != "" && !held && !finished {
		_, more, e := bl.readBuild(r, cl, group, job, build, "")
		if e != nil {
			return nil, false, e
		}
		finished = !more
	}
	return finish(lines), held || !finished, nil
}

func finish(lines []buildLine) []buildLine {
	slices.SortStableFunc(lines, func(a, b buildLine) int {
		return cmp.Or(cmp.Compare(a.ingested, b.ingested), cmp.Compare(a.Timestamp, b.Timestamp), strings.Compare(a.id, b.id))
	})
	off := int64(0)
	for i := range lines {
		lines[i].Offset = off
		off += int64(len(lines[i].Message)) + 1
	}
	return lines
}

// progressive serves GET /console/api/builds/progressiveText: a build's (or
// a step's) log text from byte offset start (docs/console.md).
func (bl *Handler) progressive(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	group, job, build, node := q.Get("group"), q.Get("job"), q.Get("build"), q.Get("node")
	if group == "" || job == "" || !buildID.MatchString(build) || (node != "" && !buildID.MatchString(node)) {
		bl.cfg.WriteError(w, http.StatusBadRequest, "BadRequest", "group, job and build are required; build and node are letters, digits, '.', '_' or '-'.")
		return
	}
	start := int64(0)
	if s := q.Get("start"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			bl.cfg.WriteError(w, http.StatusBadRequest, "BadRequest", "start must be a byte offset (a non-negative integer).")
			return
		}
		start = n
	}
	cl, ok := bl.cfg.Caller(w, r)
	if !ok {
		return
	}
	lines, more, e := bl.readBuild(r, cl, group, job, build, node)
	if e != nil {
		bl.cfg.WriteError(w, e.status, e.code, e.msg)
		return
	}
	total := int64(0)
	if n := len(lines); n > 0 {
		total = lines[n-1].Offset + int64(len(lines[n-1].Message)) + 1
	}
	// An offset past the end (a client that read more than exists now, or
	// one guessing) is answered from the end: nothing, and the size.
	start = min(start, total)
	first, _ := slices.BinarySearchFunc(lines, start, func(l buildLine, off int64) int { return cmp.Compare(l.Offset, off) })
	h := w.Header()
	h.Set("X-Text-Size", strconv.FormatInt(total, 10))
	if more {
		h.Set("X-More-Data", "true")
	}
	h.Set("Cache-Control", "no-store")
	if q.Get("format") == "json" {
		writeJSON(w, struct {
			Lines    []buildLine `json:"lines"`
			TextSize int64       `json:"textSize"`
			MoreData bool        `json:"moreData"`
		}{nonNil(lines[first:]), total, more})
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	var b strings.Builder
	// A start inside a line (a client's own offset) continues mid-line.
	if first > 0 && lines[first-1].Offset+int64(len(lines[first-1].Message))+1 > start {
		first--
	}
	for i, l := range lines[first:] {
		if i == 0 && l.Offset < start {
			b.WriteString(l.Message[start-l.Offset:])
			b.WriteByte('\n')
			continue
		}
		b.WriteString(l.Message)
		b.WriteByte('\n')
	}
	_, _ = w.Write([]byte(b.String()))
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// buildSummary is one build of a job as the build list shows it.
type buildSummary struct {
	Build  string `json:"build"`
	First  int64  `json:"firstTimestamp"`
	Last   int64  `json:"lastTimestamp"`
	Lines  int    `json:"lines"`
	Result string `json:"result,omitempty"` // from the "Finished: X" line; "" while running
	Nodes  int    `json:"steps"`
}

// maxListEvents bounds the events one build list reads; past it the list
// says it is partial.
const maxListEvents = 500_000

// listBuilds serves GET /console/api/builds/list?group=G&job=J: the job's
// builds, newest first.
func (bl *Handler) listBuilds(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	group, job := q.Get("group"), q.Get("job")
	if group == "" || job == "" {
		bl.cfg.WriteError(w, http.StatusBadRequest, "BadRequest", "group and job are required.")
		return
	}
	cl, ok := bl.cfg.Caller(w, r)
	if !ok {
		return
	}
	in := map[string]any{"logGroupName": group, "logStreamNamePrefix": job + "@"}
	builds := map[string]*buildSummary{}
	nodes := map[string]map[string]bool{}
	read, partial := 0, false
	for {
		var page filterPage
		if e := bl.invokeJSON(r, cl, "FilterLogEvents", in, &page); e != nil {
			bl.cfg.WriteError(w, e.status, e.code, e.msg)
			return
		}
		for _, ev := range page.Events {
			var be buildEvent
			if json.Unmarshal([]byte(ev.Message), &be) != nil || be.Build == "" {
				continue
			}
			b := builds[be.Build]
			if b == nil {
				b = &buildSummary{Build: be.Build, First: ev.Timestamp}
				builds[be.Build] = b
				nodes[be.Build] = map[string]bool{}
			}
			b.First, b.Last = min(b.First, ev.Timestamp), max(b.Last, ev.Timestamp)
			b.Lines++
			if be.Node != "" {
				nodes[be.Build][be.Node] = true
			} else if finishedLine.MatchString(be.Message) {
				b.Result = strings.TrimPrefix(be.Message, "Finished: ")
			}
		}
		read += len(page.Events)
		if page.NextToken == "" {
			break
		}
		if read >= maxListEvents {
			partial = true
			break
		}
		in["nextToken"] = page.NextToken
	}
	out := make([]buildSummary, 0, len(builds))
	for id, b := range builds {
		b.Nodes = len(nodes[id])
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b buildSummary) int {
		an, aerr := strconv.Atoi(a.Build)
		bn, berr := strconv.Atoi(b.Build)
		if aerr == nil && berr == nil {
			return cmp.Compare(bn, an)
		}
		return strings.Compare(b.Build, a.Build)
	})
	writeJSON(w, struct {
		Builds  []buildSummary `json:"builds"`
		Partial bool           `json:"partial"`
	}{out, partial})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
