package embedded

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// fatalError is what Pebble's Fatalf raises: a storage failure after which
// the database must not be used.
type fatalError struct{ msg string }

func (f *fatalError) Error() string { return "storage failed: " + f.msg }

// errFailed wraps every error returned after a storage failure.
var errFailed = errors.New("storage failed")

func (e *Engine) fatal(msg string) *fatalError {
	f := &fatalError{msg: msg}
	e.failOnce.Do(func() {
		e.failed.Store(f)
		e.log.Error("storage failed; refusing all operations until restart", "err", msg)
		if e.cfg.OnFatal != nil {
			e.cfg.OnFatal(f)
		}
	})
	return f
}

// recoverFatal turns the panic Pebble's Fatalf raised (see pebbleLogger)
// into an error for the caller; other panics continue.
func recoverFatal(err *error) {
	if p := recover(); p != nil {
		f, ok := p.(*fatalError)
		if !ok {
			panic(p)
		}
		*err = fmt.Errorf("%w: %s", errFailed, f.msg)
	}
}

// workerPanic is what a panic in one of the engine's own worker goroutines
// (a scan's or a read's block decoders) becomes for the call that owns the
// worker: a storage failure as recoverFatal makes it, anything else a BUG,
// logged with its stack. No recover of the caller's can see a panic on
// another goroutine, so without this one bad block would end the process
// (as a merged block's gap did, TestScanMergedGap) instead of failing one
// request.
func (e *Engine) workerPanic(p any) error {
	if f, ok := p.(*fatalError); ok {
		return fmt.Errorf("%w: %s", errFailed, f.msg)
	}
	e.log.Error("BUG: a block decoder panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	return fmt.Errorf("BUG: decoding a block failed: %v", p)
}

// pebbleLogger routes Pebble's log to slog. Pebble calls Fatalf when the
// database cannot go on (a WAL write or sync failed) and expects it not to
// return: it marks the engine failed and panics with a *fatalError, which
// recoverFatal turns back into an error where the engine called Pebble. In
// Pebble's own background goroutines the panic ends the process: fail-stop.
type pebbleLogger struct{ e *Engine }

func (p pebbleLogger) Infof(format string, args ...any) { p.e.log.Debug(fmt.Sprintf(format, args...)) }
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.e.log.Error(fmt.Sprintf(format, args...))
}
func (p pebbleLogger) Fatalf(format string, args ...any) {
	panic(p.e.fatal(fmt.Sprintf(format, args...)))
}
