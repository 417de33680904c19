package eventstream

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"time"

	sdk "github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

func liveTailFrame() Message {
	return Message{
		Headers: []Header{
			String(":message-type", "event"),
			String(":event-type", "sessionUpdate"),
			String(":content-type", "application/json"),
		},
		Payload: []byte(`{"sessionMetadata":{"sampled":false},"sessionResults":[]}`),
	}
}

func allTypes() Message {
	return Message{
		Headers: []Header{
			Bool("t", true),
			Bool("f", false),
			{Name: "b", Type: TypeByte, Int: -7},
			{Name: "i16", Type: TypeInt16, Int: -300},
			{Name: "i32", Type: TypeInt32, Int: 1 << 30},
			Int64("i64", -1<<40),
			{Name: "bytes", Type: TypeBytes, Bytes: []byte{0, 1, 2}},
			String("s", "héllo"),
			Timestamp("ts", time.UnixMilli(1_700_000_000_123)),
			{Name: "uuid", Type: TypeUUID, Bytes: bytes.Repeat([]byte{0xab}, 16)},
		},
		Payload: []byte("payload"),
	}
}

// The SDK's own decoder must read what we write, header by header.
func TestEncodeReadBySDK(t *testing.T) {
	f := func(m Message) {
		t.Helper()
		var buf bytes.Buffer
		if err := NewEncoder(&buf).Encode(m); err != nil {
			t.Fatal(err)
		}
		got, err := sdk.NewDecoder().Decode(&buf, nil)
		if err != nil {
			t.Fatalf("sdk decode: %v", err)
		}
		if !bytes.Equal(got.Payload, m.Payload) {
			t.Fatalf("payload %q, want %q", got.Payload, m.Payload)
		}
		if len(got.Headers) != len(m.Headers) {
			t.Fatalf("%d headers, want %d", len(got.Headers), len(m.Headers))
		}
		for i, h := range m.Headers {
			g := got.Headers[i]
			if g.Name != h.Name {
				t.Fatalf("header %d name %q, want %q", i, g.Name, h.Name)
			}
			want := h.Value()
			var have string
			switch v := g.Value.(type) {
			case sdk.TimestampValue:
				have = sdkInt(time.Time(v).UnixMilli())
			case sdk.Int8Value:
				have = sdkInt(int64(v))
			case sdk.Int16Value:
				have = sdkInt(int64(v))
			case sdk.Int32Value:
				have = sdkInt(int64(v))
			case sdk.Int64Value:
				have = sdkInt(int64(v))
			case sdk.BytesValue:
				have = hex.EncodeToString(v)
			case sdk.UUIDValue:
				have = hex.EncodeToString(v[:])
			default:
				have = g.Value.String()
			}
			if have != want {
				t.Fatalf("header %s = %q, want %q", h.Name, have, want)
			}
		}
	}
	f(liveTailFrame())
	f(allTypes())
	f(Message{})
	f(Message{Payload: bytes.Repeat([]byte("x"), 1<<20)})
}

func sdkInt(v int64) string { return Int64("", v).Value() }

