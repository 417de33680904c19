package logs

import (
	"context"
	"slices"
	"strconv"
	"unsafe"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/awsmodel"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/store"
)

// PutLogEvents limits (shared/reference/cloudwatch-logs-api.md §3).
const (
	maxBatchBytes  = 1_048_576 // Σ(message bytes + 26)
	maxEventBytes  = 1_048_576 // one event, message bytes + 26 (1 MB since 2025-04)
	maxBatchSpan   = 24 * 3_600_000
	tooNewAfter    = 2 * 3_600_000
	tooOldBefore   = 14 * 86_400_000
	eventOverhead  = 26
	maxPageBytes   = 1_048_576 // GetLogEvents / FilterLogEvents page size
	maxEventsLimit = 10_000
	// Backward FilterLogEvents is allowed only from this startTime on
	// (2024-01-01T00:00:00Z), as on AWS.
	backwardFilterEpoch = 1_704_067_200_000
)

// CheckMessageSize refuses a message that no PutLogEvents event can hold,
// with PutLogEvents' error: the families that take sample messages
// (TestMetricFilter) bound each by what a log group can hold.
func CheckMessageSize(msg string) error {
	if size := len(msg) + eventOverhead; size > maxEventBytes {
		return awserr.EventTooLarge(size, maxEventBytes)
	}
	return nil
}

