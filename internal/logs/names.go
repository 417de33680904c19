package logs

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/store"
)

// partition is the ARN partition of a region.
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	}
	return "aws"
}

// GroupARN is a log group's ARN as tagging APIs and identifiers use it
// (`logGroupArn`); the `arn` field of DescribeLogGroups adds ":*".
func GroupARN(s store.Scope, name string) string {
	return fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s", partition(s.Region), s.Region, s.Account, name)
}

// StreamARN is a log stream's ARN, the resource of PutLogEvents and GetLogEvents.
func StreamARN(s store.Scope, group, stream string) string {
	return GroupARN(s, group) + ":log-stream:" + stream
}

// parseGroupARN splits arn:PART:logs:REGION:ACCOUNT:log-group:NAME[:*].
func parseGroupARN(arn string) (scope store.Scope, name string, ok bool) {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || parts[2] != "logs" || parts[5] != "log-group" {
		return scope, "", false
	}
	name = strings.TrimSuffix(parts[6], ":*")
	if name == "" || strings.Contains(name, ":") {
		return scope, "", false
	}
	return store.Scope{Account: parts[4], Region: parts[3]}, name, true
}

// resolveGroup turns a logGroupName / logGroupIdentifier pair into a name in
// the caller's scope. An ARN naming another account or region is not found:
// Cairn keeps each account's groups apart and serves one region per request.
// both builds the refusal of a request that gives both members (its wording
// and code differ by operation); it is a constructor, not an error, so the
// requests that give one member do not build an error they never return.
func resolveGroup(scope store.Scope, name, identifier string, both func() *awserr.Error) (string, error) {
	switch {
	case name != "" && identifier != "":
		return "", both()
	case name != "":
		return name, nil
	case identifier == "":
		return "", awserr.GroupRequired()
	case strings.HasPrefix(identifier, "arn:"):
		s, n, ok := parseGroupARN(identifier)
		if !ok {
			return "", awserr.InvalidGroupIdentifier(identifier)
		}
		if s != scope {
			return "", awserr.GroupNotFound()
		}
		return n, nil
	default:
		return identifier, nil
	}
}

// Pagination tokens are opaque to clients but self-checking: a version and
// kind byte, a payload, and a CRC, in URL-safe base64. A token that fails to
// decode is answered InvalidParameterException "The specified nextToken is
// invalid." A token is never bound to server state, so it can be reused.
const (
	tokenGroups  = 'g'
	tokenStreams = 's'
	tokenFilter  = 'f'
	tokenPage    = 'p' // the families' listings of resource records (family.go)
)

func encodeToken(kind byte, payload []byte) string {
	b := make([]byte, 0, len(payload)+6)
	b = append(b, 1, kind)
	b = append(b, payload...)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeToken accepts only the exact string encodeToken produced: Go's
// base64 decoder skips '\r' and '\n' and, outside Strict mode, ignores
// non-zero trailing bits, so several strings would decode to one token. The
// decoded bytes are re-encoded and compared, which refuses every other
// spelling (line breaks, padding, trailing bits) whatever the decoder allows.
func decodeToken(kind byte, tok string) ([]byte, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(b) < 6 || b[0] != 1 || b[1] != kind || base64.RawURLEncoding.EncodeToString(b) != tok {
		return nil, awserr.InvalidToken()
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)) != sum {
		return nil, awserr.InvalidToken()
	}
	return body[2:], nil
}

func encodePosition(dst []byte, p store.Position) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(p.Time))
	dst = binary.BigEndian.AppendUint64(dst, p.Seq)
	return binary.BigEndian.AppendUint32(dst, p.Index)
}

func decodePosition(b []byte) (store.Position, bool) {
	if len(b) != 20 {
		return store.Position{}, false
	}
	return store.Position{
		Time:  int64(binary.BigEndian.Uint64(b)),
		Seq:   binary.BigEndian.Uint64(b[8:]),
		Index: binary.BigEndian.Uint32(b[16:]),
	}, true
}

// filterToken is FilterLogEvents' nextToken: the direction ('f' or 'b') and
// the Position to continue from.
func filterToken(backward bool, p store.Position) string {
	dir := byte('f')
	if backward {
		dir = 'b'
	}
	return encodeToken(tokenFilter, encodePosition([]byte{dir}, p))
}

func parseFilterToken(tok string) (backward bool, p store.Position, err error) {
	b, err := decodeToken(tokenFilter, tok)
	if err != nil {
		return false, p, err
	}
	p, ok := decodePosition(b[min(1, len(b)):])
	// Only the two letters the direction is written with: any other byte
	// would be a second spelling of the same token.
	if !ok || (b[0] != 'f' && b[0] != 'b') {
		return false, p, awserr.InvalidToken()
	}
	return b[0] == 'b', p, nil
}

// streamsKey is DescribeLogStreams' position: the listing order and the sort
// key (last event time, name) of the last stream returned.
type streamsKey struct {
	byTime, descending bool
	time               int64
	name               string
}

func streamsToken(k streamsKey) string {
	b := []byte{'n', 'a'}
	if k.byTime {
		b[0] = 't'
	}
	if k.descending {
		b[1] = 'd'
	}
	b = beAppend(b, uint64(k.time))
	return encodeToken(tokenStreams, append(b, k.name...))
}

func parseStreamsToken(tok string) (streamsKey, error) {
	b, err := decodeToken(tokenStreams, tok)
	if err != nil {
		return streamsKey{}, err
	}
	if len(b) < 10 || (b[0] != 'n' && b[0] != 't') || (b[1] != 'a' && b[1] != 'd') {
		return streamsKey{}, awserr.InvalidToken()
	}
	return streamsKey{byTime: b[0] == 't', descending: b[1] == 'd', time: int64(beUint64(b[2:10])), name: string(b[10:])}, nil
}

// GetLogEvents tokens look like AWS's: "f/<56 digits>/s" and "b/<56 digits>/s".
// The digits are a Position (see store.Position.ID): a forward token reads
// strictly after it, a backward token strictly before it.
func streamToken(forward bool, p store.Position) string {
	if forward {
		return "f/" + p.ID() + "/s"
	}
	return "b/" + p.ID() + "/s"
}

func parseStreamToken(tok string) (forward bool, p store.Position, err error) {
	rest, ok := strings.CutPrefix(tok, "f/")
	forward = ok
	if !ok {
		if rest, ok = strings.CutPrefix(tok, "b/"); !ok {
			return false, p, awserr.InvalidToken()
		}
	}
	// "/s" is optional: older AWS tokens lack it. ParseID takes exactly 56
	// ASCII digits (no sign, space or other width), so the digits have one
	// spelling per Position.
	rest = strings.TrimSuffix(rest, "/s")
	if p, ok = store.ParseID(rest); !ok {
		return false, p, awserr.InvalidToken()
	}
	return forward, p, nil
}

// sequenceToken renders an arrival sequence as the 56-digit token AWS still
// returns from PutLogEvents (and clients such as Vector feed back, ignored).
func sequenceToken(seq uint64) string {
	return fmt.Sprintf("%056d", seq)
}

func beUint64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func beAppend(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }
