package dataprotection

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/dataprotect"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/policygate"
	"github.com/cairnlog/cairn/internal/store"
)

// originals is the plaintext of one originals record. Format 2 (written
// since session 5) keeps only what was masked: after the two bytes
// formatSpans, for each masked event (uvarint index within the append,
// uvarint count of masked ranges, then per range: uvarint bytes of
// unmasked text since the previous range, uvarint length, the original
// bytes). The stored message holds as many asterisks as each range has
// runes, so the original is rebuilt byte for byte from it (spliceOriginal).
// Format 1 (earlier records, still read) is a sequence of (uvarint index,
// uvarint length, the whole original message). Format 1 never starts with
// formatSpans: its encoder wrote canonical uvarints, and 0x80 0x00 is a
// non-canonical encoding of 0.
type originals struct {
	n   int    // masked events
	enc []byte // the events' entries of format 2
}

const formatSpans = "\x80\x00"

// add appends the entry of the event at index i of the append, whose
// message msg had the ranges segs masked.
func (o *originals) add(i int, msg string, segs [][2]int) {
	o.n++
	o.enc = binary.AppendUvarint(o.enc, uint64(i))
	o.enc = binary.AppendUvarint(o.enc, uint64(len(segs)))
	pos := 0
	for _, g := range segs {
		o.enc = binary.AppendUvarint(o.enc, uint64(g[0]-pos))
		o.enc = binary.AppendUvarint(o.enc, uint64(g[1]-g[0]))
		o.enc = append(o.enc, msg[g[0]:g[1]]...)
		pos = g[1]
	}
}

// kept is one append's decoded originals: by event index, the whole
// original (format 1) or the event's ranges as encoded (format 2).
type kept struct {
	spans bool
	m     map[uint32]string
}

// original returns the original of the event at index i whose stored
// (masked) message is masked, false when it has none kept.
func (k kept) original(i uint32, masked string) (string, bool) {
	v, ok := k.m[i]
	if !ok || !k.spans {
		return v, ok
	}
	orig, err := spliceOriginal(masked, v)
	if err != nil {
		return "", false
	}
	return orig, true
}

var errMalformed = errors.New("dataprotection: originals record is malformed")

// spliceOriginal rebuilds an original from its stored message and its
// format-2 ranges (after the index): each range's asterisks replaced by the
// original bytes.
func spliceOriginal(masked, b string) (string, error) {
	nseg, n := uvarintString(b)
	if n <= 0 || nseg > uint64(len(b)) {
		return "", errMalformed
	}
	b = b[n:]
	out := make([]byte, 0, len(masked)+len(b))
	pos := 0
	for range nseg {
		gap, n := uvarintString(b)
		if n <= 0 || gap > uint64(len(masked)-pos) {
			return "", errMalformed
		}
		b = b[n:]
		l, n := uvarintString(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return "", errMalformed
		}
		orig := b[n : n+int(l)]
		b = b[n+int(l):]
		out = append(out, masked[pos:pos+int(gap)]...)
		pos += int(gap)
		stars := utf8.RuneCountInString(orig)
		if stars > len(masked)-pos || strings.Count(masked[pos:pos+stars], "*") != stars {
			return "", errMalformed // not the message this record was kept for
		}
		out = append(out, orig...)
		pos += stars
	}
	if len(b) != 0 {
		return "", errMalformed
	}
	return string(append(out, masked[pos:]...)), nil
}

func uvarintString(s string) (uint64, int) {
	var x uint64
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, -1
			}
			return x | uint64(c)<<(7*i), i + 1
		}
		x |= uint64(c&0x7f) << (7 * i)
	}
	return 0, 0
}

