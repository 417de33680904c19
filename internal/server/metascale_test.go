package server_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/store"
)

// TestMetadataScaleSDK is the black-box figure for metadata at CI scale:
// DescribeLogStreams pages through the SDK on a group of
// CAIRN_META_SDK_STREAMS streams (default 200,000; created through the
// engine from 32 callers, one in ten given an event), by prefix and by last
// event time, first and resumed pages, before and after a restart. Only with
// CAIRN_META_SCALE=1:
//
//	CAIRN_META_SCALE=1 go test -run TestMetadataScaleSDK -v ./internal/server/
func TestMetadataScaleSDK(t *testing.T) {
	if os.Getenv("CAIRN_META_SCALE") == "" {
		t.Skip("set CAIRN_META_SCALE=1 to run")
	}
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("CAIRN_META_SDK_STREAMS")); err == nil && v > 0 {
		n = v
	}
	s := harness.Start(t)
	c := s.Client()
	ctx := context.Background()
	must[*cwl.CreateLogGroupOutput](t)(c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("jenkins")}))
	dg := must[*cwl.DescribeLogGroupsOutput](t)(c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{}))
	scope := store.Scope{Account: strings.Split(*dg.LogGroups[0].Arn, ":")[4], Region: harness.DefaultRegion}

	e := s.Engine()
	base := now() - 86_400_000
	t0 := time.Now()
	var wg sync.WaitGroup
	const callers = 32
	for w := 0; w < callers; w++ {
		wg.Go(func() {
			for i := w; i < n; i += callers {
				name := fmt.Sprintf("job-%03d/build-%05d", i%1000, i/1000)
				if err := e.CreateStream(ctx, scope, "jenkins", store.Stream{Name: name, CreationTime: base}); err != nil {
					t.Error(err)
					return
				}
				if i%10 == 0 {
					ts := base + int64((i*7919)%86_400_000)
					if _, err := e.Append(ctx, scope, "jenkins", name, []store.Event{{Timestamp: ts, Message: "build started"}}, ts); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	t.Logf("setup: %d streams (CreateStream from %d callers, one in ten with an Append): %v, %.0f streams/s",
		n, callers, time.Since(t0).Round(time.Millisecond), float64(n)/time.Since(t0).Seconds())

	measure := func(name string, in cwl.DescribeLogStreamsInput, resume int) {
		d := make([]time.Duration, 10)
		for r := range d {
			q := in
			for p := 0; p <= resume; p++ {
				t0 := time.Now()
				out := must[*cwl.DescribeLogStreamsOutput](t)(c.DescribeLogStreams(ctx, &q))
				d[r] = time.Since(t0)
				if len(out.LogStreams) != 50 || out.NextToken == nil {
					t.Fatalf("%s: page of %d", name, len(out.LogStreams))
				}
				q.NextToken = out.NextToken
			}
		}
		slices.Sort(d)
		t.Logf("DescribeLogStreams %s: median %v, max %v", name, d[5].Round(time.Microsecond), d[9].Round(time.Microsecond))
	}
	pages := func(when string) {
		byName := cwl.DescribeLogStreamsInput{LogGroupName: aws.String("jenkins"), LogStreamNamePrefix: aws.String("job-042/"), Limit: aws.Int32(50)}
		byTime := cwl.DescribeLogStreamsInput{LogGroupName: aws.String("jenkins"), OrderBy: "LastEventTime", Descending: aws.Bool(true), Limit: aws.Int32(50)}
		t0 := time.Now()
		must[*cwl.DescribeLogStreamsOutput](t)(c.DescribeLogStreams(ctx, &byTime))
		t.Logf("%s: first DescribeLogStreams by LastEventTime: %v", when, time.Since(t0).Round(time.Microsecond))
		measure(when+", prefix, first page", byName, 0)
		measure(when+", prefix, 3rd page", byName, 2)
		measure(when+", LastEventTime descending, first page", byTime, 0)
		measure(when+", LastEventTime descending, 10th page", byTime, 9)
	}
	pages("warm")
	t0 = time.Now()
	s.Restart()
	t.Logf("restart (stop and start the server): %v", time.Since(t0).Round(time.Millisecond))
	pages("after restart")
}
