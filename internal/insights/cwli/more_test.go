package cwli

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/store"
)

// AWS's worked example of the sort order, ascending (insights.md §2.3).
func TestNaturalSortAWSExample(t *testing.T) {
	want := []string{"!:", "#", "*%04", "0#", "5A", "111A", "2345_", "@", "@_", "A", "A9876fghj", "a12345hfh", "0", "01", "1", "2", "3"}
	got := append([]string(nil), want...)
	// reverse then sort, so the test does not pass by leaving the input alone
	for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
		got[i], got[j] = got[j], got[i]
	}
	sort.SliceStable(got, func(i, j int) bool { return naturalCompare(str(got[i]), str(got[j])) < 0 })
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// and through the sort command, desc is the exact reverse
	var evs []store.StoredEvent
	for i, v := range want {
		evs = append(evs, ev(int64(i), `{"v":"`+strings.ReplaceAll(v, `"`, `\"`)+`"}`))
	}
	res, err := run(t, `fields v | sort v desc`, evs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res.Rows {
		if r[0].Value != want[len(want)-1-i] {
			t.Fatalf("row %d = %s, want %s", i, r[0].Value, want[len(want)-1-i])
		}
	}
}

func TestBinUnits(t *testing.T) {
	ms := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMilli()
	}
	f := func(d, at, floor, ceil string) {
		t.Helper()
		du, ok := parseDuration(d)
		if !ok {
			t.Fatalf("parseDuration(%q) failed", d)
		}
		if got := formatTime(du.floor(ms(at))); got != floor {
			t.Errorf("floor %s %s = %s, want %s", d, at, got, floor)
		}
		if got := formatTime(du.ceil(ms(at))); got != ceil {
			t.Errorf("ceil %s %s = %s, want %s", d, at, got, ceil)
		}
	}
	f("5m", "2024-05-19T06:12:35.743Z", "2024-05-19 06:10:00.000", "2024-05-19 06:15:00.000")
	f("300s", "2024-05-19T06:12:35.743Z", "2024-05-19 06:12:00.000", "2024-05-19 06:13:00.000") // capped to 60s
	f("1h", "2024-05-19T06:00:00Z", "2024-05-19 06:00:00.000", "2024-05-19 06:00:00.000")
	f("1d", "2024-05-19T06:12:35Z", "2024-05-19 00:00:00.000", "2024-05-20 00:00:00.000")
	f("1w", "2024-05-19T06:12:35Z", "2024-05-13 00:00:00.000", "2024-05-20 00:00:00.000") // 2024-05-13 was a Monday
	f("1mo", "2024-05-19T06:12:35Z", "2024-05-01 00:00:00.000", "2024-06-01 00:00:00.000")
	f("1q", "2024-05-19T06:12:35Z", "2024-04-01 00:00:00.000", "2024-07-01 00:00:00.000")
	f("1y", "2024-05-19T06:12:35Z", "2024-01-01 00:00:00.000", "2025-01-01 00:00:00.000")
	f("100ms", "2024-05-19T06:12:35.743Z", "2024-05-19 06:12:35.700", "2024-05-19 06:12:35.800")
	f("30days", "1970-01-31T00:00:01Z", "1970-01-31 00:00:00.000", "1970-03-02 00:00:00.000")
}

