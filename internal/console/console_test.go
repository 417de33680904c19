package console_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// The server's clock in these tests (harness.Clock) starts at real time
// and is moved only by the test (sessions expire by it; the build log's
// hold-back uses it).

// browser is a console client: a cookie jar and the CSRF token, as the page
// holds them.
type browser struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func newBrowser(t *testing.T, s *harness.Server) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: s.URL(), hc: &http.Client{Transport: s.HTTPClient().Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (b *browser) do(method, path string, body any, header ...string) reply {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, b.base+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return reply{res.StatusCode, res.Header, raw}
}

func (b *browser) signIn(key, secret string) reply {
	b.t.Helper()
	r := b.do("POST", "/console/api/signin", map[string]string{"accessKeyId": key, "secretAccessKey": secret})
	if r.status == 200 {
		var info struct {
			CSRF string `json:"csrfToken"`
		}
		r.json(b.t, &info)
		b.csrf = info.CSRF
	}
	return r
}

func (b *browser) call(op string, body any) reply {
	b.t.Helper()
	return b.do("POST", "/console/api/call/"+op, body, "X-CSRF-Token", b.csrf)
}

func errType(t *testing.T, r reply) string {
	t.Helper()
	var e struct {
		Type string `json:"__type"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Type
}

func TestSignInSessionAndCSRF(t *testing.T) {
	clk := harness.NewClock(time.Now())
	s := harness.Start(t, harness.WithClock(clk.Now))
	b := newBrowser(t, s)

	// / and /console redirect to the console; the page is embedded.
	if r := b.do("GET", "/", nil); r.status != http.StatusFound || r.header.Get("Location") != "/console/" {
		t.Fatalf("GET / = %d %q", r.status, r.header.Get("Location"))
	}
	page := b.do("GET", "/console/", nil)
	if page.status != 200 || !bytes.Contains(page.body, []byte(`src="/console/static/app.js"`)) {
		t.Fatalf("GET /console/ = %d %s", page.status, page.body)
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("CSP = %q", csp)
	}
	if r := b.do("GET", "/console/static/app.js", nil); r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("app.js = %d %q", r.status, r.header.Get("Content-Type"))
	}

	if r := b.do("GET", "/console/static/pages/", nil); r.status != 404 {
		t.Fatalf("directory listing = %d", r.status)
	}
	// Not signed in: the API refuses.
	if r := b.call("DescribeLogGroups", map[string]any{}); r.status != 401 {
		t.Fatalf("call before sign-in = %d %s", r.status, r.body)
	}
	// A wrong secret, and an unknown key, are refused alike, with no cookie.
	for _, bad := range [][2]string{{s.Creds.AccessKeyID, s.Creds.SecretAccessKey + "x"}, {s.Creds.AccessKeyID, ""}, {"AKIANOSUCHKEY0000000", s.Creds.SecretAccessKey}} {
		r := b.signIn(bad[0], bad[1])
		if r.status != 401 || errType(t, r) != "SignInFailed" || r.header.Get("Set-Cookie") != "" {
			t.Fatalf("sign-in with %q = %d %s (cookie %q)", bad[0], r.status, r.body, r.header.Get("Set-Cookie"))
		}
	}
	// Sign-in from another origin is refused (login CSRF).
	if r := b.do("POST", "/console/api/signin", map[string]string{"accessKeyId": s.Creds.AccessKeyID, "secretAccessKey": s.Creds.SecretAccessKey},
		"Origin", "http://evil.example"); r.status != 403 {
		t.Fatalf("cross-origin sign-in = %d", r.status)
	}

	r := b.signIn(s.Creds.AccessKeyID, s.Creds.SecretAccessKey)
	if r.status != 200 {
		t.Fatalf("sign-in = %d %s", r.status, r.body)
	}
	cookie := r.header.Get("Set-Cookie")
	for _, want := range []string{"cairn_console=", "Path=/console/", "HttpOnly", "SameSite=Strict", "Max-Age=28800"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("cookie %q lacks %q", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("cookie %q is Secure over plain HTTP", cookie)
	}
	if strings.Contains(string(r.body), s.Creds.SecretAccessKey) {
		t.Fatal("the sign-in answer contains the secret")
	}
	var info struct {
		ARN string `json:"arn"`
	}
	r.json(t, &info)
	if info.ARN != "arn:aws:iam::000000000000:root" {
		t.Fatalf("arn = %q", info.ARN)
	}

	// A state-changing call needs the CSRF token: none, a wrong one, and a
	// right one from another origin are refused; nothing is created.
	create := map[string]string{"logGroupName": "console-made"}
	if r := b.do("POST", "/console/api/call/CreateLogGroup", create); r.status != 403 {
		t.Fatalf("no token = %d %s", r.status, r.body)
	}
	if r := b.do("POST", "/console/api/call/CreateLogGroup", create, "X-CSRF-Token", b.csrf+"x"); r.status != 403 {
		t.Fatalf("wrong token = %d", r.status)
	}
	if r := b.do("POST", "/console/api/call/CreateLogGroup", create, "X-CSRF-Token", b.csrf, "Origin", "http://evil.example"); r.status != 403 {
		t.Fatalf("other origin = %d", r.status)
	}
	ctx := context.Background()
	out, err := s.Client().DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	if err != nil || len(out.LogGroups) != 0 {
		t.Fatalf("groups after refused calls: %v %v", out, err)
	}
	// With the token the call is the real API: created, and an AWS error
	// comes back as AWS sends it.
	if r := b.call("CreateLogGroup", create); r.status != 200 {
		t.Fatalf("create = %d %s", r.status, r.body)
	}
	if r := b.call("CreateLogGroup", create); r.status != 400 || errType(t, r) != "ResourceAlreadyExistsException" {
		t.Fatalf("create again = %d %s", r.status, r.body)
	}
	if r := b.call("CreateLogGroup", map[string]string{"logGroupName": "bad name!"}); r.status != 400 || errType(t, r) != "InvalidParameterException" {
		t.Fatalf("invalid name = %d %s", r.status, r.body)
	}
	if r := b.call("NoSuchOperation", map[string]string{}); r.status != 400 || errType(t, r) != "UnknownOperationException" {
		t.Fatalf("unknown op = %d %s", r.status, r.body)
	}
	out, err = s.Client().DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	if err != nil || len(out.LogGroups) != 1 || *out.LogGroups[0].LogGroupName != "console-made" {
		t.Fatalf("groups = %v %v", out, err)
	}

	// Sign-out ends the session on the server: the old cookie is refused
	// even when sent again by hand.
	old := b.hc.Jar.Cookies(mustURL(t, s.URL()+"/console/"))
	if r := b.do("POST", "/console/api/signout", nil); r.status != 403 {
		t.Fatalf("sign-out without token = %d", r.status)
	}
	if r := b.do("POST", "/console/api/signout", nil, "X-CSRF-Token", b.csrf); r.status != 200 {
		t.Fatalf("sign-out = %d %s", r.status, r.body)
	}
	b.hc.Jar.SetCookies(mustURL(t, s.URL()+"/console/"), old)
	if r := b.do("GET", "/console/api/session", nil); r.status != 401 {
		t.Fatalf("session after sign-out = %d", r.status)
	}

	// Sessions expire: 8 h after sign-in the cookie is refused.
	b2 := newBrowser(t, s)
	if r := b2.signIn(s.Creds.AccessKeyID, s.Creds.SecretAccessKey); r.status != 200 {
		t.Fatal(r.status)
	}
	clk.Add(8*time.Hour - time.Second)
	if r := b2.do("GET", "/console/api/session", nil); r.status != 200 {
		t.Fatalf("session before expiry = %d", r.status)
	}
	clk.Add(time.Second)
	if r := b2.call("DescribeLogGroups", map[string]any{}); r.status != 401 {
		t.Fatalf("call after expiry = %d", r.status)
	}
}

// teamA may list every group but do anything only in app-a.
var teamA = harness.User{Name: "team-a", Key: aws.Credentials{AccessKeyID: "AKIATEAMATEST0000001", SecretAccessKey: "team-a-secret-0123456789"},
	PolicyName: "app-a-only", Statements: []harness.Statement{harness.Allow([]string{"logs:DescribeLogGroups"}, "*"),
		harness.Allow([]string{"logs:*"}, "arn:aws:logs:*:*:log-group:app-a", "arn:aws:logs:*:*:log-group:app-a:*")}}

func TestRestrictedUser(t *testing.T) {
	s := harness.Start(t, harness.WithUsers("123456789012", harness.Admin(), teamA))
	admin := s.ClientAs(harness.Admin().Creds(), "us-east-1")
	ctx := context.Background()
	now := time.Now().UnixMilli()
	for _, g := range []string{"app-a", "app-b"} {
		mustDo(t, func() error {
			_, err := admin.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: &g})
			return err
		})
		mustDo(t, func() error {
			_, err := admin.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: &g, LogStreamName: aws.String("s")})
			return err
		})
		mustDo(t, func() error {
			_, err := admin.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: &g, LogStreamName: aws.String("s"),
				LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(now), Message: aws.String("hello from " + g)}}})
			return err
		})
	}
	b := newBrowser(t, s)
	if r := b.signIn("AKIATEAMATEST0000001", "team-a-secret-0123456789"); r.status != 200 {
		t.Fatalf("sign-in = %d %s", r.status, r.body)
	}
	r := b.call("FilterLogEvents", map[string]any{"logGroupName": "app-a"})
	var page struct {
		Events []struct{ Message string } `json:"events"`
	}
	r.json(t, &page)
	if r.status != 200 || len(page.Events) != 1 || page.Events[0].Message != "hello from app-a" {
		t.Fatalf("app-a = %d %s", r.status, r.body)
	}
	r = b.call("FilterLogEvents", map[string]any{"logGroupName": "app-b"})
	if r.status != 400 || errType(t, r) != "AccessDeniedException" ||
		!strings.Contains(string(r.body), "arn:aws:iam::123456789012:user/team-a is not authorized to perform: logs:FilterLogEvents") {
		t.Fatalf("app-b = %d %s", r.status, r.body)
	}
	if r := b.call("DeleteLogGroup", map[string]any{"logGroupName": "app-b"}); errType(t, r) != "AccessDeniedException" {
		t.Fatalf("delete app-b = %d %s", r.status, r.body)
	}
	r = b.do("POST", "/console/api/readable", map[string]any{"logGroupNames": []string{"app-a", "app-b"}}, "X-CSRF-Token", b.csrf)
	var rd struct {
		Readable map[string]bool `json:"readable"`
	}
	r.json(t, &rd)
	if !rd.Readable["app-a"] || rd.Readable["app-b"] || len(rd.Readable) != 2 {
		t.Fatalf("readable = %s", r.body)
	}
}

// jenkinsEvent is an event as the Jenkins plugin writes it.
func jenkinsEvent(ts int64, msg, build, node string) types.InputLogEvent {
	m := map[string]any{"message": msg, "build": build}
	if node != "" {
		m["node"] = node
	}
	raw, _ := json.Marshal(m)
	return types.InputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(string(raw))}
}

func TestProgressiveText(t *testing.T) {
	clk := harness.NewClock(time.Now())
	s := harness.Start(t, harness.WithClock(clk.Now))
	c := s.Client()
	ctx := context.Background()
	g := "jenkins"
	mustDo(t, func() error { _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: &g}); return err })
	for _, st := range []string{"folder/job@master", "folder/job@agent1", "other@master"} {
		mustDo(t, func() error {
			_, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: &g, LogStreamName: aws.String(st)})
			return err
		})
	}
	put := func(stream string, evs ...types.InputLogEvent) {
		t.Helper()
		mustDo(t, func() error {
			_, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: &g, LogStreamName: &stream, LogEvents: evs})
			return err
		})
	}
	t0 := clk.Now().UnixMilli()
	put("folder/job@master", jenkinsEvent(t0, "Started by user admin", "42", ""), jenkinsEvent(t0+1, "[Pipeline] node", "42", "3"),
		jenkinsEvent(t0+2, "another build", "41", ""))
	put("other@master", jenkinsEvent(t0, "other job", "42", ""))

	b := newBrowser(t, s)
	if r := b.signIn(s.Creds.AccessKeyID, s.Creds.SecretAccessKey); r.status != 200 {
		t.Fatal(r.status)
	}
	read := func(start int64, node string) reply {
		t.Helper()
		q := fmt.Sprintf("/console/api/builds/progressiveText?group=%s&job=%s&build=42&start=%d", g, "folder%2Fjob", start)
		if node != "" {
			q += "&node=" + node
		}
		r := b.do("GET", q, nil)
		if r.status != 200 {
			t.Fatalf("%s = %d %s", q, r.status, r.body)
		}
		return r
	}
	size := func(r reply) int64 {
		n, err := strconv.ParseInt(r.header.Get("X-Text-Size"), 10, 64)
		if err != nil {
			t.Fatalf("X-Text-Size %q", r.header.Get("X-Text-Size"))
		}
		return n
	}
	// Just ingested: held back (a batch ingested earlier may still be
	// committing), so nothing yet, and more to come.
	r := read(0, "")
	if string(r.body) != "" || size(r) != 0 || r.header.Get("X-More-Data") != "true" {
		t.Fatalf("fresh = %q size %d more %q", r.body, size(r), r.header.Get("X-More-Data"))
	}
	clk.Add(3 * time.Second)
	r = read(0, "")
	want := "Started by user admin\n[Pipeline] node\n"
	if string(r.body) != want || size(r) != int64(len(want)) || r.header.Get("X-More-Data") != "true" {
		t.Fatalf("first read = %q size %d more %q", r.body, size(r), r.header.Get("X-More-Data"))
	}
	first := size(r)
	// The build goes on, on an agent too; a read from the last offset gets
	// only the new lines, and the old offsets still hold.
	t1 := clk.Now().UnixMilli()
	put("folder/job@agent1", jenkinsEvent(t1, "+ make test", "42", "7"), jenkinsEvent(t1+1, "password=****", "42", "7"))
	put("folder/job@master", jenkinsEvent(t1+2, "Finished: SUCCESS", "42", ""))
	clk.Add(3 * time.Second)
	r = read(first, "")
	if want := "+ make test\npassword=****\nFinished: SUCCESS\n"; string(r.body) != want || r.header.Get("X-More-Data") != "" {
		t.Fatalf("second read = %q more %q", r.body, r.header.Get("X-More-Data"))
	}
	total := size(r)
	if total != first+int64(len("+ make test\npassword=****\nFinished: SUCCESS\n")) {
		t.Fatalf("size %d", total)
	}
	if r := read(0, ""); string(r.body) != want+"+ make test\npassword=****\nFinished: SUCCESS\n" {
		t.Fatalf("whole = %q", r.body)
	}
	// Inside a line: the rest of that line; past the end: nothing.
	if r := read(3, ""); !strings.HasPrefix(string(r.body), "rted by user admin\n") {
		t.Fatalf("from 3 = %q", r.body)
	}
	if r := read(total+100, ""); string(r.body) != "" || size(r) != total {
		t.Fatalf("past end = %q %d", r.body, size(r))
	}
	// One step's log; complete because the build is.
	r = read(0, "7")
	if string(r.body) != "+ make test\npassword=****\n" || r.header.Get("X-More-Data") != "" {
		t.Fatalf("step 7 = %q more %q", r.body, r.header.Get("X-More-Data"))
	}
	// The JSON form carries the offsets and the steps.
	jr := b.do("GET", "/console/api/builds/progressiveText?group=jenkins&job=folder%2Fjob&build=42&format=json&start="+strconv.FormatInt(first, 10), nil)
	var body struct {
		Lines []struct {
			Offset  int64  `json:"offset"`
			Node    string `json:"node"`
			Message string `json:"message"`
		} `json:"lines"`
		TextSize int64 `json:"textSize"`
		MoreData bool  `json:"moreData"`
	}
	jr.json(t, &body)
	if len(body.Lines) != 3 || body.Lines[0].Offset != first || body.Lines[0].Node != "7" || body.TextSize != total || body.MoreData {
		t.Fatalf("json = %s", jr.body)
	}
	// The build list.
	lr := b.do("GET", "/console/api/builds/list?group=jenkins&job=folder%2Fjob", nil)
	var list struct {
		Builds []struct {
			Build  string `json:"build"`
			Lines  int    `json:"lines"`
			Result string `json:"result"`
			Steps  int    `json:"steps"`
		} `json:"builds"`
	}
	lr.json(t, &list)
	if len(list.Builds) != 2 || list.Builds[0].Build != "42" || list.Builds[0].Lines != 5 || list.Builds[0].Result != "SUCCESS" ||
		list.Builds[0].Steps != 2 || list.Builds[1].Build != "41" || list.Builds[1].Result != "" {
		t.Fatalf("list = %s", lr.body)
	}

	// A writer that names a step's parent: the JSON form carries it (the
	// page nests the step by it), and a line without one has none.
	t2 := clk.Now().UnixMilli()
	put("folder/job@master", types.InputLogEvent{Timestamp: aws.Int64(t2), Message: aws.String(`{"message":"inner step","build":"43","node":"8","parent":"7"}`)},
		jenkinsEvent(t2+1, "outer step", "43", "7"))
	clk.Add(3 * time.Second)
	pr := b.do("GET", "/console/api/builds/progressiveText?group=jenkins&job=folder%2Fjob&build=43&format=json", nil)
	var withParent struct {
		Lines []map[string]any `json:"lines"`
	}
	pr.json(t, &withParent)
	if len(withParent.Lines) != 2 || withParent.Lines[0]["parent"] != "7" || withParent.Lines[0]["node"] != "8" || withParent.Lines[1]["parent"] != nil {
		t.Fatalf("build 43 = %s", pr.body)
	}

	// Other CI systems: HTTP Basic with an access key; a wrong secret and no
	// credentials are refused.
	anon := newBrowser(t, s)
	q := "/console/api/builds/progressiveText?group=jenkins&job=folder%2Fjob&build=42"
	if r := anon.do("GET", q, nil); r.status != 401 {
		t.Fatalf("anonymous = %d", r.status)
	}
	req, _ := http.NewRequest("GET", s.URL()+q, nil)
	req.SetBasicAuth(s.Creds.AccessKeyID, "wrong")
	if res, err := anon.hc.Do(req); err != nil || res.StatusCode != 401 {
		t.Fatalf("basic wrong = %v %v", res, err)
	} else {
		res.Body.Close()
	}
	req.SetBasicAuth(s.Creds.AccessKeyID, s.Creds.SecretAccessKey)
	res, err := anon.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(raw) != want+"+ make test\npassword=****\nFinished: SUCCESS\n" {
		t.Fatalf("basic = %d %q", res.StatusCode, raw)
	}
	// Bad parameters.
	for _, bad := range []string{"?group=jenkins&job=j&build=4%222", "?group=jenkins&job=j&build=42&start=-1", "?group=jenkins&build=1"} {
		if r := b.do("GET", "/console/api/builds/progressiveText"+bad, nil); r.status != 400 {
			t.Fatalf("%s = %d", bad, r.status)
		}
	}
}

func TestLiveTailRelay(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	ctx := context.Background()
	mustDo(t, func() error {
		_, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("tailed")})
		return err
	})
	mustDo(t, func() error {
		_, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("tailed"), LogStreamName: aws.String("s")})
		return err
	})
	b := newBrowser(t, s)
	if r := b.signIn(s.Creds.AccessKeyID, s.Creds.SecretAccessKey); r.status != 200 {
		t.Fatal(r.status)
	}
	body, _ := json.Marshal(map[string]any{"logGroupIdentifiers": []string{"arn:aws:logs:us-east-1:000000000000:log-group:tailed"}, "logEventFilterPattern": "hello"})
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, "POST", s.URL()+"/console/api/call/StartLiveTail", bytes.NewReader(body))
	req.Header.Set("X-CSRF-Token", b.csrf)
	res, err := b.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("StartLiveTail = %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(res.Body)
	lines.Buffer(nil, 1<<20)
	next := func() map[string]json.RawMessage {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("stream ended: %v", lines.Err())
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", lines.Text(), err)
		}
		return m
	}
	if m := next(); string(m["event"]) != `"initial-response"` {
		t.Fatalf("first frame %v", m)
	}
	if m := next(); string(m["event"]) != `"sessionStart"` {
		t.Fatalf("second frame %v", m)
	}
	mustDo(t, func() error {
		_, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("tailed"), LogStreamName: aws.String("s"),
			LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String("ignored")},
				{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String("hello console")}}})
		return err
	})
	for {
		m := next()
		if string(m["event"]) != `"sessionUpdate"` {
			t.Fatalf("frame %v", m)
		}
		var u struct {
			Results []struct {
				Message string `json:"message"`
				Stream  string `json:"logStreamName"`
			} `json:"sessionResults"`
		}
		_ = json.Unmarshal(m["data"], &u)
		if len(u.Results) == 0 {
			continue // a heartbeat
		}
		if len(u.Results) != 1 || u.Results[0].Message != "hello console" || u.Results[0].Stream != "s" {
			t.Fatalf("update %s", m["data"])
		}
		break
	}
}

func mustDo(t *testing.T, fn func() error) {
	t.Helper()
	if err := fn(); err != nil {
		t.Fatal(err)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
