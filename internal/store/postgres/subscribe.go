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
// the connection breaks. Appends committed while it is reconnecting are
// not relayed: Live Tail misses them, and feed followers, which resume
// from their cursors, do not.
func (e *Engine) listen(ctx context.Context, ready chan<- error) {
	defer close(e.done)
	first, reconnected := true, false
	pause := 100 * time.Millisecond
	for {
		conn, err := pgx.Connect(ctx, e.cfg.URL)
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
		if err == nil {
			pause = 100 * time.Millisecond
			if reconnected {
				e.iamChanged() // a publish may have gone unheard while reconnecting
			}
			reconnected = true
			err = e.relay(ctx, conn)
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

// relay handles notifications until the connection fails or ctx ends.
func (e *Engine) relay(ctx context.Context, conn *pgx.Conn) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Channel == iamChannel {
			e.iamChanged()
			continue
		}
		node, gid, seq, maxTs, hasTs, ok := parseNotice(n.Payload)
		if !ok || node == e.node || !e.hasSubscribers() {
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
