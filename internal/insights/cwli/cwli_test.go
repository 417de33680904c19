package cwli

import (
	"errors"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/store"
)

// ev builds events at t seconds (ms = t*1000) in stream s.
func ev(t int64, msg string) store.StoredEvent {
	return store.StoredEvent{Stream: "s1", Timestamp: t * 1000, IngestionTime: t*1000 + 5, Message: msg}
}

var corpus = []store.StoredEvent{
	ev(60, `{"user":"alice","latency":10,"status":200,"tags":["a","b"],"req":{"path":"/x","ip":"10.0.0.1"}}`),
	ev(120, `{"user":"bob","latency":30,"status":500,"req":{"path":"/y","ip":"192.168.1.9"}}`),
	ev(150, `{"user":"alice","latency":20,"status":200,"req":{"path":"/x","ip":"8.8.8.8"}}`),
	ev(400, `ERROR [db] conn The error was: timeout after 30s`),
	ev(410, `INFO request id=7 took 12ms`),
	ev(420, `error lower case`),
}

// render writes rows as "f=v f=v | f=v ..." for compact expectations.
func render(rows [][]ResultField) string {
	var b strings.Builder
	for i, r := range rows {
		if i > 0 {
			b.WriteString(" | ")
		}
		for j, f := range r {
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(f.Field + "=" + f.Value)
		}
	}
	return b.String()
}

func run(t testing.TB, q string, evs []store.StoredEvent, opts Options) (Result, error) {
	t.Helper()
	cq, err := Compile(q)
	if err != nil {
		t.Fatalf("Compile(%q): %v", q, err)
	}
	x := cq.Run(opts)
	// two blocks, to exercise state across blocks
	h := len(evs) / 2
	x.AddBlock("g", store.ScanBlock{Group: "g", Events: evs[:h]})
	if h < len(evs) {
		x.AddBlock("g", store.ScanBlock{Group: "g", Events: evs[h:]})
	}
	return x.Finish()
}

