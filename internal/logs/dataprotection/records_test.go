package dataprotection_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/accountpolicy"
	"github.com/cairnlog/cairn/internal/logs/dataprotection"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// plainStore hides the embedded engine's AppendWith: an engine that is not
// a store.RecordAppender (as the PostgreSQL engine is not), whose originals
// logs.Service writes by PutResource after the append.
type plainStore struct{ store.Store }

// TestOriginalsWithTheAppend: the originals of a masked batch are stored
// whether the engine takes them in the append's commit (the embedded
// engine, store.RecordAppender) or only by PutResource after it: one
// originals record per append, keyed by its feed sequence, from which
// GetLogEvents with unmask gives back every original; a batch with nothing
// masked stores none.
func TestOriginalsWithTheAppend(t *testing.T) {
	for _, withAppend := range []bool{true, false} {
		name := "PutResource after the append"
		if withAppend {
			name = "in the append's commit"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			engine, err := embedded.Open(embedded.Config{Dir: "/d", FS: vfs.NewMem()})
			if err != nil {
				t.Fatal(err)
			}
			defer engine.Close()
			var st store.Store = engine
			if !withAppend {
				st = plainStore{engine}
			}
			if _, ok := st.(store.RecordAppender); ok != withAppend {
				t.Fatalf("RecordAppender %v, want %v", ok, withAppend)
			}
			accounts := accountpolicy.New(accountpolicy.Config{Store: st})
			dp, err := dataprotection.New(dataprotection.Config{Store: st, Accounts: accounts, Key: make([]byte, 32)})
			if err != nil {
				t.Fatal(err)
			}
			svc := logs.New(logs.Config{Store: st, Ingest: []logs.IngestStage{dp}, Unmasker: dp})
			c := caller.System("123456789012", "eu-west-1", "t", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
				"logs:PutDataProtectionPolicy", "logs:GetLogEvents", "logs:Unmask")
			group, stream := "g", "s"
			if _, err := svc.CreateLogGroup(ctx, c, &logs.CreateLogGroupInput{LogGroupName: group}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.CreateLogStream(ctx, c, &logs.CreateLogStreamInput{LogGroupName: group, LogStreamName: stream}); err != nil {
				t.Fatal(err)
			}
			if _, err := dp.PutDataProtectionPolicy(ctx, c, &dataprotection.PutDataProtectionPolicyInput{LogGroupIdentifier: group,
				PolicyDocument: policyDoc("", allIdentifiers...)}); err != nil {
				t.Fatal(err)
			}
			batches := [][]string{
				{"from 10.1.2.3 user bob@example.com", "nothing here", "key AKIAIOSFODNN7EXAMPLE"},
				{"plain line", "another plain line"},
				{"card 4111 1111 1111 1111 ok", "ssn 123-45-6789"},
			}
			now := time.Now().UnixMilli()
			var want []string
			for _, lines := range batches {
				evs := make([]logs.InputLogEvent, len(lines))
				for i, l := range lines {
					evs[i] = logs.InputLogEvent{Timestamp: now, Message: l}
					want = append(want, l)
				}
				if _, err := svc.PutLogEvents(ctx, c, &logs.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream, LogEvents: evs}); err != nil {
					t.Fatal(err)
				}
			}
			read := func(unmask bool) []string {
				t.Helper()
				head := true
				out, err := svc.GetLogEvents(ctx, c, &logs.GetLogEventsInput{LogGroupName: group, LogStreamName: stream, StartFromHead: &head, Unmask: unmask})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, e := range out.Events {
					got = append(got, e.Message)
				}
				return got
			}
			if got := read(true); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("unmasked:\n%q\nwant\n%q", got, want)
			}
			masked := read(false)
			if len(masked) != len(want) || masked[0] == want[0] || !strings.Contains(masked[0], "***") || masked[1] != want[1] {
				t.Fatalf("stored (masked) messages: %q", masked)
			}
			var names []string
			err = st.ListResources(ctx, store.ResourceKey{Scope: store.Scope{Account: "123456789012", Region: "eu-west-1"}, Group: group,
				Kind: "dataProtectionOriginals"}, "", "", func(name string, _ []byte) bool {
				names = append(names, name)
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(names) != 2 {
				t.Fatalf("originals records %q, want two (the batch with nothing masked has none)", names)
			}
		})
	}
}
