package logscli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Format is how events are written.
type Format string

const (
	FormatShort    Format = "short"    // time (to the second) and message
	FormatDetailed Format = "detailed" // time (ms, with zone), [group,] stream, message
	FormatJSON     Format = "json"     // detailed, with JSON messages pretty-printed
	FormatRaw      Format = "raw"      // the message alone
)

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatShort, FormatDetailed, FormatJSON, FormatRaw:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q (short, detailed, json or raw)", s)
}

// Event is one event to print.
type Event struct {
	Group, Stream string
	Time          int64 // ms
	Message       string
}

// Printer writes events.
type Printer struct {
	Format     Format
	Location   *time.Location // nil: UTC
	Color      bool
	ShowGroups bool // detailed and json formats name the group (tail of several groups)
}

const (
	colorTime   = "\x1b[32m"
	colorGroup  = "\x1b[35m"
	colorStream = "\x1b[36m"
	colorReset  = "\x1b[0m"
)

// Print writes one event.
func (p *Printer) Print(w io.Writer, e Event) error {
	if p == nil {
		p = &Printer{Format: FormatShort}
	}
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	t := time.UnixMilli(e.Time).In(loc)
	var b bytes.Buffer
	paint := func(color, s string) {
		if p.Color {
			b.WriteString(color)
			b.WriteString(s)
			b.WriteString(colorReset)
		} else {
			b.WriteString(s)
		}
		b.WriteByte(' ')
	}
	msg := strings.TrimRight(e.Message, "\r\n")
	switch p.Format {
	case FormatRaw:
	case FormatShort, "":
		paint(colorTime, t.Format("2006-01-02T15:04:05"))
	default:
		paint(colorTime, t.Format("2006-01-02T15:04:05.000Z07:00"))
		if p.ShowGroups {
			paint(colorGroup, e.Group)
		}
		paint(colorStream, e.Stream)
		if p.Format == FormatJSON {
			msg = prettyJSON(msg)
		}
	}
	b.WriteString(msg)
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// prettyJSON indents a message that is wholly a JSON object or array.
func prettyJSON(msg string) string {
	s := strings.TrimSpace(msg)
	if len(s) < 2 || (s[0] != '{' && s[0] != '[') || !json.Valid([]byte(s)) {
		return msg
	}
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(s), "", "  "); err != nil {
		return msg
	}
	return b.String()
}