// decodeOriginals reads a record's plaintext of either format.
func decodeOriginals(b []byte) (kept, error) {
	k := kept{m: map[uint32]string{}}
	if len(b) >= len(formatSpans) && string(b[:len(formatSpans)]) == formatSpans {
		k.spans = true
		s := string(b[len(formatSpans):])
		for len(s) > 0 {
			idx, n := uvarintString(s)
			if n <= 0 || idx > 1<<32-1 {
				return kept{}, errMalformed
			}
			s = s[n:]
			// The entry's length: walk its ranges.
			nseg, n := uvarintString(s)
			if n <= 0 || nseg > uint64(len(s)) {
				return kept{}, errMalformed
			}
			e := n
			for range nseg {
				_, n := uvarintString(s[e:])
				if n <= 0 {
					return kept{}, errMalformed
				}
				e += n
				l, n := uvarintString(s[e:])
				if n <= 0 || l > uint64(len(s)-e-n) {
					return kept{}, errMalformed
				}
				e += n + int(l)
			}
			k.m[uint32(idx)] = s[:e]
			s = s[e:]
		}
		return k, nil
	}
	for len(b) > 0 {
		idx, n := binary.Uvarint(b)
		if n <= 0 || idx > 1<<32-1 {
			return kept{}, errMalformed
		}
		b = b[n:]
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return kept{}, errMalformed
		}
		b = b[n:]
		k.m[uint32(idx)] = string(b[:l])
		b = b[l:]
	}
	return k, nil
}

// Ingest masks the batch in place (logs.IngestStage). Run it last among the
// stages, so that what it keeps as the original is what would otherwise
// have been stored.
func (s *Service) Ingest(ctx context.Context, _ caller.Caller, b *logs.IngestBatch) error {
	cp, err := s.effective(ctx, b.Group)
	if err != nil || cp == nil || cp.masker.Empty() {
		return err
	}
	// The masked messages are written one after another into one buffer
	// (made one string at the end, which they slice): a batch costs a few
	// allocations, not three a masked event. Detections are worked out
	// only for a policy that writes findings (audit reads nothing else).
	var orig originals
	var idx []int
	var dets [][]dataprotect.Detection
	var sc dataprotect.Scratch
	var buf []byte
	var ends []int
	for i := range b.Events {
		msg := b.Events[i].Message
		if buf == nil {
			// A first guess of the masked messages' size: half the
			// batch's (grown as needed).
			n := 0
			for _, e := range b.Events[i:] {
				n += len(e.Message)
			}
			buf = make([]byte, 0, n/2+len(msg))
		}
		var ok bool
		var d []dataprotect.Detection
		if buf, ok, d = cp.masker.AppendMasked(buf, &sc, msg, cp.audits); !ok {
			continue
		}
		orig.add(i, msg, sc.Masked())
		idx = append(idx, i)
		ends = append(ends, len(buf))
		if cp.audits {
			dets = append(dets, d)
		}
	}
	if orig.n == 0 {
		return nil
	}
	// b.Events may be the caller's own slice (PutLogEvents stores its
	// decoded input without a copy), which a caller may send again: the
	// masked messages go into a copy, or a retry (logs.Put's, after it
	// created a missing stream) would bring the masked text as its
	// "originals".
	b.Events = slices.Clone(b.Events)
	// buf is never written again: the events' messages slice it without
	// a copy of the batch's masked text.
	all, start := unsafe.String(unsafe.SliceData(buf), len(buf)), 0
	for k, i := range idx {
		b.Events[i].Message = all[start:ends[k]]
		start = ends[k]
	}
	scope, group := b.Scope, b.Group.Name
	// The expiry sweeper is told of the group before its first originals
	// are stored (once a process: a no-op after), so none outlives its
	// events unswept; the originals go with the events, in the same commit
	// where the engine can.
	if err := s.expiry.Note(ctx, scope, group); err != nil {
		return err
	}
	b.WithRecords(func(seq uint64) ([]store.ResourceRecord, error) {
		sealed, err := s.seal(scope, group, seq, orig)
		if err != nil {
			return nil, err
		}
		return []store.ResourceRecord{{Key: originalsKey(scope, group, seq), Value: sealed}}, nil
	})
	if cp.audits {
		b.AfterStore(func(ctx context.Context, res store.AppendResult) error {
			return s.audit(ctx, scope, group, cp.policies, dets)
		})
	}
	return nil
}