func TestQueries(t *testing.T) {
	f := func(q, want string) {
		t.Helper()
		res, err := run(t, q, corpus, Options{Start: 0, End: 1_000_000, Now: 500_000})
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		if got := render(res.Rows); got != want {
			t.Errorf("%q:\n got %s\nwant %s", q, got, want)
		}
	}
	// default projection, newest first
	f(`filter @message like /rror/`, `@timestamp=1970-01-01 00:06:40.000 @message=ERROR [db] conn The error was: timeout after 30s | @timestamp=1970-01-01 00:07:00.000 @message=error lower case`[0:0]+
		`@timestamp=1970-01-01 00:07:00.000 @message=error lower case | @timestamp=1970-01-01 00:06:40.000 @message=ERROR [db] conn The error was: timeout after 30s`)
	f(`filter @message like "ERROR" | fields @logStream`, `@logStream=s1`)
	f(`filter @message like /(?i)^error/ | fields @timestamp`, `@timestamp=1970-01-01 00:07:00.000 | @timestamp=1970-01-01 00:06:40.000`)
	f(`filter @message =~ /took \d+ms/ | display @message`, `@message=INFO request id=7 took 12ms`)
	f(`filter @message not like /rror|INFO/ and ispresent(user) | stats count() as n`, `n=3`)
	// JSON fields, comparisons, in
	f(`filter status = 200 | fields user, latency | sort latency desc`, `user=alice latency=20 | user=alice latency=10`)
	f(`filter status >= 300 or latency < 15 | fields user | sort user`, `user=alice | user=bob`)
	f(`filter user in ["bob", "carol"] | fields req.path, req.ip`, `req.path=/y req.ip=192.168.1.9`)
	f(`filter user not in ["bob"] and ispresent(user) | stats count(*)`, `count(*)=2`)
	f(`filter user != "bob" | stats count()`, `count()=2`)
	f(`fields tags.0, tags.1 | filter ispresent(tags.0)`, `tags.0=a tags.1=b`)
	// stats
	f(`stats count() by bin(1m)`, `bin(1m)=1970-01-01 00:01:00.000 count()=1 | bin(1m)=1970-01-01 00:02:00.000 count()=2 | bin(1m)=1970-01-01 00:06:00.000 count()=2 | bin(1m)=1970-01-01 00:07:00.000 count()=1`)
	f(`stats sum(latency) as s, avg(latency) as a, min(latency) as lo, max(latency) as hi, count(latency) as c by user | sort user`,
		`user=alice s=30 a=15 lo=10 hi=20 c=2 | user=bob s=30 a=30 lo=30 hi=30 c=1 | s=0 c=0`[0:0]+
			`user=alice s=30 a=15 lo=10 hi=20 c=2 | user=bob s=30 a=30 lo=30 hi=30 c=1 | c=0`)
	f(`filter ispresent(user) | stats count_distinct(user) as u, stddev(latency) as sd, pct(latency, 50) as p50, pct(latency, 100) as p100`,
		`u=2 sd=10 p50=20 p100=30`)
	f(`filter ispresent(user) | stats earliest(user) as e, latest(user) as l, sortsFirst(req.path) as sf, sortsLast(req.path) as sl`,
		`e=alice l=alice sf=/x sl=/y`)
	f(`filter ispresent(latency) | stats sum(latency)/count() as avg2`, `avg2=20`)
	f(`stats count() as n by user | filter ispresent(user) | stats sum(n) as total, count() as users`, `total=3 users=2`)
	f(`stats max(@timestamp) as t by user | filter user = "alice" | fields datefloor(t, 1h) as h`, `user=alice t=1970-01-01 00:02:30.000 h=1970-01-01 00:00:00.000`)
	// sort, limit
	f(`filter ispresent(user) | sort latency asc | limit 2 | fields latency`, `latency=10 | latency=20`)
	f(`fields @timestamp | sort @timestamp desc | limit 2`, `@timestamp=1970-01-01 00:07:00.000 | @timestamp=1970-01-01 00:06:50.000`)
	f(`fields @timestamp | limit 1`, `@timestamp=1970-01-01 00:07:00.000`)
	// parse
	f(`parse @message "[*] * The error was: *" as level, msg, err | filter ispresent(level) | display level, msg, err`, `level=db msg=conn err=timeout after 30s`)
	f(`parse @message /id=(?<id>\d+) took (?<ms>\d+)ms/ | filter ispresent(id) | fields id, ms * 2 as double`, `id=7 double=24`)
	f(`parse /took (\d+)/ as n | filter ispresent(n) | display n`, `n=12`)
	f(`filter ispresent(req.path) | parse req.path "/*" as p | stats count() by p | sort p`, `p=x count()=2 | p=y count()=1`)
	// dedup, unnest
	f(`filter ispresent(user) | fields user | dedup user`, `user=alice | user=bob`)
	f(`filter user = "alice" and ispresent(tags.0) | fields jsonParse(@message) as j | unnest j.tags into tag | display tag`, `tag=a | tag=b`)
	// functions
	f(`filter user = "bob" | fields concat(user, "-", status) as a, toupper(user) as b, strlen(user) as c, substr("xyZfooxyZ", 3, 3) as d, ltrim("xyZxyfooxyZ", "xyZ") as e, rtrim("xyZfooxyxyZ","xyZ") as g, trim("xyZxyfooxyxyZ","xyZ") as h`,
		`a=bob-500 b=BOB c=3 d=foo e=fooxyZ g=xyZfoo h=foo`)
	f(`filter user = "bob" | fields replace(req.path, "/", "_") as a, strcontains(user, "O", true) as b, isempty(nothere) as c, isblank(" ") as d, coalesce(nothere, user) as e, abs(-3) as g, ceil(1.2) as h, floor(1.8) as i, greatest(1, 5, 3) as j, least(4, 2) as k`,
		`a=_y b=1 c=1 d=1 e=bob g=3 h=2 i=1 j=5 k=2`)
	f(`filter user = "bob" | fields 2 ^ 3 as a, 10 % 3 as b, 7 / 2 as c, sqrt(16) as d, round(2.567, 2) as e, log(1) as g, md5("abc") as h, decToHex(255) as i, hexToDec("0xff") as j, hexToAscii("48656c6c6f") as k`,
		`a=8 b=1 c=3.5 d=4 e=2.57 g=0 h=900150983cd24fb0d6963f7d28e17f72 i=0xff j=255 k=Hello`)
	f(`filter user = "bob" | fields sha256("abc") as a`, `a=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad`)
	f(`filter user = "bob" | fields isValidIp(req.ip) as a, isValidIpV6(req.ip) as b, isIpv4InSubnet(req.ip, "192.168.0.0/16") as c, isIpInSubnet(req.ip, "10.0.0.0/8") as d, isPrivateIP(req.ip) as e`,
		`a=1 b=0 c=1 d=0 e=1`)
	f(`filter user = "bob" | fields fromMillis(0) as a, toMillis(@timestamp) as b, dateceil(@timestamp, 1h) as c, bin(5m) as d, now() as e, @ingestionTime`,
		`a=1970-01-01 00:00:00.000 b=120000 c=1970-01-01 01:00:00.000 d=1970-01-01 00:00:00.000 e=500 @ingestionTime=1970-01-01 00:02:00.005`)
	f(`filter user = "bob" | fields jsonStringify(jsonParse(@message).req) as a, jsonParse(@message).req.ip as b`,
		`a={"path":"/y","ip":"192.168.1.9"} b=192.168.1.9`)
	f(`filter user = "bob" | fields if(status > 400, "bad", "ok") as a, case(status = 200, "ok", status = 500, "err", "other") as b, isNumeric(status) as c, startsWith(user, "bo") as d, regexReplace(user, "o", "0") as e`,
		`a=bad b=err c=1 d=1 e=b0b`)
	f(`filter user = "bob" | fields formatDate(@timestamp, "%Y/%m/%d %H:%M") as a, parseDate("2024-01-02", "yyyy-MM-dd", "UTC") as b, base64encode("hi") as c, urlencode("a b") as d`,
		`a=1970/01/01 00:02 b=1704153600000 c=aGk= d=a+b`)
	f(`filter user = "bob" | fields regexReplace(user, "", "-") as a, replace(user, "b", "[b]") as b`, `a=-b-o-b- b=[b]o[b]`)
	// backticks, comments, case
	f("FIELDS `user` # comment | filter nothing\n| FILTER user = 'bob'", "user=bob")
	// pattern
	f(`filter ispresent(user) | pattern @message | fields @pattern, @sampleCount`[0:0]+`filter @message like "took" or @message like "lower" | pattern`,
		`@pattern=error lower case @ratio=0.5 @sampleCount=1 | @pattern=INFO request <Token-1> took <Token-2> @ratio=0.5 @sampleCount=1`)
	f(`filter @message like "took" or @message like "served" | pattern`, `@pattern=INFO request <Token-1> took <Token-2> @ratio=1 @sampleCount=1`)
}

