package logs

import (
	"context"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/store"
)

// LogStream is the wire shape of a log stream. A stream without events
// carries only arn, creationTime, logStreamName and storedBytes, as on AWS.
type LogStream struct {
	Arn                 string `json:"arn"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp int64  `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  int64  `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   int64  `json:"lastIngestionTime,omitempty"`
	LogStreamName       string `json:"logStreamName"`
	StoredBytes         int64  `json:"storedBytes"`
	UploadSequenceToken string `json:"uploadSequenceToken,omitempty"`
}

type CreateLogStreamInput struct {
	LogGroupName  string `json:"logGroupName"`
	LogStreamName string `json:"logStreamName"`
}

func (s *Service) CreateLogStream(ctx context.Context, c caller.Caller, in *CreateLogStreamInput) (*struct{}, error) {
	scope := scopeOf(c)
	if err := c.Authorize("logs:CreateLogStream", StreamARN(scope, in.LogGroupName, in.LogStreamName)); err != nil {
		return nil, err
	}
	return nil, storeErr(s.st.CreateStream(ctx, scope, in.LogGroupName, store.Stream{Name: in.LogStreamName, CreationTime: s.now().UnixMilli()}))
}

type DeleteLogStreamInput struct {
	LogGroupName  string `json:"logGroupName"`
	LogStreamName string `json:"logStreamName"`
}

func (s *Service) DeleteLogStream(ctx context.Context, c caller.Caller, in *DeleteLogStreamInput) (*struct{}, error) {
	scope := scopeOf(c)
	if err := c.Authorize("logs:DeleteLogStream", StreamARN(scope, in.LogGroupName, in.LogStreamName)); err != nil {
		return nil, err
	}
	return nil, storeErr(s.st.DeleteStream(ctx, scope, in.LogGroupName, in.LogStreamName))
}

type DescribeLogStreamsInput struct {
	LogGroupName        string `json:"logGroupName"`
	LogGroupIdentifier  string `json:"logGroupIdentifier"`
	LogStreamNamePrefix string `json:"logStreamNamePrefix"`
	OrderBy             string `json:"orderBy"`
	Descending          bool   `json:"descending"`
	Limit               int    `json:"limit"`
	NextToken           string `json:"nextToken"`
}

type DescribeLogStreamsOutput struct {
	LogStreams []LogStream `json:"logStreams"`
	NextToken  string      `json:"nextToken,omitempty"`
}

func (s *Service) DescribeLogStreams(ctx context.Context, c caller.Caller, in *DescribeLogStreamsInput) (*DescribeLogStreamsOutput, error) {
	scope := scopeOf(c)
	group, err := resolveGroup(scope, in.LogGroupName, in.LogGroupIdentifier,
		awserr.GroupNameAndARN)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize("logs:DescribeLogStreams", groupResource(scope, group)); err != nil {
		return nil, err
	}
	byTime := in.OrderBy == "LastEventTime"
	if byTime && in.LogStreamNamePrefix != "" {
		return nil, awserr.OrderByWithPrefix()
	}
	limit := in.Limit
	if limit == 0 {
		limit = 50
	}
	// The token holds the sort key of the last stream returned: its name, or
	// for LastEventTime order its last event time and name.
	var afterName string
	var afterTime int64
	haveAfter := false
	if in.NextToken != "" {
		k, err := parseStreamsToken(in.NextToken)
		if err != nil {
			return nil, err
		}
		if k.byTime != byTime || k.descending != in.Descending {
			return nil, awserr.InvalidToken() // a token of another listing order
		}
		afterTime, afterName, haveAfter = k.time, k.name, true
	}

	// The store walks its ordered indexes from the token: a page costs the
	// page, not the group's size.
	listing := store.StreamListing{Prefix: in.LogStreamNamePrefix, ByLastEventTime: byTime, Descending: in.Descending}
	if haveAfter {
		listing.After = &store.StreamKey{LastEventTime: afterTime, Name: afterName}
	}
	var streams []store.Stream
	err = s.st.ListStreamsOrdered(ctx, scope, group, listing, func(st store.Stream) bool {
		streams = append(streams, st)
		return len(streams) <= limit // one page and a look-ahead
	})
	if err != nil {
		return nil, storeErr(err)
	}
	out := &DescribeLogStreamsOutput{LogStreams: []LogStream{}}
	for i, st := range streams {
		if i == limit {
			last := streams[i-1]
			out.NextToken = streamsToken(streamsKey{byTime: byTime, descending: in.Descending, time: last.LastEventTimestamp, name: last.Name})
			break
		}
		out.LogStreams = append(out.LogStreams, describeStream(scope, group, st))
	}
	return out, nil
}

func describeStream(scope store.Scope, group string, st store.Stream) LogStream {
	ls := LogStream{
		Arn:           StreamARN(scope, group, st.Name),
		CreationTime:  st.CreationTime,
		LogStreamName: st.Name,
		// AWS has reported 0 here since 2019 (storedBytes is deprecated).
		StoredBytes: 0,
	}
	if st.LastIngestionTime != 0 {
		ls.FirstEventTimestamp = st.FirstEventTimestamp
		ls.LastEventTimestamp = st.LastEventTimestamp
		ls.LastIngestionTime = st.LastIngestionTime
		ls.UploadSequenceToken = sequenceToken(uint64(st.LastIngestionTime))
	}
	return ls
}
