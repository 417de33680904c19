package embedded

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

// meetMatcher's Match waits until two calls are inside it at once (or a
// deadline passes), so a scan passes only if it matches blocks in parallel.
type meetMatcher struct {
	inside atomic.Int32
	met    chan struct{}
	once   sync.Once
}

func (m *meetMatcher) Match(msg string) bool {
	if m.inside.Add(1) >= 2 {
		m.once.Do(func() { close(m.met) })
	}
	select {
	case <-m.met:
	case <-time.After(5 * time.Second):
	}
	m.inside.Add(-1)
	return strings.HasSuffix(msg, " 0")
}
func (*meetMatcher) Required() []string              { return nil }
func (*meetMatcher) RequiredUnlessEscaped() []string { return nil }

// TestScanDecodesInParallel: two blocks are filtered at the same time.
func TestScanDecodesInParallel(t *testing.T) {
	ctx := context.Background()
	e := openMem(t, vfs.NewMem())
	defer e.Close()
	storetest.Setup(t, e, scope, "g", "s")
	now := time.Now().UnixMilli()
	for i := 0; i < 8; i++ {
		e.Append(ctx, scope, "g", "s", []store.Event{{Timestamp: now + int64(i), Message: fmt.Sprint(i, " 0")}}, now)
	}
	m := &meetMatcher{met: make(chan struct{})}
	n := 0
	_, err := e.Scan(ctx, store.ScanRequest{Scope: scope, Groups: []string{"g"}, Filter: m}, func(b store.ScanBlock) bool { n += len(b.Events); return true })
	if err != nil || n != 8 {
		t.Fatalf("%d events, %v", n, err)
	}
	select {
	case <-m.met:
	default:
		t.Fatal("no two blocks were matched at the same time")
	}
}
