package agent

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"
)

// follower reads one file name with `tail -F` semantics: it follows the
// name, finishes a file renamed away before opening its successor, and
// starts over when the file is truncated in place (copytruncate).
type follower struct {
	a    *Agent
	in   *input
	path string
	sh   *Shipper

	f        *os.File
	dev, ino uint64
	off      int64 // read position in f
	fr       *framer
	g        *grouper
	lastData time.Time
	// tail is the last bytes read, ending at off: if the file no longer
	// holds them there, it was truncated and rewritten (copytruncate),
	// even if it has grown back past off.
	tail    []byte
	checked time.Time // modification time when tail last matched
	oneShot bool      // a rotated-away file found at start: read to its end, then stop
	gone    bool      // nothing more to read; drop the follower
}

// offsetState is what the state file keeps per path.
type offsetState struct {
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	Offset int64  `json:"offset"`
}

func (a *Agent) newFollower(in *input, path string, sh *Shipper) *follower {
	return &follower{a: a, in: in, path: path, sh: sh, fr: newFramer(a.fit), g: &grouper{start: in.start, max: a.fit.max}}
}

// open opens the path and positions it: at the saved offset when the saved
// state names this very file, else at the start. It returns a follower for
// the remainder of a file that was rotated away while the agent was down.
func (fl *follower) open(saved *offsetState) (*follower, error) {
	f, err := os.Open(fl.path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	fl.f = f
	fl.dev, fl.ino = fileID(fi)
	var prev *follower
	if saved != nil {
		switch {
		case saved.Ino == fl.ino && saved.Dev == fl.dev && fi.Size() >= saved.Offset:
			fl.seek(saved.Offset)
		case saved.Ino != fl.ino && saved.Ino != 0:
			prev = fl.a.findRotated(fl, saved)
		}
	}
	fl.a.setOffset(fl.path, offsetState{Dev: fl.dev, Ino: fl.ino, Offset: fl.g.committed})
	return prev, nil
}

func (fl *follower) seek(off int64) {
	fl.f.Seek(off, io.SeekStart)
	fl.off = off
	fl.tail, fl.checked = fl.tail[:0], time.Time{}
	if off > 0 {
		// Remember what precedes the resume point, to notice a rewrite.
		n := min(off, 64)
		b := make([]byte, n)
		if _, err := fl.f.ReadAt(b, off-n); err == nil {
			fl.tail = b
		}
	}
	fl.fr.reset(off)
	fl.g.committed = off
}

// findRotated looks in the file's directory for the file the saved state
// describes (renamed by rotation while the agent was not running) and
// returns a one-shot follower for its unread rest.
func (a *Agent) findRotated(cur *follower, saved *offsetState) *follower {
	ents, err := os.ReadDir(filepath.Dir(cur.path))
	if err != nil {
		return nil
	}
	for _, e := range ents {
		p := filepath.Join(filepath.Dir(cur.path), e.Name())
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if dev, ino := fileID(fi); dev == saved.Dev && ino == saved.Ino && fi.Size() >= saved.Offset {
			f, err := os.Open(p)
			if err != nil {
				return nil
			}
			old := a.newFollower(cur.in, cur.path, cur.sh)
			old.f, old.dev, old.ino, old.oneShot = f, dev, ino, true
			old.seek(saved.Offset)
			return old
		}
	}
	return nil
}

// poll reads what is new, noticing rotation and truncation; it reports
// whether it read anything.
func (fl *follower) poll(ctx context.Context, buf []byte) (bool, error) {
	if fl.truncated() {
		fl.flushAll(ctx)
		fl.seek(0)
		fl.a.setOffset(fl.path, offsetState{Dev: fl.dev, Ino: fl.ino, Offset: 0})
	}
	readAny, err := fl.read(ctx, buf)
	if readAny || err != nil {
		return readAny, err
	}
	return fl.atEnd(ctx, buf)
}

// truncated reports whether the open file was cut shorter than off, or
// rewritten so that the bytes before off changed.
func (fl *follower) truncated() bool {
	if fl.off == 0 {
		return false
	}
	fi, err := fl.f.Stat()
	if err != nil {
		return false
	}
	if fi.Size() < fl.off {
		return true
	}
	if fi.ModTime().Equal(fl.checked) || len(fl.tail) == 0 {
		return false
	}
	got := make([]byte, len(fl.tail))
	if _, err := fl.f.ReadAt(got, fl.off-int64(len(got))); err != nil || string(got) != string(fl.tail) {
		return true
	}
	fl.checked = fi.ModTime()
	return false
}

// read reads to the end of the open file.
func (fl *follower) read(ctx context.Context, buf []byte) (bool, error) {
	readAny := false
	for {
		n, err := fl.f.Read(buf)
		if n > 0 {
			readAny = true
			fl.lastData = time.Now()
			if err := fl.consume(ctx, buf[:n]); err != nil {
				return readAny, err
			}
		}
		if err == io.EOF || n == 0 {
			break
		}
		if err != nil {
			return readAny, err
		}
		if n < len(buf) {
			break
		}
	}
	return readAny, nil
}

// atEnd handles the end of the open file: has the name moved on to another
// file, or the file shrunk?
func (fl *follower) atEnd(ctx context.Context, buf []byte) (bool, error) {
	if fl.oneShot {
		fl.finish(ctx)
		return false, nil
	}
	fi, err := os.Stat(fl.path)
	if err == nil {
		if dev, ino := fileID(fi); dev != fl.dev || ino != fl.ino {
			// Renamed away and replaced: read what the writer added to
			// the old file before it let go, then switch.
			if more, err := fl.read(ctx, buf); more || err != nil {
				return more, err
			}
			fl.finish(ctx)
			if err := fl.reopen(); err != nil {
				return false, nil
			}
			fl.gone = false
			return fl.read(ctx, buf)
		}
		if fi.Size() < fl.off {
			// Truncated in place: whatever was partial belonged to the
			// old content.
			fl.flushAll(ctx)
			fl.seek(0)
			fl.a.setOffset(fl.path, offsetState{Dev: fl.dev, Ino: fl.ino, Offset: 0})
			return fl.read(ctx, buf)
		}
	} else if errors.Is(err, os.ErrNotExist) && time.Since(fl.lastData) > 5*fl.a.cfg.PollInterval {
		// Deleted or renamed with no successor yet: it is finished.
		fl.finish(ctx)
		return false, nil
	}
	if fl.g.pending() && time.Since(fl.lastData) >= fl.in.multilineFlush {
		var evs []Event
		fl.g.flush(func(msg string) { evs = fl.a.events(evs, msg) })
		if err := fl.sh.Add(ctx, evs); err != nil {
			return false, err
		}
		fl.saveOffset()
	}
	return false, nil
}

func (fl *follower) consume(ctx context.Context, data []byte) error {
	fl.off += int64(len(data))
	const keep = 64
	if len(data) >= keep {
		fl.tail = append(fl.tail[:0], data[len(data)-keep:]...)
	} else {
		fl.tail = append(fl.tail, data...)
		if len(fl.tail) > keep {
			fl.tail = fl.tail[len(fl.tail)-keep:]
		}
	}
	var evs []Event
	fl.fr.feed(data, func(line string, end int64) {
		fl.g.add(line, end, func(msg string) { evs = fl.a.events(evs, msg) })
	})
	if err := fl.sh.Add(ctx, evs); err != nil {
		return err
	}
	fl.saveOffset()
	return nil
}

func (fl *follower) saveOffset() {
	fl.a.setOffset(fl.path, offsetState{Dev: fl.dev, Ino: fl.ino, Offset: fl.g.committed})
}

// finish ships a final unterminated line and the event being gathered, and
// closes the file.
func (fl *follower) finish(ctx context.Context) {
	fl.flushAll(ctx)
	fl.f.Close()
	fl.gone = true
}

// flushAll ships a final unterminated line and the event being gathered.
func (fl *follower) flushAll(ctx context.Context) {
	var evs []Event
	if line, ok := fl.fr.partial(); ok {
		fl.g.add(line, fl.off, func(msg string) { evs = fl.a.events(evs, msg) })
	}
	fl.g.flush(func(msg string) { evs = fl.a.events(evs, msg) })
	fl.g.committed = fl.off
	if err := fl.sh.Add(ctx, evs); err == nil && !fl.oneShot {
		fl.saveOffset()
	}
}

func (fl *follower) reopen() error {
	f, err := os.Open(fl.path)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	fl.f = f
	fl.dev, fl.ino = fileID(fi)
	fl.seek(0)
	fl.lastData = time.Now()
	fl.a.setOffset(fl.path, offsetState{Dev: fl.dev, Ino: fl.ino, Offset: 0})
	return nil
}

// stop closes the file without shipping a partial line or a half-gathered
// event: the saved offset is before them, so the next run reads them again.
func (fl *follower) stop() {
	if !fl.gone {
		fl.f.Close()
		fl.gone = true
	}
}