func originalsKey(scope store.Scope, group string, seq uint64) store.ResourceKey {
	return store.ResourceKey{Scope: scope, Group: group, Kind: originalsKind, Name: fmt.Sprintf("%020d", seq)}
}

// aad binds a record to its place: a record copied to another group or
// sequence does not decrypt.
func aad(scope store.Scope, group string, seq uint64) []byte {
	return fmt.Appendf(nil, "%s\x00%s\x00%s\x00%d", scope.Account, scope.Region, group, seq)
}

// seal returns the originals record of the append at seq: nonce ‖
// AES-256-GCM of the format-2 plaintext, bound to its place by aad.
func (s *Service) seal(scope store.Scope, group string, seq uint64, o originals) ([]byte, error) {
	// The plaintext is encoded right after the nonce and sealed in place
	// (the ciphertext starts exactly where the plaintext does, which Seal
	// allows), so the originals are copied once.
	ns := s.aead.NonceSize()
	buf := make([]byte, ns, ns+len(formatSpans)+len(o.enc)+s.aead.Overhead())
	buf = append(append(buf, formatSpans...), o.enc...)
	nonce := buf[:ns]
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, buf[ns:], aad(scope, group, seq)), nil
}

// Unmask swaps the kept originals into events of group (logs.Unmasker;
// Insights' unmask() calls it too). The caller has been allowed
// logs:Unmask; events without a kept original are left as they are.
func (s *Service) Unmask(ctx context.Context, scope store.Scope, group string, events []store.StoredEvent) error {
	bySeq := map[uint64]kept{}
	for i := range events {
		seq := events[i].Pos.Seq
		m, seen := bySeq[seq]
		if !seen {
			var err error
			if m, err = s.load(ctx, scope, group, seq); err != nil {
				return err
			}
			bySeq[seq] = m
		}
		if orig, ok := m.original(events[i].Pos.Index, events[i].Message); ok {
			events[i].Message = orig
		}
	}
	return nil
}

// Originals reads and decrypts the originals of the masked events of the
// append at feed sequence seq of group, and returns what gives an event's
// original from its Pos.Index and stored message (false: none kept):
// Insights' unmask reads them (insights.Config.Originals). The caller has
// been allowed logs:Unmask.
func (s *Service) Originals(ctx context.Context, scope store.Scope, group string, seq uint64) (func(index uint32, stored string) (string, bool), error) {
	k, err := s.load(ctx, scope, group, seq)
	if err != nil {
		return nil, err
	}
	return k.original, nil
}

// load reads and decrypts one append's originals (none when it has none).
func (s *Service) load(ctx context.Context, scope store.Scope, group string, seq uint64) (kept, error) {
	v, err := s.st.GetResource(ctx, originalsKey(scope, group, seq))
	if errors.Is(err, store.ErrResourceNotFound) || errors.Is(err, store.ErrGroupNotFound) {
		return kept{}, nil
	}
	if err != nil {
		return kept{}, err
	}
	n := s.aead.NonceSize()
	if len(v) < n {
		return kept{}, errors.New("dataprotection: originals record too short")
	}
	plain, err := s.aead.Open(nil, v[:n], v[n:], aad(scope, group, seq))
	if err != nil {
		// Another key (a data directory restored without its unmask.key):
		// the originals are lost; the masked events remain.
		return kept{}, errors.New("dataprotection: originals record does not decrypt with this server's key")
	}
	return decodeOriginals(plain)
}

// finding is AWS's audit findings record (mask-sensitive-log-data-audit-findings).
type finding struct {
	AuditTimestamp  string              `json:"auditTimestamp"`
	ResourceArn     string              `json:"resourceArn"`
	DataIdentifiers []findingIdentifier `json:"dataIdentifiers"`
}

type findingIdentifier struct {
	Name       string      `json:"name"`
	Count      int         `json:"count"`
	Detections []detection `json:"detections"`
}

