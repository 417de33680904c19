// Package eventstream holds the AWS event-stream binary framing
// (application/vnd.amazon.eventstream), the format of Live Tail responses and
// of any other streaming response (the console, GetLogObject).
//
// A streaming operation writes through a Writer: Event(type, JSON payload)
// and Exception(type, JSON payload) become messages with the headers the SDKs
// read (":message-type", ":event-type" or ":exception-type",
// ":content-type"), and Flush sends them. Underneath, data enters an Encoder
// as Messages (headers and a payload) and leaves as bytes written to an
// io.Writer, one Write per message so a streaming HTTP response can flush
// whole frames. A Decoder reads the bytes back into
// Messages; the server uses it only in tests and fuzzing, where it checks
// every length and both checksums and bounds what it allocates.
//
// A message is, big-endian:
//
//	prelude   total length (4) | headers length (4) | CRC32 of those 8 bytes (4)
//	headers   repeated: name length (1) | name | value type (1) | value
//	payload   total length - headers length - 16 bytes
//	trailer   CRC32 of everything before it (4)
//
// CRC32 is IEEE. Header values are typed; Live Tail uses only strings
// (type 7: 2-byte length, UTF-8 bytes), but all ten types are supported.
package eventstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// Limits from the AWS event-stream specification.
const (
	// MaxMessageLen bounds a whole message, prelude and trailer included.
	MaxMessageLen = 16 << 20
	// MaxHeadersLen bounds the encoded headers of one message.
	MaxHeadersLen = 128 << 10
	preludeLen    = 12
	minMessageLen = preludeLen + 4
)

// Type is a header value's type byte.
type Type uint8

// The header value types.
const (
	TypeTrue      Type = 0
	TypeFalse     Type = 1
	TypeByte      Type = 2
	TypeInt16     Type = 3
	TypeInt32     Type = 4
	TypeInt64     Type = 5
	TypeBytes     Type = 6
	TypeString    Type = 7
	TypeTimestamp Type = 8 // int64 milliseconds since the epoch
	TypeUUID      Type = 9 // 16 bytes
)

// Header is one typed header. Int holds the value of the integer and
// timestamp types (and 1/0 for the booleans); Bytes holds the value of the
// bytes, string and UUID types.
type Header struct {
	Name  string
	Type  Type
	Int   int64
	Bytes []byte
}

// String returns a string header.
func String(name, value string) Header {
	return Header{Name: name, Type: TypeString, Bytes: []byte(value)}
}

// Bool returns a boolean header.
func Bool(name string, v bool) Header {
	if v {
		return Header{Name: name, Type: TypeTrue, Int: 1}
	}
	return Header{Name: name, Type: TypeFalse}
}

// Int64 returns a 64-bit integer header.
func Int64(name string, v int64) Header { return Header{Name: name, Type: TypeInt64, Int: v} }

// Timestamp returns a timestamp header (millisecond precision).
func Timestamp(name string, t time.Time) Header {
	return Header{Name: name, Type: TypeTimestamp, Int: t.UnixMilli()}
}

// Value renders the header's value as text (for tests and diagnostics).
func (h Header) Value() string {
	switch h.Type {
	case TypeTrue:
		return "true"
	case TypeFalse:
		return "false"
	case TypeString:
		return string(h.Bytes)
	case TypeBytes, TypeUUID:
		return fmt.Sprintf("%x", h.Bytes)
	}
	return fmt.Sprint(h.Int)
}

// Message is one event-stream message.
type Message struct {
	Headers []Header
	Payload []byte
}

// Header returns the value of the first header with the given name as text,
// or "" when there is none.
func (m Message) Header(name string) string {
	for _, h := range m.Headers {
		if h.Name == name {
			return h.Value()
		}
	}
	return ""
}

// Errors the Decoder returns for malformed input. Encode returns
// ErrTooLarge, ErrHeaderName and ErrHeaderValue for messages it cannot
// represent.
var (
	ErrPreludeCRC  = errors.New("eventstream: prelude checksum mismatch")
	ErrMessageCRC  = errors.New("eventstream: message checksum mismatch")
	ErrLength      = errors.New("eventstream: invalid message length")
	ErrTooLarge    = errors.New("eventstream: message too large")
	ErrHeaderName  = errors.New("eventstream: invalid header name")
	ErrHeaderValue = errors.New("eventstream: invalid header value")
	ErrHeaderType  = errors.New("eventstream: unknown header value type")
)

// AppendMessage appends m's encoding to dst.
func AppendMessage(dst []byte, m Message) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, preludeLen)...)
	for _, h := range m.Headers {
		var err error
		if dst, err = appendHeader(dst, h); err != nil {
			return dst[:start], err
		}
	}
	headersLen := len(dst) - start - preludeLen
	if headersLen > MaxHeadersLen {
		return dst[:start], ErrTooLarge
	}
	total := headersLen + len(m.Payload) + minMessageLen
	if total > MaxMessageLen {
		return dst[:start], ErrTooLarge
	}
	dst = append(dst, m.Payload...)
	p := dst[start:]
	binary.BigEndian.PutUint32(p[0:], uint32(total))
	binary.BigEndian.PutUint32(p[4:], uint32(headersLen))
	binary.BigEndian.PutUint32(p[8:], crc32.ChecksumIEEE(p[:8]))
	return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(p)), nil
}