// InputLogEvent is one event of PutLogEvents.
type InputLogEvent struct {
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

// PutLogEventsInput is decoded without the model walk (protocol.Unchecked):
// PutLogEvents checks each member itself.
type PutLogEventsInput struct {
	LogGroupName  *string         `json:"logGroupName"`
	LogStreamName *string         `json:"logStreamName"`
	LogEvents     []InputLogEvent `json:"logEvents"`
	SequenceToken string          `json:"sequenceToken"`
	Entity        *entityInput    `json:"entity"`
}

type entityInput struct {
	KeyAttributes map[string]string `json:"keyAttributes"`
	Attributes    map[string]string `json:"attributes"`
}

type RejectedLogEventsInfo struct {
	TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
	TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
	ExpiredLogEventEndIndex  *int `json:"expiredLogEventEndIndex,omitempty"`
}

type RejectedEntityInfo struct {
	ErrorType string `json:"errorType"`
}

type PutLogEventsOutput struct {
	NextSequenceToken     string                 `json:"nextSequenceToken,omitempty"`
	RejectedLogEventsInfo *RejectedLogEventsInfo `json:"rejectedLogEventsInfo,omitempty"`
	RejectedEntityInfo    *RejectedEntityInfo    `json:"rejectedEntityInfo,omitempty"`
}

// PutLogEvents is the hot path: it is registered without the generic model
// walk and checks each member itself, with the same wording, so a worker
// calling it directly gets the same validation as a client.
func (s *Service) PutLogEvents(ctx context.Context, c caller.Caller, in *PutLogEventsInput) (*PutLogEventsOutput, error) {
	// Every violation is collected, in the order the model walk would list
	// them, and answered in one error. vs stays nil (no allocation) while
	// the request is valid.
	vs, err := stringMember(s.model, nil, "LogGroupName", "logGroupName", in.LogGroupName)
	if err != nil {
		return nil, err
	}
	if vs, err = stringMember(s.model, vs, "LogStreamName", "logStreamName", in.LogStreamName); err != nil {
		return nil, err
	}
	switch {
	case in.LogEvents == nil:
		vs = append(vs, awserr.Violation{Value: "null", Member: "logEvents", Constraint: "Member must not be null"})
	case len(in.LogEvents) == 0:
		vs = append(vs, awserr.Violation{Value: "'[]'", Member: "logEvents", Constraint: "Member must have length greater than or equal to 1"})
	case len(in.LogEvents) > maxEventsLimit:
		vs = append(vs, awserr.Violation{Value: "'[" + strconv.Itoa(len(in.LogEvents)) + " events]'", Member: "logEvents",
			Constraint: "Member must have length less than or equal to " + strconv.Itoa(maxEventsLimit)})
	}
	for i, e := range in.LogEvents {
		if e.Timestamp < 0 {
			vs = append(vs, awserr.Violation{Value: "'" + strconv.FormatInt(e.Timestamp, 10) + "'", Member: eventMember(i, "timestamp"),
				Constraint: "Member must have value greater than or equal to 0"})
		}
		if e.Message == "" {
			// A missing message decodes as "" too; AWS would say "must not be
			// null" for that case. Both are refused.
			vs = append(vs, awserr.Violation{Value: "''", Member: eventMember(i, "message"),
				Constraint: "Member must have length greater than or equal to 1"})
		}
	}
	if len(vs) > 0 {
		return nil, awserr.InvalidParameters(vs...)
	}
	group, stream := *in.LogGroupName, *in.LogStreamName
	scope := scopeOf(c)
	if err := c.Authorize("logs:PutLogEvents", StreamARN(scope, group, stream)); err != nil {
		return nil, err
	}

	total := 0
	for i, e := range in.LogEvents {
		size := len(e.Message) + eventOverhead
		if size > maxEventBytes {
			return nil, awserr.EventTooLarge(size, maxEventBytes)
		}
		total += size
		if i > 0 && e.Timestamp < in.LogEvents[i-1].Timestamp {
			return nil, awserr.EventsOutOfOrder()
		}
	}
	if total > maxBatchBytes {
		return nil, awserr.BatchTooLarge(total, maxBatchBytes)
	}

	g, err := s.st.GetGroup(ctx, scope, group)
	if err != nil {
		return nil, storeErr(err)
	}
	now := s.now().UnixMilli()
	// Events are chronological, so the rejected ones form a too-old prefix,
	// then an expired run, and a too-new suffix.
	evs := in.LogEvents
	tooOld := 0
	for tooOld < len(evs) && evs[tooOld].Timestamp < now-tooOldBefore {
		tooOld++
	}
	expired := tooOld
	if g.RetentionDays > 0 {
		cutoff := now - int64(g.RetentionDays)*86_400_000
		for expired < len(evs) && evs[expired].Timestamp < cutoff {
			expired++
		}
	}
	tooNew := len(evs)
	for tooNew > expired && evs[tooNew-1].Timestamp > now+tooNewAfter {
		tooNew--
	}
	// The 24-hour span is measured over the events inside [now−14 d, now+2 h]
	// (the reference's "valid" events), expired ones included.
	if inWindow := evs[tooOld:tooNew]; len(inWindow) > 0 && inWindow[len(inWindow)-1].Timestamp-inWindow[0].Timestamp > maxBatchSpan {
		return nil, awserr.BatchSpansDay()
	}
	valid := evs[expired:tooNew]

	out := &PutLogEventsOutput{}
	if tooOld > 0 || expired > tooOld || tooNew < len(evs) {
		info := &RejectedLogEventsInfo{}
		if tooOld > 0 {
			info.TooOldLogEventEndIndex = ptr(tooOld) // exclusive end, as AWS reports it
		}
		if expired > tooOld {
			info.ExpiredLogEventEndIndex = ptr(expired)
		}
		if tooNew < len(evs) {
			info.TooNewLogEventStartIndex = ptr(tooNew)
		}
		out.RejectedLogEventsInfo = info
	}
	if in.Entity != nil {
		out.RejectedEntityInfo = checkEntity(s.model, in.Entity)
	}
	if len(valid) == 0 {
		// Nothing to store, but the stream must still exist.
		if _, err := s.st.GetStream(ctx, scope, group, stream); err != nil {
			return nil, storeErr(err)
		}
		out.NextSequenceToken = sequenceToken(uint64(now))
		return out, nil
	}
	// The decoded events are the batch: InputLogEvent is store.Event with
	// JSON tags (the conversion below does not compile otherwise), so the
	// slice is reinterpreted rather than copied, 24 KB a 1,000-event request.
	_ = store.Event(InputLogEvent{})
	batch := unsafe.Slice((*store.Event)(unsafe.Pointer(&valid[0])), len(valid))
	res, err := s.ingest(ctx, c, scope, g, stream, batch, now)
	if err != nil {
		return nil, storeErr(err)
	}
	out.NextSequenceToken = sequenceToken(res.Seq)
	return out, nil
}

// checkEntity validates the optional entity; an invalid one is reported in
// rejectedEntityInfo while the events are still accepted, as on AWS.
func checkEntity(m *awsmodel.Model, e *entityInput) *RejectedEntityInfo {
	toDoc := func(m map[string]string) any {
		if m == nil {
			return nil
		}
		d := make(map[string]any, len(m))
		for k, v := range m {
			d[k] = v
		}
		return d
	}
	if err := m.CheckValue("EntityKeyAttributes", "entity.keyAttributes", toDoc(e.KeyAttributes)); err != nil {
		return &RejectedEntityInfo{ErrorType: "InvalidKeyAttributes"}
	}
	if err := m.CheckValue("EntityAttributes", "entity.attributes", toDoc(e.Attributes)); err != nil {
		return &RejectedEntityInfo{ErrorType: "InvalidAttributes"}
	}
	return nil
}

// stringMember appends to vs the violations of a required string member of
// PutLogEvents: null when it is missing, else whatever the model's shape
// says of its value. The error is the model's refusal of a value of the
// wrong JSON type, which a Go string never is.
func stringMember(m *awsmodel.Model, vs []awserr.Violation, shape, member string, value *string) ([]awserr.Violation, error) {
	if value == nil {
		return append(vs, awserr.Violation{Value: "null", Member: member, Constraint: "Member must not be null"}), nil
	}
	return m.AppendViolations(vs, shape, member, *value)
}

// eventMember is the path of member of the i-th (from 0) PutLogEvents event,
// as the model walk names it: logEvents.1.member.message.
func eventMember(i int, member string) string {
	return "logEvents." + strconv.Itoa(i+1) + ".member." + member
}

// groupNameOrARN refuses GetLogEvents and FilterLogEvents given both
// logGroupName and logGroupIdentifier. AWS records no answer for these two
// (only DescribeLogStreams', see awserr.GroupNameAndARN), so they keep the
// model's code for a bad parameter.
func groupNameOrARN() *awserr.Error {
	return awserr.MutuallyExclusive("LogGroup name", "LogGroup ARN")
}

type OutputLogEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

type GetLogEventsInput struct {
	LogGroupName       string `json:"logGroupName"`
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	LogStreamName      string `json:"logStreamName"`
	StartTime          *int64 `json:"startTime"`
	EndTime            *int64 `json:"endTime"`
	NextToken          string `json:"nextToken"`
	Limit              int    `json:"limit"`
	StartFromHead      *bool  `json:"startFromHead"`
	Unmask             bool   `json:"unmask"`
}

type GetLogEventsOutput struct {
	Events            []OutputLogEvent `json:"events"`
	NextForwardToken  string           `json:"nextForwardToken"`
	NextBackwardToken string           `json:"nextBackwardToken"`
}

// GetLogEvents reads one stream. Without a token it starts at the newest
// events (startFromHead defaults to false) or, with startFromHead, at the
// oldest; a token decides the direction itself. At either end the token that
// was passed comes back, which is how clients know to stop.
func (s *Service) GetLogEvents(ctx context.Context, c caller.Caller, in *GetLogEventsInput) (*GetLogEventsOutput, error) {
	scope := scopeOf(c)
	group, err := resolveGroup(scope, in.LogGroupName, in.LogGroupIdentifier,
		groupNameOrARN)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize("logs:GetLogEvents", StreamARN(scope, group, in.LogStreamName)); err != nil {
		return nil, err
	}
	if in.Unmask {
		if err := c.Authorize("logs:Unmask", groupResource(scope, group)); err != nil {
			return nil, err
		}
	}
	forward := in.StartFromHead != nil && *in.StartFromHead
	var after *store.Position
	if in.NextToken != "" {
		fwd, p, err := parseStreamToken(in.NextToken)
		if err != nil {
			return nil, err
		}
		forward, after = fwd, &p
	}
	if _, err := s.st.GetStream(ctx, scope, group, in.LogStreamName); err != nil {
		return nil, storeErr(err)
	}
	q := store.ReadRequest{Group: scope, Name: group, Streams: []string{in.LogStreamName}, After: after, Backward: !forward,
		Limit: maxEventsLimit, MaxBytes: maxPageBytes}
	if in.Limit > 0 {
		q.Limit = in.Limit
	}
	if in.StartTime != nil {
		q.Start = *in.StartTime
	}
	if in.EndTime != nil {
		q.End = *in.EndTime // exclusive
		if q.End <= 0 {
			q.End = -1 // an end of 0 selects nothing, not everything
		}
	}
	var page store.Page
	if q.End >= 0 {
		if page, err = s.st.Read(ctx, q); err != nil {
			return nil, storeErr(err)
		}
	}
	evs := page.Events
	if in.Unmask {
		if err := s.unmask(ctx, c, scope, group, evs); err != nil {
			return nil, storeErr(err)
		}
	}
	if !forward {
		slices.Reverse(evs)
	}
	out := &GetLogEventsOutput{Events: make([]OutputLogEvent, len(evs))}
	for i, e := range evs {
		out.Events[i] = OutputLogEvent{Timestamp: e.Timestamp, Message: e.Message, IngestionTime: e.IngestionTime}
	}
	switch {
	case len(evs) > 0:
		out.NextForwardToken = streamToken(true, evs[len(evs)-1].Pos)
		out.NextBackwardToken = streamToken(false, evs[0].Pos)
	case after != nil:
		// At the end in the token's direction: the same token comes back;
		// the other direction resumes from the same point.
		out.NextForwardToken = streamToken(true, *after)
		out.NextBackwardToken = streamToken(false, *after)
		if in.NextToken != "" {
			if forward {
				out.NextForwardToken = in.NextToken
			} else {
				out.NextBackwardToken = in.NextToken
			}
		}
	default:
		// An empty window: tokens that bracket it.
		out.NextForwardToken = streamToken(true, store.Position{Time: max(q.Start, 0)})
		end := store.Position{Time: 1<<63 - 1}
		if q.End > 0 {
			end = store.Position{Time: q.End}
		}
		out.NextBackwardToken = streamToken(false, end)
	}
	return out, nil
}

type FilteredLogEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

type SearchedLogStream struct {
	LogStreamName      string `json:"logStreamName"`
	SearchedCompletely bool   `json:"searchedCompletely"`
}

type FilterLogEventsInput struct {
	LogGroupName        string   `json:"logGroupName"`
	LogGroupIdentifier  string   `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       string   `json:"filterPattern"`
	NextToken           string   `json:"nextToken"`
	Limit               int      `json:"limit"`
	Interleaved         bool     `json:"interleaved"` // ignored: always interleaved
	StartFromHead       *bool    `json:"startFromHead"`
	Unmask              bool     `json:"unmask"`
}

type FilterLogEventsOutput struct {
	Events             []FilteredLogEvent  `json:"events"`
	SearchedLogStreams []SearchedLogStream `json:"searchedLogStreams"`
	NextToken          string              `json:"nextToken,omitempty"`
}

// FilterLogEvents searches a group across its streams in global timestamp
// order. A page ends at the limit, at 1 MB, or when the scan budget is spent;
// then nextToken (a reusable position) resumes it, and an empty page with a
// nextToken is possible, as on AWS.
func (s *Service) FilterLogEvents(ctx context.Context, c caller.Caller, in *FilterLogEventsInput) (*FilterLogEventsOutput, error) {
	scope := scopeOf(c)
	group, err := resolveGroup(scope, in.LogGroupName, in.LogGroupIdentifier,
		groupNameOrARN)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize("logs:FilterLogEvents", groupResource(scope, group)); err != nil {
		return nil, err
	}
	if in.Unmask {
		if err := c.Authorize("logs:Unmask", groupResource(scope, group)); err != nil {
			return nil, err
		}
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != "" {
		return nil, awserr.MutuallyExclusive("logStreamNames", "logStreamNamePrefix")
	}
	q := store.ReadRequest{Group: scope, Name: group, Streams: in.LogStreamNames, StreamPrefix: in.LogStreamNamePrefix,
		Limit: maxEventsLimit, MaxBytes: maxPageBytes, ScanBudget: s.budget}
	if in.Limit > 0 {
		q.Limit = in.Limit
	}
	if in.StartTime != nil {
		q.Start = *in.StartTime
	}
	if in.EndTime != nil {
		q.End = *in.EndTime + 1 // endTime is inclusive here
	}
	q.Backward = in.StartFromHead != nil && !*in.StartFromHead
	if in.NextToken != "" {
		backward, p, err := parseFilterToken(in.NextToken)
		if err != nil {
			return nil, err
		}
		q.Backward, q.After = backward, &p // the token's direction wins
	} else if q.Backward && q.Start < backwardFilterEpoch {
		return nil, awserr.BackwardNeedsStartTime()
	}
	if in.FilterPattern != "" {
		p, err := s.compilePattern(in.FilterPattern)
		if err != nil {
			return nil, err
		}
		if !p.MatchesAll() {
			q.Filter = p
			q.ScanBudget = RegexScanBudget(q.ScanBudget, p)
		}
	}
	// Read-ahead (readahead.go) never serves unmasked pages: their text
	// depends on more than the stored events.
	ahead := s.ahead != nil && !in.Unmask
	if ahead {
		if out, ok := s.ahead.Take(ctx, readAheadKey(q, in.FilterPattern)); ok {
			s.readAhead(q, in.FilterPattern, out)
			return out, nil
		}
	}
	var unmask func([]store.StoredEvent) error
	if in.Unmask {
		// The filter pattern matched the stored (masked) text; unmask swaps
		// the originals into the page it selected, as AWS's unmask changes
		// what is shown, not what is searched.
		unmask = func(evs []store.StoredEvent) error { return s.unmask(ctx, c, scope, group, evs) }
	}
	out, err := s.filterPage(ctx, q, unmask)
	if err != nil {
		return nil, err
	}
	if ahead {
		s.readAhead(q, in.FilterPattern, out)
	}
	return out, nil
}

// filterPage reads q's page and builds FilterLogEvents' answer.
// unmask, when set, changes the page's events first.
func (s *Service) filterPage(ctx context.Context, q store.ReadRequest, unmask func([]store.StoredEvent) error) (*FilterLogEventsOutput, error) {
	page, err := s.st.Read(ctx, q)
	if err != nil {
		return nil, storeErr(err)
	}
	if unmask != nil {
		if err := unmask(page.Events); err != nil {
			return nil, storeErr(err)
		}
	}
	out := &FilterLogEventsOutput{Events: make([]FilteredLogEvent, len(page.Events)), SearchedLogStreams: []SearchedLogStream{}}
	ids := eventIDs(page.Events)
	for i, e := range page.Events {
		out.Events[i] = FilteredLogEvent{LogStreamName: e.Stream, Timestamp: e.Timestamp, Message: e.Message, IngestionTime: e.IngestionTime, EventID: ids[i]}
	}
	if page.Next != nil {
		out.NextToken = filterToken(q.Backward, *page.Next)
	}
	return out, nil
}

func (s *Service) compilePattern(expr string) (Pattern, error) {
	return CompilePattern(s.compile, expr)
}
