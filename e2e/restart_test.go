package e2e

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// TestRestartPersistence stops the server with SIGTERM and starts it again
// on the same data directory: everything the API can show must be the same.
func TestRestartPersistence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServerOn(t, dir)
	c := srv.logs(defaultRegion)
	call := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	groupARN := func(g string) *string {
		return aws.String("arn:aws:logs:" + defaultRegion + ":000000000000:log-group:" + g)
	}

	const app, other, gone = "persist/app", "persist/other", "persist/gone"
	_, err := c.CreateLogGroup(ctx(t), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(app),
		Tags: map[string]string{"team": "logs", "env": "prod"}})
	call("CreateLogGroup with tags", err)
	create(t, c, other, "only")
	create(t, c, gone, "x")
	for _, s := range []string{"a", "b", "empty", "deleted"} {
		_, err := c.CreateLogStream(ctx(t), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(app), LogStreamName: &s})
		call("CreateLogStream "+s, err)
	}
	_, err = c.PutRetentionPolicy(ctx(t), &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(app), RetentionInDays: aws.Int32(30)})
	call("PutRetentionPolicy", err)
	_, err = c.PutRetentionPolicy(ctx(t), &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(other), RetentionInDays: aws.Int32(7)})
	call("PutRetentionPolicy", err)
	_, err = c.DeleteRetentionPolicy(ctx(t), &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String(other)})
	call("DeleteRetentionPolicy", err)
	_, err = c.TagResource(ctx(t), &cloudwatchlogs.TagResourceInput{ResourceArn: groupARN(app), Tags: map[string]string{"owner": "ci"}})
	call("TagResource", err)
	_, err = c.UntagResource(ctx(t), &cloudwatchlogs.UntagResourceInput{ResourceArn: groupARN(app), TagKeys: []string{"env"}})
	call("UntagResource", err)
	_, err = c.TagResource(ctx(t), &cloudwatchlogs.TagResourceInput{ResourceArn: groupARN(other), Tags: map[string]string{"k": "v"}})
	call("TagResource", err)

	base := nowMS() - 30*60*1000
	put(t, c, app, "a", event{base, "a first"}, event{base + 10, "a middle"}, event{base + 20, "a last"})
	put(t, c, app, "b", event{base + 5, "b first"}, event{base + 5, "b same time"})
	put(t, c, app, "b", event{base + 30, "b later batch"})
	put(t, c, app, "deleted", event{base, "in a deleted stream"})
	put(t, c, other, "only", event{base + 1, "other group"})
	put(t, c, gone, "x", event{base, "in a deleted group"})
	_, err = c.DeleteLogStream(ctx(t), &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: aws.String(app), LogStreamName: aws.String("deleted")})
	call("DeleteLogStream", err)
	_, err = c.DeleteLogGroup(ctx(t), &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(gone)})
	call("DeleteLogGroup", err)

	before := persistSnapshot(t, c, app, other)
	// The snapshot must hold what was set up, or comparing it proves nothing.
	f := func(what string, got, want any) {
		t.Helper()
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("before restart: %s = %s, want %s", what, g, w)
		}
	}
	var names []string
	var retention []*int32
	for _, g := range before.Groups {
		names = append(names, aws.ToString(g.LogGroupName))
		retention = append(retention, g.RetentionInDays)
	}
	f("groups", names, []string{app, other})
	f("retention", retention, []*int32{aws.Int32(30), nil})
	f("tags", before.Tags, map[string]map[string]string{app: {"team": "logs", "owner": "ci"}, other: {"k": "v"}})
	var streams []string
	for _, s := range before.Streams[app] {
		streams = append(streams, aws.ToString(s.LogStreamName))
		switch aws.ToString(s.LogStreamName) {
		case "a":
			f("a first/last", []*int64{s.FirstEventTimestamp, s.LastEventTimestamp}, []int64{base, base + 20})
		case "b":
			f("b first/last", []*int64{s.FirstEventTimestamp, s.LastEventTimestamp}, []int64{base + 5, base + 30})
		}
	}
	f("streams of "+app, streams, []string{"a", "b", "empty"})
	f("events of "+app, len(before.Filtered[app]), 6)

	srv.stop()
	if t.Failed() {
		return
	}
	srv = startServerOn(t, dir)
	c = srv.logs(defaultRegion)
	after := persistSnapshot(t, c, app, other)
	b, _ := json.MarshalIndent(before, "", "  ")
	a, _ := json.MarshalIndent(after, "", "  ")
	if string(a) != string(b) {
		t.Errorf("state changed across a clean restart:\nbefore: %s\nafter:  %s", b, a)
	}

	// The restarted server keeps working on the old data: the deleted group
	// comes back empty, and new events extend an old stream.
	create(t, c, gone)
	out, err := c.DescribeLogStreams(ctx(t), &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(gone)})
	call("DescribeLogStreams", err)
	if len(out.LogStreams) != 0 {
		t.Errorf("re-created group %s has streams from before its deletion: %+v", gone, out.LogStreams)
	}
	put(t, c, app, "a", event{base + 40, "a after restart"})
	get, err := c.GetLogEvents(ctx(t), &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(app), LogStreamName: aws.String("a"), StartFromHead: aws.Bool(true)})
	call("GetLogEvents", err)
	var msgs []string
	for _, e := range get.Events {
		msgs = append(msgs, aws.ToString(e.Message))
	}
	if want := []string{"a first", "a middle", "a last", "a after restart"}; !slices.Equal(msgs, want) {
		t.Errorf("stream a after restart and a new put: %q, want %q", msgs, want)
	}
}