type detection struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// audit writes, for each policy with a CloudWatchLogs destination, one
// findings record per event with findings of that policy's identifiers.
// The records go straight to the engine (not through PutLogEvents): they
// hold offsets, never data, and must not be masked or audited in turn.
func (s *Service) audit(ctx context.Context, scope store.Scope, group string, policies []*dataprotect.Policy, dets [][]dataprotect.Detection) error {
	now := s.now()
	stamp := now.UTC().Format(time.RFC3339)
	arn := logs.GroupARN(scope, group) + ":*" // AWS reports the group ARN with ":*"
	for _, p := range policies {
		if p.FindingsLogGroup == "" {
			continue
		}
		var evs []store.Event
		for _, ds := range dets {
			f := finding{AuditTimestamp: stamp, ResourceArn: arn}
			for _, d := range ds {
				if !slices.Contains(p.Identifiers, d.Identifier) {
					continue
				}
				k := slices.IndexFunc(f.DataIdentifiers, func(fi findingIdentifier) bool { return fi.Name == d.Identifier })
				if k < 0 {
					f.DataIdentifiers = append(f.DataIdentifiers, findingIdentifier{Name: d.Identifier})
					k = len(f.DataIdentifiers) - 1
				}
				f.DataIdentifiers[k].Count++
				f.DataIdentifiers[k].Detections = append(f.DataIdentifiers[k].Detections, detection{d.Start, d.End})
			}
			if len(f.DataIdentifiers) == 0 {
				continue
			}
			msg, err := json.Marshal(f)
			if err != nil {
				return err
			}
			evs = append(evs, store.Event{Timestamp: now.UnixMilli(), Message: string(msg)})
		}
		if len(evs) == 0 {
			continue
		}
		if err := s.writeFindings(ctx, scope, group, p.FindingsLogGroup, evs, now.UnixMilli()); err != nil {
			return err
		}
	}
	return nil
}

// AccountPolicyStored is what PutAccountPolicy runs once a
// DATA_PROTECTION_POLICY is stored (accountpolicy.Config.Stored): the
// findings destination's resource policy is added as for a group's policy
// (PutDataProtectionPolicy), so that the findings of every group the
// account policy covers can be written.
func (s *Service) AccountPolicyStored(ctx context.Context, c caller.Caller, doc string) {
	if p, err := dataprotect.Parse(doc); err == nil && p.FindingsLogGroup != "" {
		s.ensureFindingsPolicy(ctx, c, p.FindingsLogGroup)
	}
}

// ensureFindingsPolicy adds the findings destination's resource policy at
// configuration time, as AWS's delivery infrastructure does (Config.Enforcer).
func (s *Service) ensureFindingsPolicy(ctx context.Context, c caller.Caller, group string) {
	if s.enforce != nil {
		s.enforce.EnsureDelivery(ctx, c, group, "findings")
	}
}

// writeFindings writes the findings of events of source into group.
func (s *Service) writeFindings(ctx context.Context, scope store.Scope, source, group string, evs []store.Event, now int64) error {
	if s.enforce != nil {
		p := policygate.DeliveryWriter(scope, "findings")
		p.SourceArn = logs.GroupARN(scope, source)
		// Both actions every time: the stream is created (or found) on
		// each write, as the documented policy grants both.
		for _, a := range []string{"logs:CreateLogStream", "logs:PutLogEvents"} {
			if s.enforce.Check(ctx, scope, p, a, logs.StreamARN(scope, group, FindingsStream)) != nil {
				return nil // counted and warned about by the enforcer; the ingest stands
			}
		}
	}
	err := s.st.CreateStream(ctx, scope, group, store.Stream{Name: FindingsStream, CreationTime: now})
	if err != nil && !errors.Is(err, store.ErrStreamExists) {
		if errors.Is(err, store.ErrGroupNotFound) {
			// The destination was deleted after the policy was put: the
			// findings have nowhere to go. Failing the writer's request
			// would only make it retry forever.
			s.log.Warn("data protection findings destination does not exist; findings dropped", "destination", group)
			return nil
		}
		return err
	}
	_, err = s.st.Append(ctx, scope, group, FindingsStream, evs, now)
	if errors.Is(err, store.ErrGroupNotFound) {
		return nil
	}
	return err
}
