package scheduledquery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/insights/run"
	"github.com/cairnlog/cairn/internal/logs/insights"
	"github.com/cairnlog/cairn/internal/store"
)

// Start starts the worker; closing the returned Closer cancels a run in
// progress and waits for the worker to end.
func (s *Service) Start() io.Closer {
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{cancel: cancel}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(s.cfg.Tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.pass(ctx)
			}
		}
	}()
	return w
}

type worker struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (w *worker) Close() error {
	w.cancel()
	w.wg.Wait()
	return nil
}

// pass runs every due query once, one after the other: a run waits for its
// query, so a long query delays the others' runs rather than piling up
// concurrent queries (each still triggers at its latest due time).
func (s *Service) pass(ctx context.Context) {
	var due []string
	err := s.cfg.Store.ListResources(ctx, store.ResourceKey{Kind: indexKind}, "", "", func(n string, _ []byte) bool {
		due = append(due, n)
		return true
	})
	if err != nil && ctx.Err() == nil {
		s.cfg.Logger.Error("scheduled queries: list", "err", err) // the next tick tries again
	}
	for _, n := range due {
		parts := strings.SplitN(n, ":", 3)
		if len(parts) != 3 || ctx.Err() != nil {
			continue
		}
		scope := store.Scope{Account: parts[0], Region: parts[1]}
		r, err := s.load(ctx, scope, parts[2])
		if err != nil || r.State != "ENABLED" {
			continue
		}
		at, ok := s.dueAt(r, s.cfg.Now())
		if ok {
			s.fire(ctx, scope, r, at)
		}
	}
}

// dueAt is the latest schedule time at or before now that has not run yet.
func (s *Service) dueAt(r *stored, now time.Time) (time.Time, bool) {
	sch, err := parseSchedule(r.ScheduleExpression)
	if err != nil {
		return time.Time{}, false
	}
	loc := time.UTC
	if r.Timezone != nil {
		if l, err := time.LoadLocation(*r.Timezone); err == nil {
			loc = l
		}
	}
	anchor := time.UnixMilli(r.CreationTime)
	if r.ScheduleStartTime != nil {
		anchor = time.UnixMilli(*r.ScheduleStartTime)
	}
	from := anchor.Add(-time.Millisecond) // the anchor itself may fire for cron
	if sch.every > 0 {
		from = anchor // a rate first fires one period after its start
	}
	if r.LastTriggeredTime != nil {
		from = time.UnixMilli(*r.LastTriggeredTime)
	}
	next := sch.next(from, anchor, loc)
	if next.IsZero() || next.After(now) {
		return time.Time{}, false
	}
	// missed times are not replayed: the run is for the latest one due
	for i := 0; i < 100000; i++ {
		n := sch.next(next, anchor, loc)
		if n.IsZero() || n.After(now) {
			break
		}
		next = n
	}
	if r.ScheduleEndTime != nil && next.UnixMilli() > *r.ScheduleEndTime {
		return time.Time{}, false
	}
	return next, true
}

// fire runs r for trigger time at and records the run.
func (s *Service) fire(ctx context.Context, scope store.Scope, r *stored, at time.Time) {
	tr := TriggerRecord{TriggeredTimestamp: at.UnixMilli()}
	startOff, endOff := int64(defaultStartOffset), int64(0)
	if r.StartTimeOffset != nil {
		startOff = *r.StartTimeOffset
	}
	if r.EndTimeOffset != nil {
		endOff = *r.EndTimeOffset
	}
	// The scheduled query runs as a Cairn system caller of the account
	// (logs:StartQuery only): the execution role's own policies are not
	// evaluated, as Cairn does not assume roles for its own work.
	c := caller.System(scope.Account, scope.Region, "scheduled-query", "logs:StartQuery")
	c.RequestID = r.ID
	out, err := s.cfg.Queries.StartQuery(ctx, c, &insights.StartQueryInput{QueryString: r.QueryString, LogGroupIdentifiers: r.LogGroupIdentifiers,
		StartTime: at.Unix() - startOff, EndTime: at.Unix() - endOff})
	var rows [][]run.Field
	switch {
	case err != nil:
		// a query the service refuses to start is the model's InvalidQuery
		tr.ExecutionStatus = "InvalidQuery"
		var ae *awserr.Error
		if !errors.As(err, &ae) {
			tr.ExecutionStatus = "Failed"
		}
		tr.ErrorMessage = strp(err.Error())
	default:
		tr.QueryID = &out.QueryID
		snap, err := s.wait(ctx, scope, out.QueryID)
		switch {
		case err != nil:
			tr.ExecutionStatus, tr.ErrorMessage = "Failed", strp(err.Error())
		case snap.Status == run.Complete:
			tr.ExecutionStatus, rows = "Complete", snap.Result.Rows
		case snap.Status == run.Timeout:
			tr.ExecutionStatus, tr.ErrorMessage = "Timeout", strp("The query timed out.")
		default:
			tr.ExecutionStatus, tr.ErrorMessage = "Failed", strp("The query ended "+snap.Status+".")
		}
	}
	if ctx.Err() != nil {
		return // the server is stopping: the run is neither done nor recorded
	}
	if tr.ExecutionStatus == "Complete" && r.DestinationConfiguration != nil {
		tr.Destinations = s.deliver(ctx, scope, r, out.QueryID, at, rows)
		for _, d := range tr.Destinations {
			if d.Status != "COMPLETE" {
				tr.ExecutionStatus, tr.ErrorMessage = "Failed", strp("Delivery to "+d.DestinationIdentifier+" failed: "+*d.ErrorMessage)
			}
		}
	}
	s.record(ctx, scope, r, tr)
}