// snapshot is what the API shows of some log groups.
type snapshot struct {
	Groups   []types.LogGroup
	Streams  map[string][]types.LogStream
	Tags     map[string]map[string]string
	Filtered map[string][]types.FilteredLogEvent
	Events   map[string][]types.OutputLogEvent // by "group/stream"
}

func persistSnapshot(tb testing.TB, c *cloudwatchlogs.Client, groups ...string) snapshot {
	tb.Helper()
	s := snapshot{Streams: map[string][]types.LogStream{}, Tags: map[string]map[string]string{},
		Filtered: map[string][]types.FilteredLogEvent{}, Events: map[string][]types.OutputLogEvent{}}
	dg, err := c.DescribeLogGroups(ctx(tb), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("persist/")})
	if err != nil {
		tb.Fatalf("DescribeLogGroups: %v", err)
	}
	s.Groups = dg.LogGroups
	for _, g := range groups {
		ds, err := c.DescribeLogStreams(ctx(tb), &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: &g})
		if err != nil {
			tb.Fatalf("DescribeLogStreams %s: %v", g, err)
		}
		s.Streams[g] = ds.LogStreams
		tags, err := c.ListTagsForResource(ctx(tb), &cloudwatchlogs.ListTagsForResourceInput{
			ResourceArn: aws.String("arn:aws:logs:" + defaultRegion + ":000000000000:log-group:" + g)})
		if err != nil {
			tb.Fatalf("ListTagsForResource %s: %v", g, err)
		}
		s.Tags[g] = maps.Clone(tags.Tags)
		fe, err := c.FilterLogEvents(ctx(tb), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: &g})
		if err != nil {
			tb.Fatalf("FilterLogEvents %s: %v", g, err)
		}
		if fe.NextToken != nil {
			tb.Fatalf("FilterLogEvents %s: a handful of events did not fit one page", g)
		}
		s.Filtered[g] = fe.Events
		for _, st := range ds.LogStreams {
			ge, err := c.GetLogEvents(ctx(tb), &cloudwatchlogs.GetLogEventsInput{LogGroupName: &g, LogStreamName: st.LogStreamName, StartFromHead: aws.Bool(true)})
			if err != nil {
				tb.Fatalf("GetLogEvents %s %s: %v", g, aws.ToString(st.LogStreamName), err)
			}
			s.Events[g+"/"+aws.ToString(st.LogStreamName)] = ge.Events
		}
	}
	return s
}
