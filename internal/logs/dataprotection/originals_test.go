package dataprotection

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"testing"

	"github.com/cairnlog/cairn/internal/dataprotect"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// Messages whose originals format 2 must give back byte for byte: several
// findings, overlapping ones (an e-mail address inside a custom match),
// multi-byte runes inside and around a masked range (asterisks count
// runes, so the stored message is shorter than the original there),
// invalid UTF-8, a finding at either end, and a message with none.
var originalCases = []string{
	"user bob@example.com from 10.1.2.3 paid 4111 1111 1111 1111",
	"ticket=ZZ-bob@example.com-ZZ end",
	"naïve ünïcödé@exämple.com résumé 10.0.0.1",
	"tok=ZZ-\xff\xfe-ZZ trailing \xff",
	"10.9.8.7",
	"nothing to see here",
	"AKIAIOSFODNN7EXAMPLE",
	"",
}

func originalsMasker(t testing.TB) *dataprotect.Masker {
	t.Helper()
	p, err := dataprotect.Parse(`{"Name":"p","Version":"2021-06-01","Configuration":{"CustomDataIdentifier":[{"Name":"Ticket","Regex":"ZZ-[^ ]*-ZZ"}]},` +
		`"Statement":[{"Sid":"a","DataIdentifier":["Ticket","arn:aws:dataprotection::aws:data-identifier/EmailAddress",` +
		`"arn:aws:dataprotection::aws:data-identifier/IpAddress","arn:aws:dataprotection::aws:data-identifier/CreditCardNumber",` +
		`"arn:aws:dataprotection::aws:data-identifier/AwsAccessKeyId"],"Operation":{"Audit":{"FindingsDestination":{}}}},` +
		`{"Sid":"d","DataIdentifier":["Ticket","arn:aws:dataprotection::aws:data-identifier/EmailAddress",` +
		`"arn:aws:dataprotection::aws:data-identifier/IpAddress","arn:aws:dataprotection::aws:data-identifier/CreditCardNumber",` +
		`"arn:aws:dataprotection::aws:data-identifier/AwsAccessKeyId"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	return dataprotect.Compile(p)
}

// TestOriginalSpans: the format-2 record (only the masked ranges) gives
// back each original exactly from the stored message, and a stored message
// that is not the one the record was kept for is refused, not spliced.
func TestOriginalSpans(t *testing.T) {
	m := originalsMasker(t)
	var o originals
	var sc dataprotect.Scratch
	stored := map[uint32]string{}
	whole := 0 // bytes of the masked messages (what format 1 kept)
	for i, msg := range originalCases {
		buf, ok, _ := m.AppendMasked(nil, &sc, msg, false)
		if !ok {
			continue
		}
		o.add(i, msg, sc.Masked())
		stored[uint32(i)] = string(buf)
		whole += len(msg)
	}
	if o.n != 6 {
		t.Fatalf("%d messages masked, want 6", o.n)
	}
	k, err := decodeOriginals(append([]byte(formatSpans), o.enc...))
	if err != nil {
		t.Fatal(err)
	}
	for i, msg := range originalCases {
		got, ok := k.original(uint32(i), stored[uint32(i)])
		if _, masked := stored[uint32(i)]; ok != masked || masked && got != msg {
			t.Errorf("case %d: original %q, %v; want %q, %v", i, got, ok, msg, masked)
		}
	}
	if got, ok := k.original(0, "user bob@example.com from 10.1.2.3 paid 4111 1111 1111 1111"); ok {
		t.Errorf("spliced into a message without the asterisks: %q", got)
	}
	if len(o.enc) >= whole {
		t.Errorf("format 2 holds %d bytes, the whole messages %d", len(o.enc), whole)
	}
}

// TestFormat1StillRead: a record written before format 2 (whole originals,
// sealed as the earlier code sealed them, encoded here by hand) is read
// back through Unmask and Originals.
func TestFormat1StillRead(t *testing.T) {
	ctx := context.Background()
	e, err := embedded.Open(embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	scope := store.Scope{Account: "123456789012", Region: "us-east-1"}
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g", CreationTime: 1}); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Store: e, Key: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	const seq = 7
	var plain []byte
	for _, x := range []struct {
		i   uint64
		msg string
	}{{0, "from 10.1.2.3"}, {2, "mail ünï@example.com"}, {300, "x"}} {
		plain = binary.AppendUvarint(plain, x.i)
		plain = binary.AppendUvarint(plain, uint64(len(x.msg)))
		plain = append(plain, x.msg...)
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	if err := e.PutResource(ctx, originalsKey(scope, "g", seq), s.aead.Seal(nonce, nonce, plain, aad(scope, "g", seq))); err != nil {
		t.Fatal(err)
	}
	evs := []store.StoredEvent{
		{Message: "from ********", Pos: store.Position{Seq: seq, Index: 0}},
		{Message: "untouched", Pos: store.Position{Seq: seq, Index: 1}},
		{Message: "mail ***************", Pos: store.Position{Seq: seq, Index: 2}},
		{Message: "*", Pos: store.Position{Seq: seq, Index: 300}},
	}
	if err := s.Unmask(ctx, scope, "g", evs); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"from 10.1.2.3", "untouched", "mail ünï@example.com", "x"} {
		if evs[i].Message != want {
			t.Errorf("event %d: %q, want %q", i, evs[i].Message, want)
		}
	}
	get, err := s.Originals(ctx, scope, "g", seq)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := get(2, "mail ***************"); !ok || got != "mail ünï@example.com" {
		t.Errorf("Originals: %q, %v", got, ok)
	}
	if _, ok := get(1, "untouched"); ok {
		t.Error("Originals: an original for an event that was not masked")
	}
}

// FuzzOriginalsRecord: any plaintext (either format, damaged or not) gives
// an error or originals, and splicing any stored message with them gives
// an original or false, never a panic.
func FuzzOriginalsRecord(f *testing.F) {
	m := originalsMasker(f)
	var o originals
	var sc dataprotect.Scratch
	for i, msg := range originalCases {
		if _, ok, _ := m.AppendMasked(nil, &sc, msg, false); ok {
			o.add(i, msg, sc.Masked())
		}
	}
	f.Add(append([]byte(formatSpans), o.enc...), "user ****************")
	f.Add([]byte{0, 3, 'a', 'b', 'c'}, "***")
	f.Fuzz(func(t *testing.T, plain []byte, stored string) {
		k, err := decodeOriginals(plain)
		if err != nil {
			return
		}
		for i := range k.m {
			k.original(i, stored)
		}
	})
}
