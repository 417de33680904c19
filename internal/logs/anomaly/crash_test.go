package anomaly_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// records reads or writes resource records in a stopped server's data
// directory (white box: the state a kill -9 would leave).
func records(t *testing.T, dir string, fn func(st store.Store)) {
	t.Helper()
	e, err := embedded.Open(embedded.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	fn(e)
}

var testScope = store.Scope{Account: "000000000000", Region: harness.DefaultRegion}

func detectorKeys(detector string) (state, det store.ResourceKey) {
	id := detector[strings.LastIndex(detector, ":")+1:]
	return store.ResourceKey{Scope: testScope, Kind: "anomalyDetectorState", Name: id},
		store.ResourceKey{Scope: testScope, Kind: "anomalyDetector", Name: id}
}

func getRecord(t *testing.T, st store.Store, k store.ResourceKey) []byte {
	t.Helper()
	b, err := st.GetResource(t.Context(), k)
	if err != nil {
		t.Fatalf("%s: %v", k.Kind, err)
	}
	return b
}

// TestKilledMidEvaluation: an evaluation killed after writing some of its
// anomalies but before its state record runs again after the restart, from
// the previous record's feed position: it writes the anomaly it had not
// written and leaves the one it had alone (no second histogram entry, no
// new lastSeen), though the clock moved on.
func TestKilledMidEvaluation(t *testing.T) {
	clk := &clock{t: time.Now()}
	h := harness.Start(t, harness.AuthOff(), harness.WithClock(clk.now))
	c := h.Client()
	detector := detectorOn(t, c, 0)
	put(t, c, "app", clk.now(), logins(40)...)
	clk.add(5 * time.Minute)
	waitStatus(t, c, detector, types.AnomalyDetectorStatusAnalyzing)

	// The records as the training evaluation left them.
	h.Stop()
	stateKey, detKey := detectorKeys(detector)
	var trainedState, trainedDet []byte
	records(t, h.Dir, func(st store.Store) {
		trainedState, trainedDet = getRecord(t, st, stateKey), getRecord(t, st, detKey)
	})
	h.Restart()

	const disk, oom = "FATAL disk <*> failed with code <*>", "java.lang.OutOfMemoryError: Java heap space in thread <*>"
	put(t, c, "app", clk.now(), append(logins(40), "FATAL disk /dev/sda1 failed with code 17", "FATAL disk /dev/sdb2 failed with code 19",
		"java.lang.OutOfMemoryError: Java heap space in thread 4711", "java.lang.OutOfMemoryError: Java heap space in thread 4712")...)
	clk.add(5 * time.Minute)
	reported := clk.now().UnixMilli()
	harness.CheckFor(t, 15*time.Second, 50*time.Millisecond, func() error {
		if n := len(anomalies(t, c, detector)); n != 2 {
			return fmt.Errorf("%d anomalies", n)
		}
		return nil
	})
	before := anomalies(t, c, detector)

	// Kill -9 after the disk anomaly's write: the oom one, the state record
	// and the detector record not written.
	h.Stop()
	records(t, h.Dir, func(st store.Store) {
		ctx := t.Context()
		if err := st.PutResource(ctx, stateKey, trainedState); err != nil {
			t.Fatal(err)
		}
		if err := st.PutResource(ctx, detKey, trainedDet); err != nil {
			t.Fatal(err)
		}
		id := aws.ToString(before[oom].AnomalyId)
		if err := st.DeleteResource(ctx, store.ResourceKey{Scope: testScope, Kind: "anomaly", Name: detKey.Name + "/" + id}); err != nil {
			t.Fatal(err)
		}
	})
	clk.add(time.Minute)
	h.Restart()
	var after map[string]types.Anomaly
	harness.CheckFor(t, 15*time.Second, 50*time.Millisecond, func() error {
		if after = anomalies(t, c, detector); len(after) != 2 {
			return fmt.Errorf("%d anomalies", len(after))
		}
		return nil
	})
	if a := after[oom]; a.FirstSeen != reported+time.Minute.Milliseconds() || a.Histogram[fmt.Sprint(a.FirstSeen)] != 2 {
		t.Fatalf("the unwritten anomaly, written again: firstSeen %d, histogram %v", a.FirstSeen, a.Histogram)
	}
	if a, b := after[disk], before[disk]; aws.ToString(a.AnomalyId) != aws.ToString(b.AnomalyId) || a.LastSeen != reported || len(a.Histogram) != 1 {
		t.Fatalf("the written anomaly, reported again: lastSeen %d (want %d), histogram %v", a.LastSeen, reported, a.Histogram)
	}
	waitStatus(t, c, detector, types.AnomalyDetectorStatusAnalyzing)
}

// TestUnreadableState: a state record that is damaged, or of an unknown
// version, is ignored (and a missing one is missing) with a warning: the server starts, the detector
// trains again (TRAINING, then ANALYZING after one evaluation that reports
// nothing) instead of reporting every pattern as new.
func TestUnreadableState(t *testing.T) {
	future := []byte("CADS\x63")
	future = binary.BigEndian.AppendUint32(future, crc32.Checksum(future, crc32.MakeTable(crc32.Castagnoli)))
	// "absent": data of a Cairn that kept learning in memory (a trained
	// detector record, no state record).
	for name, record := range map[string][]byte{"damaged": []byte("CADS\x01\x05garbage!"), "version 99": future, "absent": nil} {
		t.Run(name, func(t *testing.T) {
			clk := &clock{t: time.Now()}
			h := harness.Start(t, harness.AuthOff(), harness.WithClock(clk.now))
			c := h.Client()
			detector := detectorOn(t, c, 0)
			put(t, c, "app", clk.now(), logins(40)...)
			clk.add(5 * time.Minute)
			waitStatus(t, c, detector, types.AnomalyDetectorStatusAnalyzing)
			h.Stop()
			stateKey, _ := detectorKeys(detector)
			records(t, h.Dir, func(st store.Store) {
				err := st.PutResource(t.Context(), stateKey, record)
				if record == nil {
					err = st.DeleteResource(t.Context(), stateKey)
				}
				if err != nil {
					t.Fatal(err)
				}
			})
			h.Restart()
			waitStatus(t, c, detector, types.AnomalyDetectorStatusTraining)
			put(t, c, "app", clk.now(), append(logins(40), "FATAL disk /dev/sda1 failed with code 17")...)
			clk.add(5 * time.Minute)
			waitStatus(t, c, detector, types.AnomalyDetectorStatusAnalyzing)
			if got := anomalies(t, c, detector); len(got) != 0 {
				t.Fatalf("retraining reported %v", keys(got))
			}
			// Trained again: the next window's new pattern is reported.
			put(t, c, "app", clk.now(), "panic: runtime error: index out of range [3] with length 3")
			clk.add(5 * time.Minute)
			harness.CheckFor(t, 15*time.Second, 50*time.Millisecond, func() error {
				if len(anomalies(t, c, detector)) != 1 {
					return errors.New("not reported")
				}
				return nil
			})
		})
	}
}
