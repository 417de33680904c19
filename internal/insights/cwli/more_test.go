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
