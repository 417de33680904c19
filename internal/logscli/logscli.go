// Package logscli holds the read side of Cairn's command line (`cairn logs`):
// listing groups and streams, reading a stream, and tailing one or more
// groups, optionally following them live.
//
// Data enters through the aws-sdk-go-v2 CloudWatch Logs client it is given
// (DescribeLogGroups, DescribeLogStreams, GetLogEvents, FilterLogEvents,
// StartLiveTail), so it works against Cairn and AWS alike, and leaves as
// text written to an io.Writer in one of the formats of Format. It reads no
// flags or environment: package cli does.
package logscli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// Client is the part of the CloudWatch Logs API the CLI reads with; a
// *cloudwatchlogs.Client is one.
type Client interface {
	DescribeLogGroups(context.Context, *cwl.DescribeLogGroupsInput, ...func(*cwl.Options)) (*cwl.DescribeLogGroupsOutput, error)
	DescribeLogStreams(context.Context, *cwl.DescribeLogStreamsInput, ...func(*cwl.Options)) (*cwl.DescribeLogStreamsOutput, error)
	GetLogEvents(context.Context, *cwl.GetLogEventsInput, ...func(*cwl.Options)) (*cwl.GetLogEventsOutput, error)
	FilterLogEvents(context.Context, *cwl.FilterLogEventsInput, ...func(*cwl.Options)) (*cwl.FilterLogEventsOutput, error)
	StartLiveTail(context.Context, *cwl.StartLiveTailInput, ...func(*cwl.Options)) (*cwl.StartLiveTailOutput, error)
}

// Groups writes the names of the log groups (with a prefix), one a line.
func Groups(ctx context.Context, c Client, w io.Writer, prefix string) error {
	in := &cwl.DescribeLogGroupsInput{}
	if prefix != "" {
		in.LogGroupNamePrefix = aws.String(prefix)
	}
	p := cwl.NewDescribeLogGroupsPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, g := range page.LogGroups {
			if _, err := fmt.Fprintln(w, aws.ToString(g.LogGroupName)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Streams writes the names of a group's streams (with a prefix, or ordered
// by last event time, newest last), one a line.
func Streams(ctx context.Context, c Client, w io.Writer, group, prefix string, byLastEvent bool) error {
	in := &cwl.DescribeLogStreamsInput{LogGroupName: aws.String(group)}
	if prefix != "" {
		in.LogStreamNamePrefix = aws.String(prefix)
	}
	if byLastEvent {
		if prefix != "" {
			return errors.New("--order last-event cannot be combined with --prefix (the API refuses it)")
		}
		in.OrderBy = types.OrderByLastEventTime
	}
	p := cwl.NewDescribeLogStreamsPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, s := range page.LogStreams {
			if _, err := fmt.Fprintln(w, aws.ToString(s.LogStreamName)); err != nil {
				return err
			}
		}
	}
	return nil
}

// GetOptions selects events of one stream.
type GetOptions struct {
	Group, Stream string
	Start, End    time.Time // zero: unbounded; End is exclusive
	Head, Tail    int       // at most this many from the start or the end (0: all)
	Printer       *Printer
}

// Get writes a stream's events, oldest first.
func Get(ctx context.Context, c Client, w io.Writer, o GetOptions) error {
	if o.Head > 0 && o.Tail > 0 {
		return errors.New("--head and --tail are exclusive")
	}
	in := &cwl.GetLogEventsInput{
		LogGroupName: aws.String(o.Group), LogStreamName: aws.String(o.Stream),
		StartFromHead: aws.Bool(o.Tail == 0),
	}
	if !o.Start.IsZero() {
		in.StartTime = aws.Int64(o.Start.UnixMilli())
	}
	if !o.End.IsZero() {
		in.EndTime = aws.Int64(o.End.UnixMilli())
	}
	print := func(e types.OutputLogEvent) error {
		return o.Printer.Print(w, Event{Group: o.Group, Stream: o.Stream, Time: aws.ToInt64(e.Timestamp), Message: aws.ToString(e.Message)})
	}
	if o.Tail > 0 {
		// Page backwards until enough events are gathered.
		var rev [][]types.OutputLogEvent
		n := 0
		for n < o.Tail {
			in.Limit = aws.Int32(int32(min(o.Tail-n, 10_000)))
			page, err := c.GetLogEvents(ctx, in)
			if err != nil {
				return err
			}
			rev = append(rev, page.Events)
			n += len(page.Events)
			if len(page.Events) == 0 || aws.ToString(page.NextBackwardToken) == aws.ToString(in.NextToken) {
				break
			}
			in.NextToken = page.NextBackwardToken
		}
		var all []types.OutputLogEvent
		for i := len(rev) - 1; i >= 0; i-- {
			all = append(all, rev[i]...)
		}
		if len(all) > o.Tail {
			all = all[len(all)-o.Tail:]
		}
		for _, e := range all {
			if err := print(e); err != nil {
				return err
			}
		}
		return nil
	}
	n := 0
	for {
		if o.Head > 0 {
			in.Limit = aws.Int32(int32(min(o.Head-n, 10_000)))
		}
		page, err := c.GetLogEvents(ctx, in)
		if err != nil {
			return err
		}
		for _, e := range page.Events {
			if err := print(e); err != nil {
				return err
			}
			n++
		}
		if (o.Head > 0 && n >= o.Head) || aws.ToString(page.NextForwardToken) == aws.ToString(in.NextToken) {
			return nil
		}
		in.NextToken = page.NextForwardToken
	}
}

// ParseTime reads a time given as an age ("10m", "2h", "3d", "1w", "45s"),
// an RFC 3339 / ISO-8601 time ("2026-01-02T15:04:05Z", a date, or without a
// zone, read in loc), or milliseconds since the epoch.
func ParseTime(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("empty time")
	}
	if n := len(s); n > 1 {
		if v, err := strconv.ParseFloat(s[:n-1], 64); err == nil && v >= 0 {
			unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[n-1]]
			if unit != 0 {
				return now.Add(-time.Duration(v * float64(unit))), nil
			}
		}
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && len(s) >= 10 {
		return time.UnixMilli(ms), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read time %q: give an age like 10m, 2h, 3d, or an ISO-8601 time", s)
}
