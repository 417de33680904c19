package syslog

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func TestParse5424(t *testing.T) {
	// RFC 5424 §6.5's examples, and the edge forms.
	cases := []struct {
		in   string
		want Message
	}{
		{`<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - BOM'su root' failed for lonvick on /dev/pts/8`,
			Message{Format: "rfc5424", Facility: 4, Severity: 2, Version: 1, Timestamp: time.Date(2003, 10, 11, 22, 14, 15, 3e6, time.UTC),
				Hostname: "mymachine.example.com", AppName: "su", MsgID: "ID47", Message: "BOM'su root' failed for lonvick on /dev/pts/8"}},
		{`<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.`,
			Message{Format: "rfc5424", Facility: 20, Severity: 5, Version: 1, Timestamp: time.Date(2003, 8, 24, 12, 14, 15, 3000, time.UTC),
				Hostname: "192.0.2.1", AppName: "myproc", ProcID: "8710", Message: "%% It's time to make the do-nuts."}},
		{`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]`,
			Message{Format: "rfc5424", Facility: 20, Severity: 5, Version: 1, Timestamp: time.Date(2003, 10, 11, 22, 14, 15, 3e6, time.UTC),
				Hostname: "mymachine.example.com", AppName: "evntslog", MsgID: "ID47",
				StructuredData: []Element{{ID: "exampleSDID@32473", Params: []Param{{"iut", "3"}, {"eventSource", "Application"}, {"eventID", "1011"}}},
					{ID: "examplePriority@32473", Params: []Param{{"class", "high"}}}}}},
		{`<0>1 - - - - - [a b="q\"x\]y\\z"] msg`,
			Message{Format: "rfc5424", Version: 1, StructuredData: []Element{{ID: "a", Params: []Param{{"b", `q"x]y\z`}}}}, Message: "msg"}},
		{"<14>1 - h a p m - \xef\xbb\xbfhello\n", Message{Format: "rfc5424", Facility: 1, Severity: 6, Version: 1, Hostname: "h", AppName: "a", ProcID: "p", MsgID: "m", Message: "hello"}},
	}
	for _, c := range cases {
		got, err := Parse([]byte(c.in), now)
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if !got.Timestamp.Equal(c.want.Timestamp) {
			t.Errorf("%q: timestamp %v, want %v", c.in, got.Timestamp, c.want.Timestamp)
		}
		got.Timestamp, c.want.Timestamp = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", c.in, got, c.want)
		}
	}
}

func TestParse3164(t *testing.T) {
	cases := []struct {
		in   string
		want Message
		ts   time.Time
	}{
		{`<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8`,
			Message{Format: "rfc3164", Facility: 4, Severity: 2, Hostname: "mymachine", AppName: "su", Message: "'su root' failed for lonvick on /dev/pts/8"},
			time.Date(2025, 10, 11, 22, 14, 15, 0, time.UTC)}, // October is ahead of March 2026: last year
		{`<13>Mar  9 08:01:02 web01 nginx[1234]: GET / 200`,
			Message{Format: "rfc3164", Facility: 1, Severity: 5, Hostname: "web01", AppName: "nginx", ProcID: "1234", Message: "GET / 200"},
			time.Date(2026, 3, 9, 8, 1, 2, 0, time.UTC)},
		{`<30>2026-03-10T11:00:00.5+00:00 host1 cron[9]: job`,
			Message{Format: "rfc3164", Facility: 3, Severity: 6, Hostname: "host1", AppName: "cron", ProcID: "9", Message: "job"},
			time.Date(2026, 3, 10, 11, 0, 0, 5e8, time.UTC)},
		{`<13>just text, no header`, Message{Format: "rfc3164", Facility: 1, Severity: 5, Message: "just text, no header"}, time.Time{}},
		{`<13>app: hello`, Message{Format: "rfc3164", Facility: 1, Severity: 5, AppName: "app", Message: "hello"}, time.Time{}},
		{`no pri at all`, Message{Facility: 1, Severity: 5, Message: "no pri at all"}, time.Time{}},
		{`<192>too big`, Message{Facility: 1, Severity: 5, Message: "<192>too big"}, time.Time{}},
		{`<013>leading zero`, Message{Facility: 1, Severity: 5, Message: "<013>leading zero"}, time.Time{}},
		{"<1>1 not 5424 really", Message{Format: "rfc3164", Facility: 0, Severity: 1, Message: "1 not 5424 really"}, time.Time{}},
		{"<14>bad \xff utf8", Message{Format: "rfc3164", Facility: 1, Severity: 6, Message: "bad \uFFFD utf8"}, time.Time{}},
	}
	for _, c := range cases {
		got, err := Parse([]byte(c.in), now)
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if !got.Timestamp.Equal(c.ts) {
			t.Errorf("%q: timestamp %v, want %v", c.in, got.Timestamp, c.ts)
		}
		got.Timestamp = time.Time{}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", c.in, got, c.want)
		}
	}
	if _, err := Parse([]byte("\r\n"), now); err == nil {
		t.Error("an empty line parsed")
	}
}

