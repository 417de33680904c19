package bench_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/harness"
)

// TestRunAgainstCairn drives a real server (SigV4 on) with a small
// workload and checks that every read finds exactly what the workload
// planted: the same checks that make the side-by-side figures comparable.
func TestRunAgainstCairn(t *testing.T) {
	s := harness.Start(t)
	var progress bytes.Buffer
	rep, err := bench.Run(context.Background(), bench.Config{
		Endpoint: s.URL(), AccessKey: s.Creds.AccessKeyID, SecretKey: s.Creds.SecretAccessKey,
		Groups: 2, Streams: 8, Writers: 4, BatchSize: 500, Events: 50_250, Prefix: "t", RareEvery: 4000,
		Query: true, RangeEvents: 15_000, ServerPID: os.Getpid(), DataDir: s.Dir, Out: &progress,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if rep.Events != 50_250 || rep.Errors != 0 || rep.Requests != 101 {
		t.Fatalf("stored %d events in %d requests with %d errors", rep.Events, rep.Requests, rep.Errors)
	}
	q := rep.Query
	if q.RareExpected == 0 || q.RareMatches != q.RareExpected {
		t.Errorf("rare term: %d matches, %d planted", q.RareMatches, q.RareExpected)
	}
	if q.CommonMatches == 0 || q.CommonScanBytes == 0 || q.CommonScanBytes >= rep.MessageBytes {
		t.Errorf("common term: %d matches over %d of %d message bytes", q.CommonMatches, q.CommonScanBytes, rep.MessageBytes)
	}
	// More than one 10,000-event page: the lean client's early next-page
	// request is exercised (and checked against the decoded token).
	if q.RangeExpected < 14_900 || q.RangeEvents != q.RangeExpected || q.RangePages < 2 {
		t.Errorf("time range: fetched %d in %d pages, expected %d", q.RangeEvents, q.RangePages, q.RangeExpected)
	}
	if q.RangeTimeSDK == 0 || q.CommonScanTimeSDK == 0 {
		t.Errorf("the reads through aws-sdk-go-v2 were not measured: %+v", q)
	}
	if rep.ServerPeakRSS == 0 || rep.DiskBytes == 0 || rep.LoadAvg == "" {
		t.Errorf("server figures missing: RSS %d, disk %d, load %q", rep.ServerPeakRSS, rep.DiskBytes, rep.LoadAvg)
	}
}

// TestRunOverSeveralEndpoints spreads the writers over two servers (the
// writers alternate): each acknowledged about half, every event counted.
func TestRunOverSeveralEndpoints(t *testing.T) {
	a, b := harness.Start(t, harness.AuthOff()), harness.Start(t, harness.AuthOff())
	var progress bytes.Buffer
	rep, err := bench.Run(context.Background(), bench.Config{
		Endpoint: a.URL() + "," + b.URL(), AccessKey: "AKIDTEST", SecretKey: "secret",
		Groups: 1, Streams: 4, Writers: 4, BatchSize: 100, Events: 4000, Prefix: "spread", Out: &progress,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if rep.Events != 4000 || rep.Errors != 0 || len(rep.PerEndpoint) != 2 || rep.PerEndpoint[0]+rep.PerEndpoint[1] != 4000 {
		t.Fatalf("%d events, %d errors, per endpoint %v", rep.Events, rep.Errors, rep.PerEndpoint)
	}
	// Each server stored what it acknowledged (separate embedded engines:
	// nothing is shared), counted through the API.
	for i, s := range []*harness.Server{a, b} {
		n := 0
		in := &cwl.FilterLogEventsInput{LogGroupName: aws.String((&bench.Workload{Prefix: "spread"}).Group(0))}
		for {
			out, err := s.Client().FilterLogEvents(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			n += len(out.Events)
			if out.NextToken == nil {
				break
			}
			in.NextToken = out.NextToken
		}
		if n == 0 || int64(n) != rep.PerEndpoint[i] {
			t.Fatalf("endpoint %d stored %d events, acknowledged %d", i, n, rep.PerEndpoint[i])
		}
	}
}
