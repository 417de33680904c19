package insights

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"sort"
	"strconv"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/store"
)

// @ptr is an opaque pointer to one stored event: AWS's is base64 of a
// protobuf naming the account, group and event; clients treat it as opaque
// (reference insights.md §6.2). Cairn's names the group, the stream and the
// event's Position, and ends with an HMAC-SHA256 tag (truncated to 12 bytes)
// keyed by a random secret kept per account and region as a store resource
// record. A pointer that was altered, or that comes from another account,
// fails the tag and GetLogRecord refuses it before reading anything; one
// that passes still needs logs:GetLogRecord on the group it names.
const (
	pointerVersion = 1
	pointerTagLen  = 12
	pointerKeyKind = "insightsPointerKey"
	pointerKeyName = "v1"
	pointerKeyLen  = 32
	maxPointer     = 4096 // longer than any pointer Cairn issues
)

// pointerKey returns scope's pointer key, created on first use.
func (s *Service) pointerKey(ctx context.Context, scope store.Scope) ([]byte, error) {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	if k, ok := s.keys[scope]; ok {
		return k, nil
	}
	rk := store.ResourceKey{Scope: scope, Kind: pointerKeyKind, Name: pointerKeyName}
	k, err := s.st.GetResource(ctx, rk)
	switch {
	case errors.Is(err, store.ErrResourceNotFound):
		k = make([]byte, pointerKeyLen)
		if _, err := rand.Read(k); err != nil {
			return nil, err
		}
		if err := s.st.PutResource(ctx, rk, k); err != nil {
			return nil, logs.StoreError(err)
		}
	case err != nil:
		return nil, logs.StoreError(err)
	}
	if len(k) != pointerKeyLen {
		return nil, errors.New("insights: pointer key record has the wrong length")
	}
	s.keys[scope] = k
	return k, nil
}

// pointer is what a @ptr names.
type pointer struct {
	group, stream string
	pos           store.Position
}

func pointerTag(key []byte, scope store.Scope, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(scope.Account))
	m.Write([]byte{0})
	m.Write([]byte(scope.Region))
	m.Write([]byte{0})
	m.Write(body)
	return m.Sum(nil)[:pointerTagLen]
}

func encodePointer(key []byte, scope store.Scope, group string, ev store.StoredEvent) string {
	b := make([]byte, 0, 48+len(group)+len(ev.Stream))
	b = append(b, pointerVersion)
	b = binary.AppendUvarint(b, uint64(len(group)))
	b = append(b, group...)
	b = binary.AppendUvarint(b, uint64(len(ev.Stream)))
	b = append(b, ev.Stream...)
	b = binary.AppendVarint(b, ev.Pos.Time)
	b = binary.AppendUvarint(b, ev.Pos.Seq)
	b = binary.AppendUvarint(b, uint64(ev.Pos.Index))
	b = append(b, pointerTag(key, scope, b)...)
	return base64.RawStdEncoding.EncodeToString(b)
}

// decodePointer checks and decodes a pointer; ok is false for anything this
// server did not issue to scope.
func decodePointer(key []byte, scope store.Scope, s string) (p pointer, ok bool) {
	if len(s) > maxPointer {
		return p, false
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		// Accept the padded form too: some clients re-encode.
		if b, err = base64.StdEncoding.DecodeString(s); err != nil {
			return p, false
		}
	}
	if len(b) < 1+pointerTagLen || b[0] != pointerVersion {
		return p, false
	}
	body, tag := b[:len(b)-pointerTagLen], b[len(b)-pointerTagLen:]
	if !hmac.Equal(tag, pointerTag(key, scope, body)) {
		return p, false
	}
	r := body[1:]
	str := func() (string, bool) {
		n, k := binary.Uvarint(r)
		if k <= 0 || n > uint64(len(r)-k) {
			return "", false
		}
		v := string(r[k : k+int(n)])
		r = r[k+int(n):]
		return v, true
	}
	var ok1, ok2 bool
	if p.group, ok1 = str(); !ok1 {
		return p, false
	}
	if p.stream, ok2 = str(); !ok2 {
		return p, false
	}
	t, k := binary.Varint(r)
	if k <= 0 {
		return p, false
	}
	r = r[k:]
	seq, k := binary.Uvarint(r)
	if k <= 0 {
		return p, false
	}
	r = r[k:]
	idx, k := binary.Uvarint(r)
	if k <= 0 || idx > 1<<32-1 || len(r) != k {
		return p, false
	}
	p.pos = store.Position{Time: t, Seq: seq, Index: uint32(idx)}
	return p, true
}

type GetLogRecordInput struct {
	LogRecordPointer string `json:"logRecordPointer"`
	Unmask           *bool  `json:"unmask"`
}

type GetLogRecordOutput struct {
	LogRecord map[string]string `json:"logRecord"`
}