func strp(s string) *string { return &s }

// wait polls the query manager until the query ends.
func (s *Service) wait(ctx context.Context, scope store.Scope, id string) (run.Snapshot, error) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		snap, err := s.cfg.Results(scope, id)
		if err != nil {
			return snap, err
		}
		if snap.Status != run.Scheduled && snap.Status != run.Running {
			return snap, nil
		}
		select {
		case <-ctx.Done():
			return snap, ctx.Err()
		case <-t.C:
		}
	}
}

// deliver writes the rows to each destination.
func (s *Service) deliver(ctx context.Context, scope store.Scope, r *stored, queryID string, at time.Time, rows [][]run.Field) []Destination {
	var out []Destination
	if c := r.DestinationConfiguration.S3Configuration; c != nil {
		d := Destination{DestinationType: "S3", DestinationIdentifier: c.DestinationIdentifier}
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(c.DestinationIdentifier, "s3://"), "/")
		objKey := strings.TrimSuffix(prefix, "/")
		if objKey != "" {
			objKey += "/"
		}
		// Cairn's layout (AWS documents none): PREFIX/NAME/TRIGGER-QUERYID.json,
		// one JSON object per row.
		objKey += fmt.Sprintf("%s/%s-%s.json", r.Name, at.UTC().Format("20060102T150405Z"), queryID)
		switch {
		case s.cfg.Sink == nil:
			d.Status, d.ErrorMessage = "FAILED", strp("No S3 endpoint is configured for this server (the config file's export: section).")
		case !s.cfg.Sink.Writable(ctx, bucket):
			d.Status, d.ErrorMessage = "CLIENT_ERROR", strp("The specified bucket does not exist")
		default:
			if err := s.cfg.Sink.Put(ctx, bucket, objKey, jsonRows(rows)); err != nil {
				d.Status, d.ErrorMessage = "FAILED", strp(err.Error())
			} else {
				d.Status, d.ProcessedIdentifier = "COMPLETE", strp("s3://"+bucket+"/"+objKey)
			}
		}
		out = append(out, d)
	}
	if c := r.DestinationConfiguration.LookupTableConfiguration; c != nil {
		d := Destination{DestinationType: "LOOKUP_TABLE", DestinationIdentifier: c.TableName}
		desc := ""
		if c.Description != nil {
			desc = *c.Description
		}
		if s.cfg.Tables == nil {
			d.Status, d.ErrorMessage = "FAILED", strp("Lookup tables are not available.")
		} else if arn, err := s.cfg.Tables.Put(ctx, scope, c.TableName, desc, rows); err != nil {
			d.Status, d.ErrorMessage = "CLIENT_ERROR", strp(err.Error())
		} else {
			d.Status, d.ProcessedIdentifier = "COMPLETE", &arn
		}
		out = append(out, d)
	}
	return out
}

// jsonRows is one JSON object per line, a row's fields in order (@ptr, a
// pointer into this server, left out).
func jsonRows(rows [][]run.Field) []byte {
	var b bytes.Buffer
	for _, r := range rows {
		b.WriteByte('{')
		first := true
		for _, f := range r {
			if f.Field == "@ptr" {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			k, _ := json.Marshal(f.Field)
			v, _ := json.Marshal(f.Value)
			b.Write(k)
			b.WriteByte(':')
			b.Write(v)
		}
		b.WriteString("}\n")
	}
	return b.Bytes()
}

// record stores the query's last trigger and status, then the run: a
// client that sees the run in the history sees the query's status too.
func (s *Service) record(ctx context.Context, scope store.Scope, r *stored, tr TriggerRecord) {
	b, err := json.Marshal(tr)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.load(ctx, scope, r.Name)
	if err != nil || cur.ID != r.ID {
		return // deleted (or replaced) meanwhile
	}
	cur.LastTriggeredTime, cur.LastExecutionStatus = &tr.TriggeredTimestamp, &tr.ExecutionStatus
	if err := s.put(ctx, scope, cur); err != nil {
		// not recorded: the same time is due again at the next tick
		s.cfg.Logger.Error("scheduled query: record run", "name", r.Name, "err", err)
		return
	}
	if err := s.cfg.Store.PutResource(ctx, store.ResourceKey{Scope: scope, Kind: runKind, Name: runName(r.ID, tr.TriggeredTimestamp)}, b); err != nil {
		s.cfg.Logger.Error("scheduled query: record history", "name", r.Name, "err", err)
	}
	if err := s.trimRuns(ctx, scope, r.ID, maxRuns); err != nil {
		s.cfg.Logger.Error("scheduled query: trim history", "name", r.Name, "err", err)
	}
}
