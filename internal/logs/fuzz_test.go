package logs

import (
	"testing"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/store"
)

// FuzzTokens feeds arbitrary strings to every pagination-token decoder: each
// either decodes or answers InvalidParameterException, never panics; and a
// token it accepts re-encodes to itself.
func FuzzTokens(f *testing.F) {
	p := store.Position{Time: 1_700_000_000_000, Seq: 42, Index: 7}
	f.Add(encodeToken(tokenFilter, encodePosition([]byte{'f'}, p)))
	f.Add(encodeToken(tokenGroups, []byte("/app/web")))
	f.Add(encodeToken(tokenStreams, append([]byte{'t', 'd', 0, 0, 0, 0, 0, 0, 0, 9}, "s1"...)))
	f.Add(streamToken(true, p))
	f.Add(streamToken(false, p))
	f.Add("f/00000017000000000000000000000000000000420000000000000007")
	f.Add("b/99999999999999999999999999999999999999999999999999999999/s")
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		for _, kind := range []byte{tokenGroups, tokenStreams, tokenFilter} {
			b, err := decodeToken(kind, tok)
			if err != nil {
				if !awserr.Is(err, awserr.InvalidParameter) {
					t.Fatalf("decodeToken error %v", err)
				}
				continue
			}
			if encodeToken(kind, b) != tok {
				t.Fatalf("token %q does not round-trip", tok)
			}
			if kind == tokenFilter && len(b) == 21 {
				decodePosition(b[1:])
			}
		}
		fwd, pos, err := parseStreamToken(tok)
		if err != nil {
			if !awserr.Is(err, awserr.InvalidParameter) {
				t.Fatalf("parseStreamToken error %v", err)
			}
			return
		}
		if again := streamToken(fwd, pos); again != tok && again != tok+"/s" {
			t.Fatalf("stream token %q re-encodes as %q", tok, again)
		}
	})
}
