package embedded

import "sync"

// resCache keeps the resource records read since the last write of their
// kind, so the lookups every PutLogEvents makes (the group's transformer, its
// data protection policy, the account's policies: three a batch) do not each
// walk Pebble's memtables and sstables (2-4% of the server's ingest CPU; 5-6%
// when every batch also writes a record, as data protection's originals do,
// and one write forgot every kind's records).
//
// It is exact, not a time-bounded cache: this process is the only writer of
// its data directory (Pebble holds the directory's lock), and every write
// that can change a resource record (PutResource, DeleteResource,
// DeleteGroup's range deletion) runs inside begin/end (beginAll/endAll for
// the range deletion). A write is of one domain: the key prefix of one kind
// of one group's, or one account-and-region's, records (resourcePrefix, which
// ends in the kind and a NUL, so no domain's keys begin with another's); a
// Get or List entry lies in exactly one domain, and only writes of that
// domain, or a range deletion, can change what it holds. A write's begin and
// its end each stamp its domain with a new tick, and an entry is served only
// while its domain's stamp is no later than the tick it was read at: what was
// read before a write began is not served once it has begun (nor, then,
// while it is in flight), what was read while it was in flight is not served
// once it has ended, and a read that began before either stores nothing. Every read that starts after a write returned
// therefore sees that write, as with no cache at all. (The PostgreSQL engine,
// where several nodes write, cannot stamp domains in its memory: its cache
// goes by generations kept in the database and read with the group row,
// internal/store/postgres/rescache.go.)
type resCache struct {
	mu      sync.Mutex
	tick    uint64            // moved on by every begin and end
	stamp   map[string]uint64 // domain → the tick of its last write's begin or end
	floor   uint64            // the stamp of every domain not in stamp (dropped, or never written)
	allAt   uint64            // the tick of the last range deletion's begin or end
	entries map[string]resCached
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

// resCached is an entry as kept: its domain and the tick it was read at.
type resCached struct {
	resEntry
	dom string
	at  uint64
}

// resCacheMax bounds the entries (a few per group that takes writes), and the
// domains stamped; past it the cache starts over, so memory does not grow
// with the number of groups read or written.
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

func newResCache() *resCache {
	return &resCache{stamp: map[string]uint64{}, entries: map[string]resCached{}}
}

// begin and end bracket a write of resource records of domain dom.
func (c *resCache) begin(dom []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.touch(string(dom))
}

func (c *resCache) end(dom []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.touch(string(dom))
}

// touch stamps dom with a new tick. Past resCacheMax domains every stamp is
// dropped and the floor raised to the new tick: every entry and every read
// begun before it is then stale, as each of their domains' stamps could
// have said (a write still in flight stamps its domain again at its end).
func (c *resCache) touch(dom string) {
	c.tick++
	if _, ok := c.stamp[dom]; !ok && len(c.stamp) >= resCacheMax {
		clear(c.stamp)
		c.floor = c.tick
	}
	c.stamp[dom] = c.tick
}

// beginAll and endAll bracket a write that may change records of any
// domain (a group's range deletion).
func (c *resCache) beginAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick++
	c.allAt = c.tick
}

func (c *resCache) endAll() { c.beginAll() }

// fresh reports whether what was read in dom at tick at is still what a read
// would find: no write of dom (or of every domain) begun or ended since.
func (c *resCache) fresh(dom string, at uint64) bool {
	if c.allAt > at {
		return false
	}
	s, ok := c.stamp[dom]
	if !ok {
		s = c.floor
	}
	return s <= at
}

// load returns the tick to read under and the entry for key, of domain dom;
// ok is false when there is none usable (no entry, or a stale one: then the
// read goes to Pebble, and stores what it found only if it is still fresh
// then).
func (c *resCache) load(dom []byte, key string) (at uint64, e resEntry, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	at = c.tick
	en, ok := c.entries[key]
	if !ok || en.dom != string(dom) || !c.fresh(en.dom, en.at) {
		return at, resEntry{}, false
	}
	return at, en.resEntry, true
}

// store keeps e for key, of domain dom, if no write of dom began or ended
// since the tick at was loaded (nor a range deletion). The entry keeps at,
// so load would refuse a stale one anyway; store only does not keep it.
func (c *resCache) store(dom []byte, at uint64, key string, e resEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fresh(string(dom), at) {
		return
	}
	size := len(key) + e.size()
	if size > resCacheBytes/16 {
		return
	}
	if old, ok := c.entries[key]; ok {
		c.bytes -= len(key) + old.size()
		delete(c.entries, key)
	}
	if len(c.entries) >= resCacheMax || c.bytes+size > resCacheBytes {
		clear(c.entries)
		c.bytes = 0
	}
	c.entries[key] = resCached{resEntry: e, dom: string(dom), at: at}
	c.bytes += size
}
