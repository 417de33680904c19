package logs

import (
	"testing"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/store"
)

// FuzzTokens feeds arbitrary strings to every pagination-token parser: each
// either accepts or answers InvalidParameterException "The specified
// nextToken is invalid.", never panics; and a token it accepts is canonical:
// it re-encodes to exactly itself, so no two strings name one position.
// testdata/fuzz/FuzzTokens keeps the inputs that once broke this (a line
// break inside the base64, which Go's decoder skips).
func FuzzTokens(f *testing.F) {
	p := store.Position{Time: 1_700_000_000_000, Seq: 42, Index: 7}
	f.Add(filterToken(false, p))
	f.Add(filterToken(true, p))
	f.Add(encodeToken(tokenGroups, []byte("/app/web")))
	f.Add(streamsToken(streamsKey{byTime: true, descending: true, time: 9, name: "s1"}))
	f.Add(streamsToken(streamsKey{name: "web-1"}))
	f.Add(streamToken(true, p))
	f.Add(streamToken(false, p))
	f.Add("f/00000017000000000000000000000000000000420000000000000007")
	f.Add("b/99999999999999999999999999999999999999999999999999999999/s")
	f.Add("")
	f.Add("AAAA")
	f.Add("AXN0ZAAA\r\nAAAAAAAJczG60_Ee")
	f.Fuzz(func(t *testing.T, tok string) {
		invalid := func(what string, err error) {
			t.Helper()
			if e, ok := awserr.As(err); !ok || e.Code != awserr.InvalidParameter || e.Message != awserr.InvalidToken().Message {
				t.Fatalf("%s(%q) error %v", what, tok, err)
			}
		}
		for _, kind := range []byte{tokenGroups, tokenStreams, tokenFilter} {
			b, err := decodeToken(kind, tok)
			if err != nil {
				invalid("decodeToken", err)
				continue
			}
			if encodeToken(kind, b) != tok {
				t.Fatalf("token %q does not round-trip", tok)
			}
		}
		if back, pos, err := parseFilterToken(tok); err != nil {
			invalid("parseFilterToken", err)
		} else if again := filterToken(back, pos); again != tok {
			t.Fatalf("filter token %q re-encodes as %q", tok, again)
		}
		if k, err := parseStreamsToken(tok); err != nil {
			invalid("parseStreamsToken", err)
		} else if again := streamsToken(k); again != tok {
			t.Fatalf("streams token %q re-encodes as %q", tok, again)
		}
		fwd, pos, err := parseStreamToken(tok)
		if err != nil {
			invalid("parseStreamToken", err)
			return
		}
		// The one second spelling allowed: AWS's older tokens without "/s".
		if again := streamToken(fwd, pos); again != tok && again != tok+"/s" {
			t.Fatalf("stream token %q re-encodes as %q", tok, again)
		}
	})
}
