package pattern

import (
	"fmt"
	"unicode/utf8"
)

// SyntaxError reports an invalid filter pattern. Its Error text is meant to
// be sent to clients verbatim as the InvalidParameterException message.
type SyntaxError struct {
	Pos int    // 0-based character (not byte) offset into the pattern
	Msg string // what is wrong, without position
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("Invalid filter pattern: %s at character %d", e.Msg, e.Pos+1)
}

// errAt builds a SyntaxError for the byte offset off of src, converting the
// offset to a character offset so clients see positions they can count.
func errAt(src string, off int, format string, args ...any) *SyntaxError {
	if off > len(src) {
		off = len(src)
	}
	if off < 0 {
		off = 0
	}
	return &SyntaxError{Pos: utf8.RuneCountInString(src[:off]), Msg: fmt.Sprintf(format, args...)}
}

// describe renders the character at off for an error message.
func describe(src string, off int) string {
	if off >= len(src) {
		return "end of pattern"
	}
	r, _ := utf8.DecodeRuneInString(src[off:])
	if r < ' ' || r == utf8.RuneError || r == 0x7f {
		return fmt.Sprintf("%U", r)
	}
	return fmt.Sprintf("'%c'", r)
}
