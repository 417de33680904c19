package delivery

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/store"
)

// gunzipStd decodes with the standard library's reader (independent of
// klauspost's writer and of the joiner), which checks the trailer's CRC-32
// and length; a payload must be exactly one member.
func gunzipStd(t testing.TB, gz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	if rest, _ := io.ReadAll(zr); len(rest) != 0 {
		t.Fatal("bytes after the member")
	}
	return out
}

// lookTool is a decoder the test needs: missing is a failure, not a skip
// (scripts/test.sh's image has both).
func lookTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed to decode payloads independently: %v", name, err)
	}
	return p
}

// sharedPage is a feed page of blocks (each of one stream, 1,000 standard
// lines, and messages that need escaping) and the records a group's second
// match-all follower builds from it, with the first follower's encodings.
func sharedPage(t testing.TB, blocks, streams int) []*Record {
	g := bench.NewLineGen(7)
	var page []store.StoredEvent
	odd := []string{`a "quoted" \ word`, "tab\there\nnewline", "ünïcödé \u2028 line", "\x00\x1f ctl", ""}
	for blk := 0; blk < blocks; blk++ {
		for i := 0; i < 1000; i++ {
			p := store.Position{Time: 1764600000000 + int64(blk*1000+i)/7, Seq: uint64(100 + blk), Index: uint32(i)}
			msg := g.Line()
			if i%97 == 0 {
				msg = odd[(i/97)%len(odd)]
			}
			page = append(page, store.StoredEvent{Stream: fmt.Sprint("s-", blk%streams), Timestamp: p.Time, IngestionTime: p.Time, Message: msg, Pos: p})
		}
	}
	m := &Manager{byGroup: map[groupKey][]*follower{}}
	first := &follower{m: m, f: Filter{Name: "first", Group: "g"}}
	second := &follower{m: m, f: Filter{Name: "second \"one\"", Group: "g"}}
	m.byGroup[groupKey{group: "g"}] = []*follower{first, second}
	first.build(page)
	return second.build(page)
}

// eventJSON is the record's JSON encoded event by event, without the
// shared blocks: what the joined payload must decode to.
func eventJSON(r *Record) []byte {
	c := *r
	c.pieces, c.json, c.spareJSON = nil, nil, nil
	c.Events = append([]Event(nil), c.events()...) // a lean record's made from its page (on the copy)
	for i := range c.Events {
		c.Events[i].encoded = nil
	}
	return c.JSON()
}

