package agent

import (
	"context"
	"errors"
	"io"
	"regexp"
	"sync"
	"time"
)

// LineConfig says how ReadLines cuts a stream into messages.
type LineConfig struct {
	Fit            fitter         // set by the agent; or use MaxEventBytes, Oversize and Marker
	MaxEventBytes  int            // including the 26-byte overhead (default 1,048,576)
	Oversize       Oversize       // for lines longer than the maximum (default truncate)
	Marker         string         // ends a cut line (default DefaultMarker)
	Start          *regexp.Regexp // multiline start; nil: each line is a message
	MultilineFlush time.Duration  // a gathered event is emitted after this much quiet (default 1 s)
	Tee            io.Writer      // gets every byte as it is read (cairn run echoes to the terminal)
}

// ReadLines reads r until EOF (or until ctx ends, when it closes r if r is an
// io.Closer) and hands emit the messages it completes: lines without their
// line ending, or multiline events. A last line without a newline is
// emitted at EOF. Messages are not masked or fitted; lines longer than the
// maximum are cut with the marker.
func ReadLines(ctx context.Context, r io.Reader, cfg LineConfig, emit func([]string) error) error {
	if cfg.Fit.max == 0 {
		marker := cfg.Marker
		if marker == "" {
			marker = DefaultMarker
		}
		cfg.Fit = newFitter(cfg.MaxEventBytes, cfg.Oversize, marker)
	}
	if cfg.MultilineFlush <= 0 {
		cfg.MultilineFlush = time.Second
	}
	fr := newFramer(cfg.Fit)
	g := &grouper{start: cfg.Start, max: cfg.Fit.max}

	chunks := make(chan []byte, 4)
	stop := make(chan struct{})
	var readErr error // written by the reader before it closes chunks
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(chunks)
		for {
			buf := make([]byte, 64<<10)
			n, err := r.Read(buf)
			if n > 0 {
				if cfg.Tee != nil {
					cfg.Tee.Write(buf[:n])
				}
				select {
				case chunks <- buf[:n]:
				case <-stop:
					return
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					readErr = err
				}
				return
			}
		}
	}()
	defer func() {
		close(stop)
		if c, ok := r.(io.Closer); ok {
			c.Close()
		}
		for range chunks {
		}
		wg.Wait()
	}()

	var msgs []string
	add := func(m string) { msgs = append(msgs, m) }
	send := func() error {
		if len(msgs) == 0 {
			return nil
		}
		err := emit(msgs)
		msgs = nil
		return err
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if g.pending() {
			timer.Reset(cfg.MultilineFlush)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case data, ok := <-chunks:
			if !ok {
				if line, ok := fr.partial(); ok {
					g.add(line, 0, add)
				}
				g.flush(add)
				if err := send(); err != nil {
					return err
				}
				return readErr
			}
			fr.feed(data, func(line string, _ int64) { g.add(line, 0, add) })
		case <-timer.C:
			g.flush(add)
		}
		if err := send(); err != nil {
			return err
		}
	}
}
