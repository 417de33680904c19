package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestDiskSpool(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	sp, err := openDiskSpool(dir, 200, 1<<20) // tiny segments: many rolls
	if err != nil {
		t.Fatal(err)
	}
	var all []Event
	for i := range 50 {
		e := Event{Time: int64(i), Message: fmt.Sprintf("event %02d", i)}
		all = append(all, e)
		if err := sp.append(ctx, []Event{e}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := sp.read(20)
	if err != nil || len(got) != 20 || got[19] != all[19] {
		t.Fatalf("read: %v %v", got, err)
	}
	if err := sp.ack(10); err != nil {
		t.Fatal(err)
	}
	if err := sp.close(); err != nil {
		t.Fatal(err)
	}
	// Reopened, it starts after the acknowledged events: 10..49.
	sp, err = openDiskSpool(dir, 200, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	got, err = sp.read(100)
	if err != nil || len(got) != 40 || got[0] != all[10] || got[39] != all[49] {
		t.Fatalf("after reopen: %d events, %v", len(got), err)
	}
	if err := sp.ack(40); err != nil {
		t.Fatal(err)
	}
	if err := sp.sync(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) > 2 {
		t.Errorf("%d segments left after everything was acknowledged", len(segs))
	}
	sp.close()
}

func TestDiskSpoolTornTail(t *testing.T) {
	dir := t.TempDir()
	sp, err := openDiskSpool(dir, 1<<20, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	sp.append(context.Background(), []Event{{1, "one"}, {2, "two"}})
	sp.close()
	seg := filepath.Join(dir, fmt.Sprintf("%016d.seg", 1))
	f, _ := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{40, 1, 2, 3}) // half a record, as a crash leaves it
	f.Close()
	sp, err = openDiskSpool(dir, 1<<20, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	sp.append(context.Background(), []Event{{3, "three"}})
	got, err := sp.read(10)
	if err != nil || len(got) != 3 || got[2].Message != "three" {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestMemQueueBounded(t *testing.T) {
	q := newMemQueue(100)
	ctx, cancel := context.WithCancel(context.Background())
	if err := q.append(ctx, []Event{{0, string(make([]byte, 60))}}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := q.append(ctx, []Event{{0, string(make([]byte, 60))}}); err == nil {
		t.Fatal("append to a full queue did not block")
	}
}