// GetLogRecord returns every field of the event a @ptr points to, with
// @timestamp and @ingestionTime in epoch ms, as AWS does.
func (s *Service) GetLogRecord(ctx context.Context, c caller.Caller, in *GetLogRecordInput) (*GetLogRecordOutput, error) {
	scope := logs.Scope(c)
	key, err := s.pointerKey(ctx, scope)
	if err != nil {
		return nil, err
	}
	p, ok := decodePointer(key, scope, in.LogRecordPointer)
	if !ok {
		return nil, awserr.InvalidLogRecordPointer()
	}
	if err := c.Authorize("logs:GetLogRecord", logs.GroupResource(scope, p.group)); err != nil {
		return nil, err
	}
	ev, err := s.findEvent(ctx, scope, p)
	if err != nil {
		return nil, err
	}
	if ev, err = s.transformed(ctx, scope, p.group, ev); err != nil {
		return nil, err
	}
	rec, err := s.lang.Record(p.group, ev)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		rec = map[string]string{}
	}
	rec["@timestamp"] = strconv.FormatInt(ev.Timestamp, 10)
	rec["@ingestionTime"] = strconv.FormatInt(ev.IngestionTime, 10)
	rec["@log"] = scope.Account + ":" + p.group
	rec["@logStream"] = ev.Stream
	rec["@message"] = ev.Message
	return &GetLogRecordOutput{LogRecord: rec}, nil
}

// transformed is ev as a query sees it: its transformed version, if it has
// one (run.Manager.Transform).
func (s *Service) transformed(ctx context.Context, scope store.Scope, group string, ev store.StoredEvent) (store.StoredEvent, error) {
	evs, err := s.runs.Transform(ctx, scope, group, []store.StoredEvent{ev})
	if err != nil {
		return ev, logs.StoreError(err)
	}
	return evs[0], nil
}

// findEvent reads the one millisecond of the pointer's stream that holds its
// event.
func (s *Service) findEvent(ctx context.Context, scope store.Scope, p pointer) (store.StoredEvent, error) {
	req := store.ReadRequest{Group: scope, Name: p.group, Streams: []string{p.stream}, Start: p.pos.Time, End: p.pos.Time + 1,
		Limit: 10000, MaxBytes: 64 << 20}
	for {
		page, err := s.st.Read(ctx, req)
		if errors.Is(err, store.ErrGroupNotFound) || errors.Is(err, store.ErrStreamNotFound) {
			return store.StoredEvent{}, awserr.LogRecordNotFound()
		}
		if err != nil {
			return store.StoredEvent{}, logs.StoreError(err)
		}
		for _, ev := range page.Events {
			if ev.Pos == p.pos {
				return ev, nil
			}
		}
		if page.Next == nil {
			return store.StoredEvent{}, awserr.LogRecordNotFound()
		}
		req.After = page.Next
	}
}

type GetLogGroupFieldsInput struct {
	LogGroupName       *string `json:"logGroupName"`
	LogGroupIdentifier *string `json:"logGroupIdentifier"`
	Time               *int64  `json:"time"`
}

type LogGroupField struct {
	Name    string `json:"name"`
	Percent int32  `json:"percent"`
}

type GetLogGroupFieldsOutput struct {
	LogGroupFields []LogGroupField `json:"logGroupFields"`
}

// systemFields are in every event (reference insights.md §5.4: listed at
// 100 % when there are events).
var systemFields = [...]string{"@timestamp", "@message", "@logStream", "@log", "@ingestionTime"}

// GetLogGroupFields lists the fields of a sample of the group's events in
// the window (time ± 8 minutes, or the last 15 minutes), with the share of
// sampled events that have each, most common first (ties by name).
func (s *Service) GetLogGroupFields(ctx context.Context, c caller.Caller, in *GetLogGroupFieldsInput) (*GetLogGroupFieldsOutput, error) {
	scope := logs.Scope(c)
	name, err := logs.ResolveGroup(scope, deref(in.LogGroupName), deref(in.LogGroupIdentifier), func() *awserr.Error {
		return awserr.MutuallyExclusive("LogGroup name", "LogGroup ARN")
	})
	if err != nil {
		return nil, err
	}
	if err := c.Authorize("logs:GetLogGroupFields", logs.GroupResource(scope, name)); err != nil {
		return nil, err
	}
	if _, err := s.st.GetGroup(ctx, scope, name); err != nil {
		return nil, logs.StoreError(err)
	}
	var start, end time.Time
	if in.Time != nil {
		t := time.Unix(min(*in.Time, 1<<40), 0)
		start, end = t.Add(-fieldsWindow), t.Add(fieldsWindow)
	} else {
		end = s.now()
		start = end.Add(-fieldsDefault)
	}
	counts := map[string]int{}
	n := 0
	seen := map[string]bool{}
	var terr error
	_, err = s.st.Scan(ctx, store.ScanRequest{Scope: scope, Groups: []string{name}, Start: start.UnixMilli(), End: end.UnixMilli() + 1},
		func(b store.ScanBlock) bool {
			var evs []store.StoredEvent
			if evs, terr = s.runs.Transform(ctx, scope, name, b.Events); terr != nil { // the fields a query sees
				return false
			}
			for _, ev := range evs {
				if n >= fieldsSample {
					return false
				}
				n++
				clear(seen)
				for _, f := range systemFields {
					seen[f] = true
				}
				for _, f := range s.lang.Discover(ev) {
					seen[f] = true
				}
				for f := range seen {
					counts[f]++
				}
			}
			return n < fieldsSample
		})
	if err == nil {
		err = terr
	}
	if err != nil {
		return nil, logs.StoreError(err)
	}
	out := &GetLogGroupFieldsOutput{LogGroupFields: []LogGroupField{}}
	for f, k := range counts {
		out.LogGroupFields = append(out.LogGroupFields, LogGroupField{Name: f, Percent: int32((k*100 + n/2) / n)})
	}
	sort.Slice(out.LogGroupFields, func(i, j int) bool {
		a, b := out.LogGroupFields[i], out.LogGroupFields[j]
		if a.Percent != b.Percent {
			return a.Percent > b.Percent
		}
		return a.Name < b.Name
	})
	return out, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
