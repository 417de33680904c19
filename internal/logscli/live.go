package logscli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// liveSession is a running StartLiveTail session.
type liveSession struct {
	stream  *cwl.StartLiveTailEventStream
	started int64             // ms, when the session began
	names   map[string]string // group ARN → name, to print names
	pending []types.StartLiveTailResponseStream
}

func (l *liveSession) close() { l.stream.Close() }

// startLive resolves the groups' ARNs and starts a session, returning once
// the session has started, so that history read afterwards overlaps it.
func (t *tailer) startLive(ctx context.Context) (*liveSession, error) {
	names := map[string]string{}
	var arns []string
	for _, g := range t.o.Groups {
		arn, err := groupARN(ctx, t.c, g)
		if err != nil {
			return nil, err
		}
		names[arn] = g
		arns = append(arns, arn)
	}
	in := &cwl.StartLiveTailInput{LogGroupIdentifiers: arns}
	if len(t.o.Streams) > 0 {
		in.LogStreamNames = t.o.Streams
	}
	if t.o.StreamPrefix != "" {
		in.LogStreamNamePrefixes = []string{t.o.StreamPrefix}
	}
	if t.o.Filter != "" {
		in.LogEventFilterPattern = aws.String(t.o.Filter)
	}
	started := time.Now().UnixMilli()
	out, err := t.c.StartLiveTail(ctx, in, t.o.LiveTailOptions...)
	if err != nil {
		return nil, err
	}
	l := &liveSession{stream: out.GetStream(), started: started, names: names}
	// Wait for sessionStart: only then are new events sure to be caught.
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-l.stream.Events():
			if !ok {
				err := l.stream.Err()
				l.close()
				if err == nil {
					err = errors.New("session ended before it started")
				}
				return nil, err
			}
			if _, ok := ev.(*types.StartLiveTailResponseStreamMemberSessionStart); ok {
				return l, nil
			}
			l.pending = append(l.pending, ev)
		case <-timer.C:
			l.close()
			return nil, errors.New("no sessionStart within 15 s")
		case <-ctx.Done():
			l.close()
			return nil, ctx.Err()
		}
	}
}

func groupARN(ctx context.Context, c Client, name string) (string, error) {
	p := cwl.NewDescribeLogGroupsPaginator(c, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", err
		}
		for _, g := range page.LogGroups {
			if aws.ToString(g.LogGroupName) == name {
				if arn := aws.ToString(g.LogGroupArn); arn != "" {
					return arn, nil
				}
				return strings.TrimSuffix(aws.ToString(g.Arn), ":*"), nil
			}
		}
	}
	return "", fmt.Errorf("log group %q does not exist", name)
}

// followLive prints the session's events until it ends; it returns the
// newest timestamp printed and why the session ended.
func (t *tailer) followLive(ctx context.Context, l *liveSession, newest int64) (int64, error) {
	defer l.close()
	handle := func(ev types.StartLiveTailResponseStream) error {
		u, ok := ev.(*types.StartLiveTailResponseStreamMemberSessionUpdate)
		if !ok {
			return nil
		}
		if u.Value.SessionMetadata != nil && u.Value.SessionMetadata.Sampled {
			return errors.New("the session is sampling events")
		}
		res := u.Value.SessionResults
		sort.SliceStable(res, func(i, j int) bool { return aws.ToInt64(res[i].Timestamp) < aws.ToInt64(res[j].Timestamp) })
		for _, r := range res {
			g := aws.ToString(r.LogGroupIdentifier)
			if n, ok := l.names[strings.TrimSuffix(g, ":*")]; ok {
				g = n
			}
			e := Event{Group: g, Stream: aws.ToString(r.LogStreamName), Time: aws.ToInt64(r.Timestamp), Message: aws.ToString(r.Message)}
			if t.fromHistory.take(e) {
				continue // printed from history already
			}
			newest = max(newest, e.Time)
			// Remembered by content, so a fall back to polling does not
			// print it again.
			t.fromLive.add(e)
			if err := t.print(e); err != nil {
				return err
			}
		}
		t.fromLive.prune(newest - t.o.Lookback.Milliseconds() - 1)
		t.fromHistory.prune(newest - t.o.Lookback.Milliseconds() - 1)
		return nil
	}
	for _, ev := range l.pending {
		if err := handle(ev); err != nil {
			return newest, err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return newest, ctx.Err()
		case ev, ok := <-l.stream.Events():
			if !ok {
				err := l.stream.Err()
				if err == nil {
					err = errors.New("the session ended")
				}
				return newest, err
			}
			if err := handle(ev); err != nil {
				return newest, err
			}
		}
	}
}