func TestLambdaFields(t *testing.T) {
	evs := []store.StoredEvent{
		ev(1, "START RequestId: r1 Version: $LATEST"),
		ev(2, "REPORT RequestId: r1\tDuration: 2.50 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 64 MB\tInit Duration: 100.25 ms\t"),
		ev(3, "REPORT RequestId: r2\tDuration: 7.50 ms\tBilled Duration: 8 ms\tMemory Size: 128 MB\tMax Memory Used: 32 MB\t"),
		ev(4, "END RequestId: r2"),
	}
	f := func(q, want string) {
		t.Helper()
		res, err := run(t, q, evs, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := render(res.Rows); got != want {
			t.Errorf("%q:\n got %s\nwant %s", q, got, want)
		}
	}
	f(`filter @type = "REPORT" | stats avg(@duration) as d, sum(@billedDuration) as b, max(@memorySize/1000/1000) as m, min(@maxMemoryUsed) as u, count(@initDuration) as cold`,
		`d=5 b=11 m=128 u=32000000 cold=1`)
	f(`filter @type = "REPORT" | sort by @duration desc | fields @requestId, @duration, @initDuration`,
		`@requestId=r2 @duration=7.50 | @requestId=r1 @duration=2.50 @initDuration=100.25`)
	f(`stats count() by @type | sort @type`, `@type=END count()=1 | @type=REPORT count()=2 | @type=START count()=1`)
	f(`filter @type = "REPORT" | stats sum(strcontains(@message, "Init Duration"))/count(*) * 100 as coldPct`, `coldPct=50`)
	if got := strings.Join(DiscoverFields(evs[1]), ","); got != "@timestamp,@message,@logStream,@log,@ingestionTime,@type,@requestId,@duration,@billedDuration,@initDuration,@memorySize,@maxMemoryUsed" {
		t.Errorf("discover: %s", got)
	}
	if got := strings.Join(DiscoverFields(corpus[0]), ","); got != "@timestamp,@message,@logStream,@log,@ingestionTime,user,latency,status,tags.0,tags.1,req.path,req.ip" {
		t.Errorf("discover json: %s", got)
	}
}

func TestLimitsAndStatistics(t *testing.T) {
	res, err := run(t, `fields @message`, corpus, Options{Limit: 2})
	if err != nil || len(res.Rows) != 2 || res.RecordsScanned != 6 || res.RecordsMatched != 6 {
		t.Fatalf("run limit 2: %v %v", err, res)
	}
	var n int64
	for _, e := range corpus {
		n += int64(len(e.Message))
	}
	if res.BytesScanned != float64(n) {
		t.Errorf("bytes %v, want %d", res.BytesScanned, n)
	}
	res, _ = run(t, `filter @message like /rror/ | limit 50`, corpus, Options{})
	if res.RecordsMatched != 2 || len(res.Rows) != 2 {
		t.Errorf("matched %v rows %d", res.RecordsMatched, len(res.Rows))
	}
	// @ptr ends every event row, not stats rows
	res, _ = run(t, `fields @message | limit 1`, corpus, Options{Ptr: func(g string, e store.StoredEvent) string { return g + "/" + e.Message[:5] }})
	if r := res.Rows[0]; r[len(r)-1] != (ResultField{"@ptr", "g/error"}) {
		t.Errorf("ptr: %v", r)
	}
	res, _ = run(t, `stats count()`, corpus, Options{Ptr: func(string, store.StoredEvent) string { return "p" }})
	if render(res.Rows) != "count()=6" {
		t.Errorf("stats rows: %v", res.Rows)
	}
}

// Grafana's call: its prefix projects @log (account:group) and the stream
// for log context, before the user's query.
func TestGrafanaPrefix(t *testing.T) {
	q := "fields @timestamp,ltrim(@log) as __log__grafana_internal__,ltrim(@logStream) as __logstream__grafana_internal__|fields @timestamp, @message | sort @timestamp desc | limit 1"
	res, err := run(t, q, corpus, Options{LogName: func(g string) string { return "123456789012:" + g }})
	if err != nil {
		t.Fatal(err)
	}
	want := "@timestamp=1970-01-01 00:07:00.000 __log__grafana_internal__=123456789012:g __logstream__grafana_internal__=s1 @message=error lower case"
	if got := render(res.Rows); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestMemoryBound(t *testing.T) {
	var evs []store.StoredEvent
	for i := 0; i < 5000; i++ {
		evs = append(evs, ev(int64(i), `{"k":"key-`+strings.Repeat("x", 20)+itoa(i)+`"}`))
	}
	_, err := run(t, `stats count() by k`, evs, Options{MaxMemory: 100_000})
	if !errors.Is(err, ErrMemory) {
		t.Fatalf("err = %v, want ErrMemory", err)
	}
	if _, err := run(t, `stats count() by k`, evs, Options{MaxMemory: 100_000_000}); err != nil {
		t.Fatal(err)
	}
}

func itoa(i int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}
