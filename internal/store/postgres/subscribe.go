package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairnlog/cairn/internal/store"
)

// notifyChannel carries "node gid seq" for every committed append (NOTIFY
// is delivered at commit, in commit order). Other nodes read the block
// itself from the table: the signal is small, the data stays in the store.
const notifyChannel = "cairn_appends"

// Subscribe implements store.Store. fn hears of this node's appends in the
// appending goroutine, after COMMIT; and of other nodes' appends in the
// listener's goroutine, once the block is read back.
func (e *Engine) Subscribe(fn func(store.Appended)) func() {
	e.subMu.Lock()
	id := e.nextID
	e.nextID++
	e.subs[id] = fn
	e.subMu.Unlock()
	return func() {
		e.subMu.Lock()
		delete(e.subs, id)
		e.subMu.Unlock()
	}
}

// publish calls the listeners. The lock is held while they run, so that
// no listener is called after its unsubscribe returned; listeners must not
// block (the contract says so).
func (e *Engine) publish(a store.Appended) {
	e.subMu.Lock()
	defer e.subMu.Unlock()
	for _, fn := range e.subs {
		fn(a)
	}
}

func (e *Engine) hasSubscribers() bool {
	e.subMu.Lock()
	defer e.subMu.Unlock()
	return len(e.subs) > 0
}

// listen holds a connection of its own LISTENing on notifyChannel and
// relays other nodes' appends, reconnecting (with a growing pause) when
// the connection breaks.
//
// Appends committed while it reconnects send NOTIFYs nobody hears. Left
// at that, a subscription follower of a group that grew then (one caught
// up, asleep until told) would sleep until the group's next append, its
// blocks undelivered: a lost wakeup. So the listener keeps, per group, the
// last sequence it heard of (notices come in commit order, and a group's
// sequences follow its commit order, appendSQL), and once listening again
// it reads every group's high-water mark and relays the blocks above what
// it heard: the gap's appends, each once (a notice at or below what was
// relayed is skipped). This node's own appends were told when they
// committed (Append): those whose notice was not heard yet are in
// ownUnheard and not relayed again.
func (e *Engine) listen(ctx context.Context, ready chan<- error) {
	defer close(e.done)
	first, reconnected := true, false
	pause := 100 * time.Millisecond
	heard := map[int64]uint64{}
	cc, perr := pgx.ParseConfig(e.cfg.URL)
	if perr != nil {
		ready <- perr
		return
	}
	// Named, so an operator (and a test) can tell the listener among a
	// node's sessions.
	cc.RuntimeParams["application_name"] = "cairn listener " + e.node
	for {
		conn, err := pgx.ConnectConfig(ctx, cc)
		if err == nil && first {
			// Before LISTEN: an append committing in between is then
			// relayed by its notice (none can be skipped as heard).
			// Nothing has subscribed before Open returns.
			err = e.readMarks(ctx, heard)
		}
		if hook := e.beforeRelisten.Load(); err == nil && reconnected && hook != nil {
			(*hook)()
		}
		if err == nil {
			if _, err = conn.Exec(ctx, "LISTEN "+notifyChannel+"; LISTEN "+iamChannel); err != nil {
				conn.Close(context.Background())
			}
		}
		if first {
			first = false
			ready <- err
			if err != nil {
				return
			}
		}
		if err == nil && reconnected {
			e.iamChanged() // a publish may have gone unheard while reconnecting
			if err = e.catchUp(ctx, heard); err != nil {
				conn.Close(context.Background())
			}
		}
		if err == nil {
			pause = 100 * time.Millisecond
			reconnected = true
			err = e.relay(ctx, conn, heard)
			conn.Close(context.Background())
		}
		if ctx.Err() != nil {
			return
		}
		e.cfg.Logger.Warn("postgres: the notification listener lost its connection; reconnecting", "err", err, "pause", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 10*time.Second)
	}
}

// readMarks sets heard to every group's high-water mark.
func (e *Engine) readMarks(ctx context.Context, heard map[int64]uint64) error {
	rows, err := e.pool.Query(ctx, `SELECT gid, last_seq FROM cairn_groups`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var gid, seq int64
		if err := rows.Scan(&gid, &seq); err != nil {
			return err
		}
		heard[gid] = uint64(seq)
	}
	return rows.Err()
}