// TestJoinedGzipDecoders: a payload joined from a head in a stored block,
// blocks deflated apart and shared between filters, and a final stored
// tail is one ordinary gzip member: Go's reader, Python's gzip.decompress,
// zlib.decompress with wbits 31 and a decompressobj with 16+15, and
// Node's zlib.gunzipSync all decode it to the same JSON as the record
// encoded event by event (compared by SHA-256), at levels 0, 1, 6 and 9,
// for records of one block, of several blocks, and of parts of blocks.
func TestJoinedGzipDecoders(t *testing.T) {
	python := lookTool(t, "python3")
	node := lookTool(t, "node")
	var recs []*Record
	for _, r := range sharedPage(t, 6, 2) { // records of 3 whole blocks each
		if len(r.pieces) != 3 {
			t.Fatalf("a record of 3 blocks has %d pieces", len(r.pieces))
		}
		recs = append(recs, r)
	}
	one := sharedPage(t, 1, 1)[0]
	recs = append(recs, one)
	// Parts of blocks: runs that start or end inside a block, and a run of
	// a single event.
	blk := one.pieces[0].blk
	part := &Record{Owner: "000000000000", Group: "g", Stream: "s-0", Filters: []string{"x"},
		pieces: []piece{{blk, 3, 500}, {blk, 500, 501}, {blk, 900, 1000}}}
	for _, p := range part.pieces {
		for i := p.from; i < p.to; i++ {
			part.Events = append(part.Events, one.Events[i])
		}
	}
	recs = append(recs, part)

	dir := t.TempDir()
	var files, want []string
	for _, lvl := range []int{0, 1, 6, 9} {
		pool := &gzipPool{level: lvl}
		for i, r := range recs {
			c := *r
			c.gz, c.json = nil, nil
			gz := c.gzip(pool)
			exp := eventJSON(r)
			if got := c.JSON(); !bytes.Equal(got, exp) {
				t.Fatalf("level %d record %d: the JSON of the pieces differs from the events'", lvl, i)
			}
			if got := gunzipStd(t, gz); !bytes.Equal(got, exp) {
				t.Fatalf("level %d record %d: Go decodes %d bytes, want %d", lvl, i, len(got), len(exp))
			}
			f := filepath.Join(dir, fmt.Sprintf("p%d-%d.gz", lvl, i))
			if err := os.WriteFile(f, gz, 0o600); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(exp)
			files, want = append(files, f), append(want, hex.EncodeToString(sum[:]))
		}
	}
	py := `import gzip, zlib, hashlib, sys
for f in sys.argv[1:]:
    b = open(f, 'rb').read()
    d = zlib.decompressobj(16 + 15)
    o = d.decompress(b) + d.flush()
    assert d.eof and not d.unused_data, f
    outs = [gzip.decompress(b), zlib.decompress(b, 31), o]
    print(' '.join(hashlib.sha256(x).hexdigest() for x in outs))
`
	out, err := exec.Command(python, append([]string{"-c", py}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(files) {
		t.Fatalf("python decoded %d payloads of %d:\n%s", len(lines), len(files), out)
	}
	for i, l := range lines {
		if l != strings.Repeat(want[i]+" ", 2)+want[i] {
			t.Fatalf("python decodes %s to %s, want %s", files[i], l, want[i])
		}
	}
	js := `const zlib = require('zlib'), crypto = require('crypto'), fs = require('fs');
for (const f of process.argv.slice(1)) console.log(crypto.createHash('sha256').update(zlib.gunzipSync(fs.readFileSync(f))).digest('hex'));`
	out, err = exec.Command(node, append([]string{"-e", js}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	lines = strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(files) {
		t.Fatalf("node decoded %d payloads of %d:\n%s", len(lines), len(files), out)
	}
	for i, l := range lines {
		if l != want[i] {
			t.Fatalf("node decodes %s to %s, want %s", files[i], l, want[i])
		}
	}
}

// TestSharedSegmentOnce: the second gzip filter of a group joins the
// segment the first deflated (the same bytes, not compressed again), and
// its payload still names its own filter.
func TestSharedSegmentOnce(t *testing.T) {
	r := sharedPage(t, 1, 1)[0]
	pool := &gzipPool{level: 1}
	a, b := *r, *r
	b.Filters = []string{"other"}
	ga, gb := a.gzip(pool), b.gzip(pool)
	blk := r.pieces[0].blk
	seg := blk.seg[1-1]
	if seg == nil || !bytes.Contains(ga, seg.data) || !bytes.Contains(gb, seg.data) {
		t.Fatal("the block's segment was not kept, or a payload does not hold it")
	}
	if !bytes.Contains(gunzipStd(t, gb), []byte(`"subscriptionFilters":["other"]`)) || bytes.Contains(gunzipStd(t, ga), []byte(`"other"`)) {
		t.Fatal("a payload names the other filter")
	}
}

// TestCRC32Combine: joined CRCs equal the CRC of the concatenation, over
// hand-picked and random lengths, empty parts included.
func TestCRC32Combine(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, n := range []int{0, 1, 2, 3, 7, 8, 9, 255, 256, 4096, 65535, 65536, 1 << 20} {
		for _, k := range []int{0, 1, n / 2, n} {
			if k > n {
				continue
			}
			p := make([]byte, n)
			rng.Read(p)
			got := crc32Combine(crc32.ChecksumIEEE(p[:k]), crc32.ChecksumIEEE(p[k:]), n-k)
			if want := crc32.ChecksumIEEE(p); got != want {
				t.Fatalf("n %d split %d: %08x, want %08x", n, k, got, want)
			}
		}
	}
}

// FuzzJoinedGzip: any plaintext, cut anywhere into parts each stored or
// deflated apart at any level, joins into one member Go's reader decodes
// back to the plaintext, trailer checked.
func FuzzJoinedGzip(f *testing.F) {
	f.Add([]byte(`{"a":1}`), []byte{3, 9, 200})
	f.Add(bytes.Repeat([]byte("abcabcabc "), 9000), []byte{0, 1, 255, 128, 64, 7})
	f.Add([]byte{}, []byte{})
	var pools [10]gzipPool // kept between inputs, as a sink keeps them
	for lvl := range pools {
		pools[lvl].level = lvl
	}
	f.Fuzz(func(t *testing.T, plain, cuts []byte) {
		// Past the stored blocks' 65,535, and up to 64 parts (each a
		// compressor's reset): more only slows the search.
		if len(plain) > 100_000 || len(cuts) > 64 {
			return
		}
		j := gzipJoiner{dst: []byte(gzipHeader)}
		rest := plain
		for i, c := range cuts {
			if len(rest) == 0 {
				break
			}
			n := min(len(rest), int(c)*16) // up to 4 KB, and past a stored block's 65,535 at 255
			if c == 255 {
				n = min(len(rest), 70000)
			}
			part := rest[:n]
			rest = rest[n:]
			switch lvl := int(c)%11 - 1; {
			case lvl == -1 || i%5 == 4:
				j.stored(part)
			default:
				j.segment(deflateSpan(&pools[lvl], part, nil))
			}
		}
		gz := j.finish(rest)
		if got := gunzipStd(t, gz); !bytes.Equal(got, plain) {
			t.Fatalf("decoded %d bytes, want %d", len(got), len(plain))
		}
	})
}
