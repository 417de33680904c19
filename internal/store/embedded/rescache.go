package embedded

import (
	"sync"
	"sync/atomic"
)

// resCache keeps the resource records read since the last resource write,
// so the lookups every PutLogEvents makes (the group's transformer, its data
// protection policy, the account's policies: three a batch) do not each walk
// Pebble's memtables and sstables (2-4% of the server's ingest CPU).
//
// It is exact, not a time-bounded cache: this process is the only writer of
// its data directory (Pebble holds the directory's lock), and every write
// that can change a resource record (PutResource, DeleteResource,
// DeleteGroup's range deletion) runs inside begin/end. While a write is in
// flight nothing is served from or stored into the cache; end moves gen on,
// so what was read before the write is never served after it; and a read
// stores what it found only if no write began since it loaded gen. Every
// read that starts after a write returned therefore sees that write, as
// with no cache at all. (The PostgreSQL engine, where several nodes write,
// has no such cache: its invalidation would need a notice between nodes.)
type resCache struct {
	gen     atomic.Uint64 // moved on by every write, at its start and its end
	writing atomic.Int64  // writes in flight

	mu      sync.Mutex
	at      uint64 // the gen the entries were read under
	entries map[string]resEntry
	bytes   int // what entries hold (resEntry.size, keys included)
}

// resEntry is one cached answer: a record (or its absence) for a Get, or a
// whole kind's records under a name prefix for a List.
type resEntry struct {
	value []byte // Get: the record; nil with !found: no record
	found bool
	names []string // List: every record under the prefix, in key order
	vals  [][]byte
}

// resCacheMax bounds the entries (a few per group that takes writes); past
// it the cache starts over, so memory does not grow with the number of
// groups read.
const resCacheMax = 4096

// resCacheBytes bounds what the entries hold: a record may be tens of KiB
// (a data protection policy document, a list of 64 metric filters), so the
// count alone would let 4,096 of them keep 100 MiB or more. Past it the
// cache starts over, as past resCacheMax; an entry larger than a
// sixteenth of it is not kept (read from Pebble each time).
const resCacheBytes = 16 << 20

// size is about what e keeps alive (its bytes and slice headers).
func (e *resEntry) size() int {
	n := len(e.value) + 64
	for i := range e.names {
		n += len(e.names[i]) + len(e.vals[i]) + 40
	}
	return n
}

// resListMax is the longest list kept; a longer one is read from Pebble
// every time (no ingest lookup lists that many).
const resListMax = 64

func newResCache() *resCache { return &resCache{entries: map[string]resEntry{}} }

// begin and end bracket a write of resource records.
func (c *resCache) begin() {
	c.writing.Add(1)
	c.gen.Add(1)
}

func (c *resCache) end() {
	c.gen.Add(1)
	c.writing.Add(-1)
}

// load returns the gen to read under and the entry for key; ok is false when
// there is none usable (no entry, or a write in flight: then the read goes
// to Pebble and stores nothing).
func (c *resCache) load(key string) (gen uint64, e resEntry, ok bool) {
	gen = c.gen.Load()
	if c.writing.Load() > 0 {
		return gen, resEntry{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at != gen {
		return gen, resEntry{}, false
	}
	e, ok = c.entries[key]
	return gen, e, ok
}

// store keeps e for key if no write began since gen was loaded.
func (c *resCache) store(gen uint64, key string, e resEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writing.Load() > 0 || c.gen.Load() != gen {
		return
	}
	size := len(key) + e.size()
	if size > resCacheBytes/16 {
		return
	}
	if old, ok := c.entries[key]; ok && c.at == gen {
		c.bytes -= len(key) + old.size()
		delete(c.entries, key)
	}
	if c.at != gen || len(c.entries) >= resCacheMax || c.bytes+size > resCacheBytes {
		clear(c.entries)
		c.bytes = 0
		c.at = gen
	}
	c.entries[key] = e
	c.bytes += size
}