// catchUp relays the blocks committed above what was heard, group by
// group in sequence order (see listen).
func (e *Engine) catchUp(ctx context.Context, heard map[int64]uint64) error {
	marks := map[int64]uint64{}
	if err := e.readMarks(ctx, marks); err != nil {
		return err
	}
	for gid, mark := range marks {
		from := heard[gid]
		if mark <= from {
			continue
		}
		type blk struct {
			seq   uint64
			maxTs int64
		}
		var missed []blk
		rows, err := e.pool.Query(ctx, `SELECT seq, max_ts FROM cairn_blocks WHERE gid = $1 AND seq > $2 AND seq <= $3 ORDER BY seq`, gid, int64(from), int64(mark))
		if err != nil {
			return err
		}
		for rows.Next() {
			var seq, maxTs int64
			if err := rows.Scan(&seq, &maxTs); err != nil {
				rows.Close()
				return err
			}
			missed = append(missed, blk{uint64(seq), maxTs})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, b := range missed {
			if !e.ownHeard(b.seq) && e.hasSubscribers() {
				if err := e.relayOne(ctx, gid, b.seq, b.maxTs, true); err != nil {
					return err
				}
			}
		}
		heard[gid] = mark
	}
	return nil
}

// toldOwn records that this node told its listeners of its own append seq
// (Append), until the listener hears its notice.
func (e *Engine) toldOwn(seq uint64) {
	e.ownMu.Lock()
	e.ownUnheard[seq] = time.Now()
	e.ownMu.Unlock()
}

// ownHeard forgets seq as an own append not heard yet, reporting whether
// it was one.
func (e *Engine) ownHeard(seq uint64) bool {
	e.ownMu.Lock()
	defer e.ownMu.Unlock()
	_, ok := e.ownUnheard[seq]
	delete(e.ownUnheard, seq)
	return ok
}

// pruneOwn forgets own appends told over a minute ago: their notice came
// before Append recorded them (the two race), or they were caught up. Run
// only while the listener is connected, so the appends of a gap are still
// there when its catch-up runs.
func (e *Engine) pruneOwn() {
	e.ownMu.Lock()
	defer e.ownMu.Unlock()
	old := time.Now().Add(-time.Minute)
	for seq, at := range e.ownUnheard {
		if at.Before(old) {
			delete(e.ownUnheard, seq)
		}
	}
}

// relay handles notifications until the connection fails or ctx ends.
func (e *Engine) relay(ctx context.Context, conn *pgx.Conn, heard map[int64]uint64) error {
	lastPrune := time.Now()
	for {
		if time.Since(lastPrune) > 10*time.Second {
			e.pruneOwn()
			lastPrune = time.Now()
		}
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Channel == iamChannel {
			e.iamChanged()
			continue
		}
		node, gid, seq, maxTs, hasTs, ok := parseNotice(n.Payload)
		if !ok {
			continue
		}
		if seq <= heard[gid] {
			continue // relayed already, by a catch-up
		}
		heard[gid] = seq
		if node == e.node {
			e.ownHeard(seq)
			continue
		}
		if !e.hasSubscribers() {
			continue
		}
		if err := e.relayOne(ctx, gid, seq, maxTs, hasTs); err != nil && ctx.Err() == nil {
			e.cfg.Logger.Warn("postgres: reading a notified block", "gid", gid, "seq", seq, "err", err)
		}
	}
}

func (e *Engine) relayOne(ctx context.Context, gid int64, seq uint64, maxTs int64, hasTs bool) error {
	if err := e.enter(); err != nil {
		return nil
	}
	defer e.exit()
	var (
		a                store.Appended
		group, stream    []byte
		minTs, ingestion int64
		count            int
		payload          []byte
		object           *string
	)
	q := `SELECT g.account, g.region, g.name, s.name, b.min_ts, b.count, b.ingestion, b.payload, b.object
		FROM cairn_blocks b JOIN cairn_streams s ON s.sid = b.sid JOIN cairn_groups g ON g.gid = b.gid
		WHERE b.gid = $1 AND b.seq = $2`
	args := []any{gid, int64(seq)}
	if hasTs {
		q += ` AND b.max_ts = $3`
		args = append(args, maxTs)
	}
	err := e.pool.QueryRow(ctx, q, args...).Scan(&a.Scope.Account, &a.Scope.Region, &group, &stream, &minTs, &count, &ingestion, &payload, &object)
	if err == pgx.ErrNoRows {
		return nil // deleted since
	}
	if err != nil {
		return err
	}
	if object != nil {
		if payload, err = e.fetchObject(ctx, gid, seq, *object); payload == nil || err != nil {
			return err
		}
	}
	d, err := e.codec.decode(payload, minTs, count)
	if err != nil {
		return err
	}
	a.Group, a.Stream = string(group), string(stream)
	a.Events = make([]store.StoredEvent, count)
	for i := range a.Events {
		a.Events[i] = store.StoredEvent{Stream: a.Stream, Timestamp: d.ts[i], IngestionTime: ingestion, Message: d.msgs[i],
			Pos: store.Position{Time: d.ts[i], Seq: seq, Index: uint32(i)}}
	}
	e.publish(a)
	return nil
}

// parseNotice reads "node gid seq max_ts"; max_ts (the block's partition
// key, partitions.go, so the relay reads one partition) is absent from the
// notices of a node of an older Cairn: then hasTs is false.
func parseNotice(s string) (node string, gid int64, seq uint64, maxTs int64, hasTs, ok bool) {
	f := strings.Fields(s)
	if len(f) != 3 && len(f) != 4 {
		return "", 0, 0, 0, false, false
	}
	g, err1 := strconv.ParseInt(f[1], 10, 64)
	q, err2 := strconv.ParseUint(f[2], 10, 64)
	if len(f) == 4 {
		t, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			return "", 0, 0, 0, false, false
		}
		maxTs, hasTs = t, true
	}
	return f[0], g, q, maxTs, hasTs, err1 == nil && err2 == nil
}