func TestUnitCaps(t *testing.T) {
	for in, want := range map[string]duration{"300s": {60, uS}, "90m": {60, uM}, "48h": {24, uH}, "5000ms": {1000, uMs}, "400d": {400, uD}, "2hrs": {2, uH}} {
		if got, ok := parseDuration(in); !ok || got != want {
			t.Errorf("parseDuration(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestCountDistinctApproximate(t *testing.T) {
	var evs []store.StoredEvent
	const n = 50000
	for i := 0; i < n; i++ {
		evs = append(evs, ev(int64(i), `{"u":"user-`+strconv.Itoa(i%20000)+`"}`))
	}
	res, err := run(t, `stats count_distinct(u) as d`, evs, Options{MaxMemory: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := strconv.ParseFloat(res.Rows[0][0].Value, 64)
	if math.Abs(d-20000)/20000 > 0.05 {
		t.Errorf("count_distinct = %v, want 20000 ± 5%%", d)
	}
	// exact for small sets
	res, _ = run(t, `stats count_distinct(u) as d`, evs[:500], Options{})
	if res.Rows[0][0].Value != "500" {
		t.Errorf("small count_distinct = %v", res.Rows[0][0].Value)
	}
}

func TestSnapshotAndEarlyStop(t *testing.T) {
	q, _ := Compile(`stats count() as n`)
	x := q.Run(Options{})
	x.AddBlock("g", store.ScanBlock{Events: corpus[:2]})
	if s := render(x.Snapshot().Rows); s != "n=2" {
		t.Errorf("snapshot %s", s)
	}
	for i := 0; i < 5; i++ {
		x.Snapshot()
	}
	x.AddBlock("g", store.ScanBlock{Events: corpus[2:]})
	if r, _ := x.Finish(); render(r.Rows) != "n=6" {
		t.Errorf("finish %v", r.Rows)
	}
	// two stats: no partial rows
	q, _ = Compile(`stats count() as n by user | stats count() as groups`)
	x = q.Run(Options{})
	x.AddBlock("g", store.ScanBlock{Events: corpus})
	if s := x.Snapshot(); len(s.Rows) != 0 || s.RecordsScanned != 6 {
		t.Errorf("two-stats snapshot %+v", s)
	}
	if r, _ := x.Finish(); render(r.Rows) != "groups=3" {
		t.Errorf("two stats %v", r.Rows)
	}
	// limit any stops the input
	q, _ = Compile(`fields @message | limit any 2`)
	x = q.Run(Options{})
	if more := x.AddBlock("g", store.ScanBlock{Events: corpus[:1]}); !more {
		t.Error("stopped after 1 of 2")
	}
	if more := x.AddBlock("g", store.ScanBlock{Events: corpus[1:]}); more {
		t.Error("did not stop after 2")
	}
	if r, _ := x.Finish(); len(r.Rows) != 2 {
		t.Errorf("limit any rows %d", len(r.Rows))
	}
}

func TestUnnestAndLookup(t *testing.T) {
	evs := []store.StoredEvent{ev(1, `{"user":"bob","items":"[1,2,3]"}`), ev(2, `{"user":"eve","items":"7"}`)}
	f := func(q, want string, opts Options) {
		t.Helper()
		res, err := run(t, q, evs, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := render(res.Rows); got != want {
			t.Errorf("%q:\n got %s\nwant %s", q, got, want)
		}
	}
	f(`unnest jsonParse(items) into i | stats sum(i) as s, count() as c`, `s=6 c=3`, Options{})
	// a non-list behaves as a one-element list
	f(`unnest split(items, ",") into i | sort @timestamp asc | display user, i`, `user=bob i=[1 | user=bob i=2 | user=bob i=3] | user=eve i=7`, Options{})
	lk := Options{Lookup: func(name string) (*LookupTable, error) {
		if name != "teams" {
			t.Fatalf("table %s", name)
		}
		return &LookupTable{Columns: []string{"name", "team", "mail"}, Rows: [][]string{{"bob", "red", "b@x"}, {"al", "blue", "a@x"}}}, nil
	}}
	f(`lookup teams name as user OUTPUT team, mail as email | sort @timestamp asc | display user, team, email`, `user=bob team=red email=b@x | user=eve`, lk)
	f(`lookup teams name as user OUTPUT team | stats count() by team | sort team`, `team=red count()=1 | count()=1`, lk)
	f(`lookup teams name as user, team as colour OUTPUT mail | display user, mail`, `user=eve | user=bob`, lk)
	evs = append(evs, ev(3, `{"user":"bob","colour":"red"}`))
	f(`lookup teams name as user, team as colour OUTPUT mail | filter ispresent(mail) | display user, mail`, `user=bob mail=b@x`, lk)
	if _, err := run(t, `lookup nosuch user OUTPUT x`, evs, Options{}); err == nil {
		t.Error("lookup without tables succeeded")
	}
}

func TestCollectMemoryBound(t *testing.T) {
	var evs []store.StoredEvent
	for i := 0; i < 2000; i++ {
		evs = append(evs, ev(int64(i), strings.Repeat("x", 200)+strconv.Itoa(i)))
	}
	if _, err := run(t, `fields @message | dedup @message`, evs, Options{MaxMemory: 50_000}); err != ErrMemory {
		t.Errorf("dedup err = %v, want ErrMemory", err)
	}
	if _, err := run(t, `pattern @message`, evs, Options{MaxMemory: 50_000}); err != ErrMemory {
		t.Errorf("pattern err = %v, want ErrMemory", err)
	}
	// a top-K keeps only K rows however many events arrive
	if _, err := run(t, `fields @message | sort @message desc | limit 5`, evs, Options{MaxMemory: 50_000}); err != nil {
		t.Errorf("top-5: %v", err)
	}
}

func TestPatternClusters(t *testing.T) {
	evs := []store.StoredEvent{ev(1, "user alice logged in"), ev(2, "disk full on sda"), ev(3, "user bob logged in"), ev(4, "user carol logged in")}
	res, err := run(t, `pattern @message | sort @sampleCount desc`, evs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := `@pattern=user <Token-1> logged in @ratio=0.75 @sampleCount=3 | @pattern=disk full on sda @ratio=0.25 @sampleCount=1`
	if got := render(res.Rows); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestMoreFunctions(t *testing.T) {
	evs := []store.StoredEvent{ev(7200, `{"ip":"2001:db8::1","v4":"203.0.113.9","pub":"8.8.8.8","n":"42.9","arr":"[\"a\",2,true]","s":"  pad  ","enc":"a%20b%2Bc","b64":"aGVsbG8="}`)}
	f := func(q, want string) {
		t.Helper()
		res, err := run(t, q, evs, Options{Start: 3_600_000, End: 10_800_000})
		if err != nil {
			t.Fatal(err)
		}
		if got := render(res.Rows); got != want {
			t.Errorf("%q:\n got %s\nwant %s", q, got, want)
		}
	}
	f(`fields round(haversine(0, 0, 0, 1), 3) as a, toInt(n) as b, toLong("-7.9") as c, toDouble(n) as d, toNumber("x") as e, toInt("3000000000") as g`,
		`a=111.195 b=42 c=-7 d=42.9`)
	f(`fields urldecode(enc) as a, base64decode(b64) as b, jsonArraySize(arr) as c, jsonArrayContains(arr, "a") as d, jsonArrayContains(arr, "z") as e, jsonArrayContains(s, "a") as g`,
		`a=a b+c b=hello c=3 d=1 e=0 g=0`)
	f(`fields queryStartTime() as a, queryEndTime() as b, queryTimeRange() as c, messageSize(s) as d, substr(s, 2) as e, trim(s) as g, tolower("AbC") as h, endsWith(v4, ".9") as i, strcontains(v4, "113") as j`,
		`a=3600000 b=10800000 c=7200000 d=7 e=pad   g=pad h=abc i=1 j=1`)
	f(`fields isValidIpV4(v4) as a, isValidIpV6(ip) as b, isIpv6InSubnet(ip, "2001:db8::/32") as c, isIpInSubnet(v4, "2001:db8::/32") as d, ipv4ToNumber(v4) as e, isPublicIP(pub) as g, isPublicIP(v4) as h, isReservedIP(v4) as i, isValidIp("300.1.1.1") as j`,
		`a=1 b=1 c=1 d=0 e=3405803785 g=1 h=0 i=1 j=0`)
	f(`fields greatest(n, nothere, 3) as a, least(nothere) as b, isblank(s) as c, isempty(s) as d, dateceil(@timestamp, 1h) as e, datefloor(@timestamp, 1d) as g, coalesce(nothere, nope) as h`,
		`a=42.9 c=0 d=0 e=1970-01-01 02:00:00.000 g=1970-01-01 00:00:00.000`)
	f(`fields parseDate("14/Nov/2023:22:13:20 +0000", "dd/MMM/yyyy:HH:mm:ss Z") as a, formatDate(fromMillis(1700000000000), "%Y-%m-%dT%H:%M:%S", "Asia/Tokyo") as b, toMillis("2022-01-14T13:18:31.000-08:00") as c`,
		`a=1700000000000 b=2023-11-15T07:13:20 c=1642195111000`)
	f(`fields concat(n, nothere) as a, abs(s) as b, strlen("héllo") as c, replace("aaa", "a", "bb") as d, split("a,b", ",") as e, jsonStringify(jsonParse(arr)) as g`,
		`c=5 d=bbbbbb e=["a","b"] g=["a",2,true]`)
}

func TestCutoff(t *testing.T) {
	q, _ := Compile(`fields @timestamp | sort @timestamp desc | limit 2`)
	x := q.Run(Options{})
	if _, ok := x.Cutoff(); ok {
		t.Error("cutoff before any event")
	}
	x.AddBlock("g", store.ScanBlock{Events: corpus[:3]}) // 60, 120, 150 s
	if ts, ok := x.Cutoff(); !ok || ts != 120_000 {
		t.Errorf("cutoff = %d %v, want 120000", ts, ok)
	}
	q, _ = Compile(`stats count()`)
	if _, ok := q.Run(Options{}).Cutoff(); ok {
		t.Error("stats has no cutoff")
	}
}

// One compiled query run by several Execs at once, each snapshotted while
// it is fed: the race detector checks the sharing.
func TestConcurrentRuns(t *testing.T) {
	q, err := Compile(`filter ispresent(user) | stats count() as n, avg(latency) as a by user | sort user`)
	if err != nil {
		t.Fatal(err)
	}
	const runs = 4
	results := make([]string, runs)
	done := make(chan struct{})
	for i := 0; i < runs; i++ {
		go func(i int) {
			defer func() { done <- struct{}{} }()
			x := q.Run(Options{})
			snaps := make(chan struct{})
			go func() {
				defer close(snaps)
				for k := 0; k < 50; k++ {
					x.Snapshot()
				}
			}()
			for k := 0; k < 50; k++ {
				x.AddBlock("g", store.ScanBlock{Events: corpus})
			}
			<-snaps
			r, _ := x.Finish()
			results[i] = render(r.Rows)
		}(i)
	}
	for i := 0; i < runs; i++ {
		<-done
	}
	for i, r := range results {
		if r != "user=alice n=100 a=15 | user=bob n=50 a=30" {
			t.Errorf("run %d: %s", i, r)
		}
	}
}

func TestParseLogfmtCSV(t *testing.T) {
	evs := []store.StoredEvent{ev(1, `level=warn msg="disk \"almost\" full" pct=91 flag`), ev(2, `a,"b,c",,"d""e"`)}
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
	f(`parse logfmt as m | filter m.level = "warn" | fields m.msg, m.pct + 1 as p, ispresent(m.flag) as fl`, `m.msg=disk "almost" full p=92 fl=1`)
	f(`filter @message like "," | parse @message csv as a, b, c, d, e`, `@timestamp=1970-01-01 00:00:02.000 @message=a,"b,c",,"d""e"`)
	f(`filter @message like "," | parse csv as a, b, c, d, e | display a, b, c, d, e`, `a=a b=b,c c= d=d"e`)
	if _, err := Compile(`parse logfmt as a, b`); err == nil {
		t.Error("logfmt with two names accepted")
	}
}

func TestStoreStats(t *testing.T) {
	q, _ := Compile(`fields @message | limit 1`)
	x := q.Run(Options{StoreStats: true})
	x.AddBlock("g", store.ScanBlock{Events: corpus})
	x.SetScanned(1000, 5000)
	r, _ := x.Finish()
	if r.RecordsScanned != 1000 || r.BytesScanned != 5000 || r.RecordsMatched != 6 {
		t.Errorf("stats %+v", r)
	}
}

func TestExpand(t *testing.T) {
	evs := []store.StoredEvent{ev(1, `{"id":1,"items":[{"sku":"a","n":2},{"sku":"b","n":3}]}`), ev(2, `{"id":2,"items":[]}`), ev(3, `{"id":3}`)}
	res, err := run(t, `expand items | stats sum(items.n) as total, count() as rows`, evs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := render(res.Rows); got != "total=5 rows=2" {
		t.Errorf("expand: %s", got)
	}
	res, _ = run(t, `fields "[1,2,3]" as l | expand l | stats sum(l) as s`, evs[:1], Options{})
	if got := render(res.Rows); got != "s=6" {
		t.Errorf("expand of ephemeral JSON text: %s", got)
	}
}