// We must read what the SDK writes, byte for byte the same as ours.
func TestDecodeWrittenBySDK(t *testing.T) {
	var m sdk.Message
	m.Headers.Set(":message-type", sdk.StringValue("exception"))
	m.Headers.Set(":exception-type", sdk.StringValue("SessionTimeoutException"))
	m.Headers.Set("n", sdk.Int32Value(-5))
	m.Headers.Set("ts", sdk.TimestampValue(time.UnixMilli(42)))
	m.Payload = []byte(`{"message":"bye"}`)
	var buf bytes.Buffer
	if err := sdk.NewEncoder().Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	sdkBytes := append([]byte(nil), buf.Bytes()...)
	got, err := NewDecoder(&buf).Decode()
	if err != nil {
		t.Fatal(err)
	}
	if got.Header(":exception-type") != "SessionTimeoutException" || got.Header("n") != "-5" || got.Header("ts") != "42" ||
		string(got.Payload) != `{"message":"bye"}` {
		t.Fatalf("got %+v", got)
	}
	ours, err := AppendMessage(nil, got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ours, sdkBytes) {
		t.Fatalf("re-encoding differs from the SDK's bytes:\n%x\n%x", ours, sdkBytes)
	}
	if _, err := NewDecoder(&buf).Decode(); err != io.EOF {
		t.Fatalf("at end: %v, want io.EOF", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good, err := AppendMessage(nil, liveTailFrame())
	if err != nil {
		t.Fatal(err)
	}
	f := func(b []byte, want error) {
		t.Helper()
		_, err := NewDecoder(bytes.NewReader(b)).Decode()
		if !errors.Is(err, want) {
			t.Fatalf("err %v, want %v", err, want)
		}
	}
	f(good[:5], io.ErrUnexpectedEOF)
	f(good[:20], io.ErrUnexpectedEOF)
	bad := bytes.Clone(good)
	bad[9] ^= 1
	f(bad, ErrPreludeCRC)
	bad = bytes.Clone(good)
	bad[len(bad)-10] ^= 1
	f(bad, ErrMessageCRC)
	huge, _ := AppendMessage(nil, Message{})
	huge[0] = 0xff // 4 GB total length, prelude CRC fixed below
	fixPrelude(huge)
	f(huge, ErrLength)
}

func fixPrelude(b []byte) {
	binary.BigEndian.PutUint32(b[8:], crc32.ChecksumIEEE(b[:8]))
}

func TestEncodeLimits(t *testing.T) {
	f := func(m Message, want error) {
		t.Helper()
		var buf bytes.Buffer
		if err := NewEncoder(&buf).Encode(m); !errors.Is(err, want) {
			t.Fatalf("err %v, want %v", err, want)
		}
		if want != nil && buf.Len() != 0 {
			t.Fatal("a refused message wrote bytes")
		}
	}
	f(Message{Headers: []Header{String(strings.Repeat("n", 256), "v")}}, ErrHeaderName)
	f(Message{Headers: []Header{String("", "v")}}, ErrHeaderName)
	f(Message{Headers: []Header{{Name: "u", Type: TypeUUID, Bytes: []byte{1}}}}, ErrHeaderValue)
	f(Message{Headers: []Header{{Name: "x", Type: 10}}}, ErrHeaderType)
	f(Message{Payload: make([]byte, MaxMessageLen)}, ErrTooLarge)
	f(Message{Payload: make([]byte, MaxMessageLen-minMessageLen)}, nil)
}

func FuzzDecode(f *testing.F) {
	for _, m := range []Message{liveTailFrame(), allTypes(), {}} {
		b, _ := AppendMessage(nil, m)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(bytes.NewReader(b))
		for i := 0; i < 4; i++ {
			m, err := d.Decode()
			if err != nil {
				return
			}
			// What decodes re-encodes to a message that decodes the same.
			enc, err := AppendMessage(nil, m)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			m2, err := NewDecoder(bytes.NewReader(enc)).Decode()
			if err != nil {
				t.Fatalf("decode re-encoded: %v", err)
			}
			if !bytes.Equal(m.Payload, m2.Payload) || len(m.Headers) != len(m2.Headers) {
				t.Fatal("round trip changed the message")
			}
			// And the SDK agrees with us.
			if _, err := sdk.NewDecoder().Decode(bytes.NewReader(enc), nil); err != nil {
				t.Fatalf("sdk rejects our encoding: %v", err)
			}
		}
	})
}

// FuzzWriter: whatever event or exception types and payloads a streaming
// operation writes, the Writer either refuses the message and writes nothing,
// or writes frames that the SDK's decoder and ours read back as exactly what
// was written, one message after another.
func FuzzWriter(f *testing.F) {
	f.Add(false, "initial-response", []byte("{}"), true, "SessionTimeoutException", []byte(`{"message":"bye"}`))
	f.Add(false, "sessionUpdate", []byte(`{"sessionResults":[{"message":"m"}]}`), false, "sessionStart", []byte{})
	f.Add(true, "", []byte(nil), false, "\x00\xff", []byte{0, 0, 0, 16})
	f.Fuzz(func(t *testing.T, exc1 bool, typ1 string, payload1 []byte, exc2 bool, typ2 string, payload2 []byte) {
		type sent struct {
			exc     bool
			typ     string
			payload []byte
		}
		var buf bytes.Buffer
		w := NewWriter(&buf, nil)
		var want []sent
		for _, s := range []sent{{exc1, typ1, payload1}, {exc2, typ2, payload2}} {
			before := buf.Len()
			write := w.Event
			if s.exc {
				write = w.Exception
			}
			if err := write(s.typ, s.payload); err != nil {
				if buf.Len() != before {
					t.Fatalf("refused %q (%v) but wrote %d bytes", s.typ, err, buf.Len()-before)
				}
				continue
			}
			want = append(want, s)
		}
		w.Flush()
		ours, theirs := NewDecoder(bytes.NewReader(buf.Bytes())), sdk.NewDecoder()
		r := bytes.NewReader(buf.Bytes())
		for i, s := range want {
			kind, typeHeader := "event", ":event-type"
			if s.exc {
				kind, typeHeader = "exception", ":exception-type"
			}
			m, err := ours.Decode()
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if m.Header(":message-type") != kind || m.Header(typeHeader) != s.typ || m.Header(":content-type") != "application/json" ||
				!bytes.Equal(m.Payload, s.payload) {
				t.Fatalf("message %d: wrote %s %q %q, read %+v", i, kind, s.typ, s.payload, m)
			}
			sm, err := theirs.Decode(r, nil)
			if err != nil {
				t.Fatalf("message %d: the SDK refuses it: %v", i, err)
			}
			if v := sm.Headers.Get(":message-type"); v == nil || v.String() != kind {
				t.Fatalf("message %d: SDK reads :message-type %v", i, v)
			}
			if v := sm.Headers.Get(typeHeader); v == nil || v.String() != s.typ {
				t.Fatalf("message %d: SDK reads %s %v, want %q", i, typeHeader, v, s.typ)
			}
			if !bytes.Equal(sm.Payload, s.payload) {
				t.Fatalf("message %d: SDK reads payload %q, want %q", i, sm.Payload, s.payload)
			}
		}
		if _, err := ours.Decode(); err != io.EOF {
			t.Fatalf("after %d messages: %v, want io.EOF", len(want), err)
		}
	})
}