func TestJSON(t *testing.T) {
	m, _ := Parse([]byte(`<165>1 2003-10-11T22:14:15.003Z h app 12 ID1 [x@1 a="1" b="t\"q"][x@1 a="2"][y c="3"] line "two"`+"\x01"), now)
	var got map[string]any
	if err := json.Unmarshal([]byte(m.JSON("192.0.2.7")), &got); err != nil {
		t.Fatal(err, m.JSON(""))
	}
	want := map[string]any{"facility": "local4", "severity": "notice", "hostname": "h", "appName": "app", "procId": "12", "msgId": "ID1",
		"structuredData": map[string]any{"x@1": map[string]any{"a": "2", "b": `t"q`}, "y": map[string]any{"c": "3"}},
		"sourceIp":       "192.0.2.7", "message": "line \"two\"\x01"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestReadFrame(t *testing.T) {
	in := "5 <1>ab<2>cd\n<3>ef\r\n11 <4>1 - - -\n" + strings.Repeat("x", 40) + "\n<5>tail"
	r := bufio.NewReaderSize(strings.NewReader(in), 16)
	var got []string
	for {
		f, err := ReadFrame(r, 20)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(f))
	}
	want := []string{"<1>ab", "<2>cd", "<3>ef\r", "<4>1 - - -\n", strings.Repeat("x", 20), "<5>tail"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	for _, bad := range []string{"21 " + strings.Repeat("x", 21), "99999999999 x", "5x <1>a", "5 <1>"} {
		_, err := ReadFrame(bufio.NewReader(strings.NewReader(bad)), 20)
		if err == nil || errors.Is(err, io.EOF) {
			t.Errorf("%q: err %v, want a framing error", bad, err)
		}
	}
}

func TestListener(t *testing.T) {
	var mu sync.Mutex
	var got []string
	l, err := Listen(Config{Addr: "127.0.0.1:0", MaxConns: 2, Now: func() time.Time { return now }, Handle: func(m Message, from netip.Addr) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, fmt.Sprintf("%s|%s|%s", m.Hostname, m.Message, from))
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	two := "<13>1 - h2 - - - - two"
	fmt.Fprintf(c, "<13>Mar  9 08:01:02 h1 app: one\n%d %s", len(two), two)
	c.Close()
	u, err := net.Dial("udp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(u, "<13>Mar  9 08:01:02 h3 app: three")
	u.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]bool{"h1|one|127.0.0.1": true, "h2|two|127.0.0.1": true, "h3|three|127.0.0.1": true}
	if len(got) != 3 {
		t.Fatalf("got %q", got)
	}
	for _, g := range got {
		if !want[g] {
			t.Errorf("unexpected %q (all: %q)", g, got)
		}
	}
}

// TestListenerConnBound: beyond MaxConns, a connection is closed at once;
// the held ones keep working.
func TestListenerConnBound(t *testing.T) {
	l, err := Listen(Config{Addr: "127.0.0.1:0", MaxConns: 1, Handle: func(Message, netip.Addr) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a, err := net.Dial("tcp", l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	fmt.Fprintf(a, "<13>x\n") // make sure a is accepted and held
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := net.Dial("tcp", l.Addr())
		if err != nil {
			t.Fatal(err)
		}
		b.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = b.Read(make([]byte, 1))
		b.Close()
		if errors.Is(err, io.EOF) {
			return // refused by closing
		}
		if time.Now().After(deadline) {
			t.Fatalf("second connection not closed: %v", err)
		}
	}
}