func appendHeader(dst []byte, h Header) ([]byte, error) {
	if len(h.Name) == 0 || len(h.Name) > 255 {
		return dst, ErrHeaderName
	}
	dst = append(dst, byte(len(h.Name)))
	dst = append(dst, h.Name...)
	dst = append(dst, byte(h.Type))
	switch h.Type {
	case TypeTrue, TypeFalse:
	case TypeByte:
		dst = append(dst, byte(int8(h.Int)))
	case TypeInt16:
		dst = binary.BigEndian.AppendUint16(dst, uint16(int16(h.Int)))
	case TypeInt32:
		dst = binary.BigEndian.AppendUint32(dst, uint32(int32(h.Int)))
	case TypeInt64, TypeTimestamp:
		dst = binary.BigEndian.AppendUint64(dst, uint64(h.Int))
	case TypeBytes, TypeString:
		if len(h.Bytes) > 1<<15-1 {
			return dst, ErrHeaderValue
		}
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(h.Bytes)))
		dst = append(dst, h.Bytes...)
	case TypeUUID:
		if len(h.Bytes) != 16 {
			return dst, ErrHeaderValue
		}
		dst = append(dst, h.Bytes...)
	default:
		return dst, ErrHeaderType
	}
	return dst, nil
}

// Encoder writes messages to a writer. It is not safe for concurrent use.
type Encoder struct {
	w   io.Writer
	buf []byte
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Encode writes one message with a single Write call.
func (e *Encoder) Encode(m Message) error {
	var err error
	if e.buf, err = AppendMessage(e.buf[:0], m); err != nil {
		return err
	}
	_, err = e.w.Write(e.buf)
	if cap(e.buf) > 1<<20 {
		e.buf = nil // do not pin a burst's buffer for the life of a stream
	}
	return err
}

// Decoder reads messages from a reader. It is not safe for concurrent use.
type Decoder struct {
	r   io.Reader
	buf []byte
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder { return &Decoder{r: r} }

// Decode reads the next message. At a clean end of input it returns io.EOF;
// a message cut short returns io.ErrUnexpectedEOF. The returned message does
// not alias the Decoder's buffers.
func (d *Decoder) Decode() (Message, error) {
	var prelude [preludeLen]byte
	if _, err := io.ReadFull(d.r, prelude[:]); err != nil {
		return Message{}, err
	}
	total := binary.BigEndian.Uint32(prelude[0:])
	headersLen := binary.BigEndian.Uint32(prelude[4:])
	if crc32.ChecksumIEEE(prelude[:8]) != binary.BigEndian.Uint32(prelude[8:]) {
		return Message{}, ErrPreludeCRC
	}
	if total < minMessageLen || total > MaxMessageLen || headersLen > MaxHeadersLen || headersLen > total-minMessageLen {
		return Message{}, ErrLength
	}
	if cap(d.buf) < int(total) {
		d.buf = make([]byte, total)
	}
	buf := d.buf[:total]
	copy(buf, prelude[:])
	if _, err := io.ReadFull(d.r, buf[preludeLen:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Message{}, err
	}
	if crc32.ChecksumIEEE(buf[:total-4]) != binary.BigEndian.Uint32(buf[total-4:]) {
		return Message{}, ErrMessageCRC
	}
	return Parse(buf)
}

// Parse decodes one complete message whose checksums have been verified;
// it checks the structure of the headers and copies what it returns.
func Parse(buf []byte) (Message, error) {
	if len(buf) < minMessageLen {
		return Message{}, ErrLength
	}
	total := binary.BigEndian.Uint32(buf[0:])
	headersLen := binary.BigEndian.Uint32(buf[4:])
	if int(total) != len(buf) || headersLen > total-minMessageLen {
		return Message{}, ErrLength
	}
	hb := buf[preludeLen : preludeLen+headersLen]
	var m Message
	for len(hb) > 0 {
		var h Header
		var err error
		if h, hb, err = parseHeader(hb); err != nil {
			return Message{}, err
		}
		m.Headers = append(m.Headers, h)
	}
	payload := buf[preludeLen+headersLen : total-4]
	m.Payload = append([]byte(nil), payload...)
	return m, nil
}

func parseHeader(b []byte) (Header, []byte, error) {
	n := int(b[0])
	if n == 0 || len(b) < 1+n+1 {
		return Header{}, nil, ErrHeaderName
	}
	h := Header{Name: string(b[1 : 1+n]), Type: Type(b[1+n])}
	b = b[2+n:]
	need := func(k int) bool { return len(b) >= k }
	switch h.Type {
	case TypeTrue:
		h.Int = 1
	case TypeFalse:
	case TypeByte:
		if !need(1) {
			return Header{}, nil, ErrHeaderValue
		}
		h.Int, b = int64(int8(b[0])), b[1:]
	case TypeInt16:
		if !need(2) {
			return Header{}, nil, ErrHeaderValue
		}
		h.Int, b = int64(int16(binary.BigEndian.Uint16(b))), b[2:]
	case TypeInt32:
		if !need(4) {
			return Header{}, nil, ErrHeaderValue
		}
		h.Int, b = int64(int32(binary.BigEndian.Uint32(b))), b[4:]
	case TypeInt64, TypeTimestamp:
		if !need(8) {
			return Header{}, nil, ErrHeaderValue
		}
		h.Int, b = int64(binary.BigEndian.Uint64(b)), b[8:]
	case TypeBytes, TypeString:
		if !need(2) {
			return Header{}, nil, ErrHeaderValue
		}
		k := int(binary.BigEndian.Uint16(b))
		if !need(2 + k) {
			return Header{}, nil, ErrHeaderValue
		}
		h.Bytes, b = append([]byte{}, b[2:2+k]...), b[2+k:]
	case TypeUUID:
		if !need(16) {
			return Header{}, nil, ErrHeaderValue
		}
		h.Bytes, b = append([]byte{}, b[:16]...), b[16:]
	default:
		return Header{}, nil, ErrHeaderType
	}
	return h, b, nil
}
