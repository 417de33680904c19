package syslog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzParse: any bytes parse without a panic into valid UTF-8 fields whose
// JSON event is valid JSON.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - BOM'su root'`,
		`<165>1 2003-10-11T22:14:15.003Z h e - ID47 [exampleSDID@32473 iut="3" eventSource="App\]"][p class="high"] m`,
		`<13>Mar  9 08:01:02 web01 nginx[1234]: GET`, `<30>2026-03-10T11:00:00.5+00:00 host1 cron[9]: job`, "x", "<1>", "<191>1 "} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b, now)
		if err != nil {
			return
		}
		for _, s := range []string{m.Hostname, m.AppName, m.ProcID, m.MsgID, m.Message} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 %q", s)
			}
		}
		if m.Facility < 0 || m.Facility > 23 || m.Severity < 0 || m.Severity > 7 {
			t.Fatalf("pri %d.%d", m.Facility, m.Severity)
		}
		if !json.Valid([]byte(m.JSON("::1"))) {
			t.Fatalf("invalid JSON %q", m.JSON(""))
		}
	})
}

// FuzzReadFrame: framing never returns a frame above the bound, never
// panics, and always makes progress.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte("5 <1>ab<2>cd\n<3>ef\r\n12 <4>1 - - -\n"), 8)
	f.Add([]byte("999 x"), 100)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		if max <= 0 || max > 1<<16 {
			max = 64
		}
		r := bufio.NewReaderSize(bytes.NewReader(b), 16)
		for i := 0; i <= len(b); i++ {
			frame, err := ReadFrame(r, max)
			if err != nil {
				return
			}
			if len(frame) > max {
				t.Fatalf("frame of %d > %d", len(frame), max)
			}
		}
		if _, err := ReadFrame(r, max); err == nil {
			t.Fatal("more frames than bytes")
		}
	})
}
