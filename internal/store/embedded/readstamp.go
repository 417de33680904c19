package embedded

import (
	"sync/atomic"

	"github.com/cairnlog/cairn/internal/store"
)

// Read stamps (store.ReadVersioner). Every change to what a group's reads
// can answer runs inside changing's bracket, which moves the group's stripe
// of readGens at both ends and counts itself in flight in the low bits
// between them. A stamp is the group's id and its stripe's value, taken only
// when nothing is in flight there: the same stamp later means no change began
// or ended in between. Stripes are shared by groups (the array is fixed, so
// memory does not grow with groups): a write to another group of the stripe
// only makes a stamp differ, never makes two equal.

const (
	readStripes  = 1024
	inFlightBits = 20
	inFlightMask = 1<<inFlightBits - 1
)

type readGens [readStripes]atomic.Uint64

func (r *readGens) stripe(gid uint64) *atomic.Uint64 {
	return &r[(gid*0x9E3779B97F4A7C15)>>54] // 10 bits: readStripes
}

// changing marks a change to g's readable events in flight until the
// returned function runs.
func (e *Engine) changing(g *group) (done func()) {
	x := e.readGens.stripe(g.id)
	x.Add(1<<inFlightBits + 1)
	return func() { x.Add(1<<inFlightBits - 1) }
}

// ReadVersion implements store.ReadVersioner.
func (e *Engine) ReadVersion(q store.ReadRequest) (store.ReadStamp, bool) {
	if err := e.enter(); err != nil {
		return store.ReadStamp{}, false
	}
	defer e.exit()
	g, err := e.lookupMeta(q.Group, q.Name)
	if err != nil {
		return store.ReadStamp{}, false
	}
	v := e.readGens.stripe(g.id).Load()
	if v&inFlightMask != 0 {
		return store.ReadStamp{}, false
	}
	g.mu.RLock()
	days, deleted := g.info.RetentionDays, g.deleted
	g.mu.RUnlock()
	if deleted {
		return store.ReadStamp{}, false
	}
	if days > 0 {
		// Read narrows its range to the retention's cut, which moves with
		// the clock: the answer is fixed only while the cut stays at or
		// below where the read starts (the cut only grows).
		start := q.Start
		if q.After != nil && !q.Backward {
			start = max(start, q.After.Time)
		}
		if e.cfg.Now().UnixMilli()-int64(days)*86_400_000 > start {
			return store.ReadStamp{}, false
		}
	}
	return store.ReadStamp{g.id, v}, true
}
