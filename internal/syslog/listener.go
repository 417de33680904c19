package syslog

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Defaults of a Listener's bounds.
const (
	// DefaultMaxMessage: RFC 5424 §6.1 asks receivers to take 2048 bytes and
	// allows more; rsyslog's default maximum is 8 KiB and senders raise it.
	// 64 KiB covers those and stays far below PutLogEvents' 1 MiB event.
	DefaultMaxMessage = 64 << 10
	DefaultMaxConns   = 256
	// DefaultIdleTimeout closes a TCP connection that sent nothing this long.
	DefaultIdleTimeout = 5 * time.Minute
)

// ErrTooLong is a frame longer than the bound: an octet count above it
// closes the connection (its bytes cannot be trusted to be a message).
var ErrTooLong = errors.New("syslog: frame longer than the maximum message size")

// ReadFrame reads one message's bytes off a TCP stream (RFC 6587): a frame
// starting with a digit is octet-counted ("LEN SP MSG"); any other is
// newline-terminated (a trailing "\r" and NULs are Parse's to drop). A
// newline-terminated line longer than max is cut at max and the rest of the
// line skipped; an octet count above max is ErrTooLong. The returned slice is
// valid until the next call. io.EOF means the stream ended between frames.
func ReadFrame(r *bufio.Reader, max int) ([]byte, error) {
	c, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	if c >= '0' && c <= '9' {
		n := int(c - '0')
		for digits := 1; ; digits++ {
			c, err := r.ReadByte()
			if err != nil {
				return nil, unexpected(err)
			}
			if c == ' ' {
				break
			}
			if c < '0' || c > '9' || digits >= 10 {
				return nil, errors.New("syslog: malformed octet count")
			}
			n = n*10 + int(c-'0')
			if n > max {
				return nil, ErrTooLong
			}
		}
		if n > max {
			return nil, ErrTooLong
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, unexpected(err)
		}
		return buf, nil
	}
	if err := r.UnreadByte(); err != nil {
		return nil, err
	}
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if room := max - len(line); room > 0 {
			line = append(line, chunk[:min(len(chunk), room)]...)
		}
		switch {
		case err == nil:
			return bytes.TrimSuffix(line, []byte("\n")), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue // keep reading (and, past max, skipping) the line
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil // the last line of a stream need not end in "\n"
		default:
			return nil, err
		}
	}
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Config configures a Listener.
type Config struct {
	// Addr is host:port for both TCP and UDP; port 0 picks one free for both.
	Addr        string
	MaxMessage  int           // 0: DefaultMaxMessage
	MaxConns    int           // concurrent TCP connections; 0: DefaultMaxConns
	IdleTimeout time.Duration // 0: DefaultIdleTimeout
	// Handle receives each message with its sender's address. It is called
	// from many goroutines at once; while it blocks, that connection (or the
	// UDP socket) reads no further, which is the listener's backpressure.
	Handle func(m Message, from netip.Addr)
	Now    func() time.Time
	Logger *slog.Logger
}

// Listener serves syslog over TCP and UDP on one address until Close.
type Listener struct {
	cfg  Config
	tcp  net.Listener
	udp  net.PacketConn
	wg   sync.WaitGroup
	sem  chan struct{}
	mu   sync.Mutex
	conn map[net.Conn]struct{} // guarded by mu; closed by Close
	done bool                  // guarded by mu
}

// Listen binds TCP and UDP on cfg.Addr and starts serving.
func Listen(cfg Config) (*Listener, error) {
	if cfg.Handle == nil {
		return nil, errors.New("syslog: no handler")
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = DefaultMaxMessage
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	tcp, udp, err := bindBoth(cfg.Addr)
	if err != nil {
		return nil, err
	}
	l := &Listener{cfg: cfg, tcp: tcp, udp: udp, sem: make(chan struct{}, cfg.MaxConns), conn: make(map[net.Conn]struct{})}
	l.wg.Add(2)
	go l.acceptLoop()
	go l.udpLoop()
	return l, nil
}

// bindBoth binds TCP, then UDP on the same port. With port 0 the UDP port
// the kernel gave TCP may be taken; a few fresh tries settle it.
func bindBoth(addr string) (net.Listener, net.PacketConn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	for try := 0; ; try++ {
		tcp, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, nil, err
		}
		p := tcp.Addr().(*net.TCPAddr).Port
		udp, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			return tcp, udp, nil
		}
		tcp.Close()
		if port != "0" || try >= 5 {
			return nil, nil, err
		}
	}
}

// Addr is the bound address (the same port for TCP and UDP).
func (l *Listener) Addr() string { return l.tcp.Addr().String() }

// Close stops listening, closes every connection and waits for the
// goroutines, including any Handle call in progress.
func (l *Listener) Close() error {
	l.mu.Lock()
	l.done = true
	for c := range l.conn {
		c.Close()
	}
	l.mu.Unlock()
	err := errors.Join(l.tcp.Close(), l.udp.Close())
	l.wg.Wait()
	return err
}

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	for {
		c, err := l.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			l.cfg.Logger.Warn("syslog accept", "err", err)
			// A persistent failure (out of descriptors) must not spin.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		select {
		case l.sem <- struct{}{}:
		default:
			// At the bound: refuse the newcomer rather than queue it.
			c.Close()
			continue
		}
		l.mu.Lock()
		if l.done {
			l.mu.Unlock()
			c.Close()
			<-l.sem
			return
		}
		l.conn[c] = struct{}{}
		l.mu.Unlock()
		l.wg.Add(1)
		go l.serveConn(c)
	}
}

func (l *Listener) serveConn(c net.Conn) {
	defer func() {
		l.mu.Lock()
		delete(l.conn, c)
		l.mu.Unlock()
		c.Close()
		<-l.sem
		l.wg.Done()
	}()
	from := addrOf(c.RemoteAddr())
	r := bufio.NewReaderSize(c, 16<<10)
	for {
		c.SetReadDeadline(time.Now().Add(l.cfg.IdleTimeout)) // the wall clock, not cfg.Now: a deadline is a real time
		frame, err := ReadFrame(r, l.cfg.MaxMessage)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				l.cfg.Logger.Debug("syslog connection closed", "from", from, "err", err)
			}
			return
		}
		l.deliver(frame, from)
	}
}

func (l *Listener) udpLoop() {
	defer l.wg.Done()
	// One datagram is one message (RFC 5426); a longer one is cut at the
	// bound (the kernel already cut it at the buffer).
	buf := make([]byte, l.cfg.MaxMessage)
	for {
		n, from, err := l.udp.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		l.deliver(buf[:n], addrOf(from))
	}
}

func (l *Listener) deliver(frame []byte, from netip.Addr) {
	m, err := Parse(frame, l.cfg.Now())
	if err != nil {
		return // an empty frame: nothing to store
	}
	l.cfg.Handle(m, from)
}

func addrOf(a net.Addr) netip.Addr {
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
