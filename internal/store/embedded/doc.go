// Package embedded is Cairn's single-node storage engine, built on Pebble. It
// implements store.Store.
//
// # How data flows
//
// Append (append.go) turns one PutLogEvents request's events for one stream
// into one block: a payload (codec.go: the timestamps bit-packed, the
// messages S2- or zstd-compressed beside them; blocks of the first format,
// one zstd frame, are still read), a small summary (time range,
// stream, count, a Bloom filter of 4-grams: grams.go), a per-stream index
// entry and a feed entry, all written in one Pebble batch committed with
// Sync, together with merge operands that raise the stream's and the group's
// statistics (records.go). Pebble's commit pipeline makes concurrent Sync
// commits share an fsync (group commit), so an Append returns only when its
// events are durable, and a crash at any moment leaves each batch either
// whole or absent. Its sequence number (seq.go) orders the block by arrival;
// once the commit is over, the feed's high-water mark moves past it and the
// listeners Subscribe registered (subscribe.go) hear of the events.
//
// Events leave three ways:
//   - Read (read.go) returns one page in the global order (timestamp,
//     arrival seq, index). Blocks are keyed by (group, min timestamp, seq), so
//     a read seeks to its start time; it merges the open blocks' cursors in a
//     heap (merge.go), opens a block only when it can hold the next event in
//     order, and after the first few hands the decoding of upcoming blocks to
//     a prefetcher on every core (prefetch.go). Every block spans at most the
//     group's largest observed span (≤ 24 h, PutLogEvents' limit), which
//     bounds how far back a seek starts.
//   - Scan (scan.go) pushes matching events block by block in key order,
//     without the merge, through a bounded pipeline of decode workers owned
//     by the call.
//   - ReadFeed (feed.go) walks a group's feed entries in sequence order up to
//     the high-water mark, which never passes an append still committing.
//
// Re-compaction (recompact.go) is a second background goroutine the Engine
// owns: once blocks are older than Config.RecompactAge (an hour by default:
// recent data, which live tails and CI builds read, stays in the cheaper
// format 2), it merges each stream's runs of small blocks into blocks of up to
// 4,096 events in format 4 (codec3.go: templates and typed variable
// columns at a strong zstd level, and a seek index every 128 events so a
// reader walks only from the checkpoint before what it needs), keeping every event's position (so
// eventIds, tokens and feed cursors do not move), in one synced batch per
// merge; the replaced payloads go once no read that started before the swap
// is still running (reads pin an epoch), and a garbage record makes that
// deletion survive a crash. It is throttled to about half a core, less while
// appends arrive, and serialised with the janitor. A reader decodes a
// merged block only in part: the events of its time range and, for a
// search, those whose template may hold its literal (codec3.go,
// decodeWant).
//
// Read and Scan share what a block's summary alone rules out (skip.go): the
// selected streams, the time range narrowed by retention, and the filter's
// required literals, tested against the Bloom filter without decompressing
// the block. Blocks are fetched and decoded in block.go.
//
// Metadata (groups.go, streams.go) is persisted in the same database and
// held in memory: every group's settings from Open on, a group's streams
// from its first use (so start-up reads only the group records). Listings
// never sort: groups and streams by name walk their keys, which Pebble keeps
// in name order, and streams by last event time walk an in-memory B-tree
// that Append keeps current (streams.go says what each costs). Cursors (cursors.go) and resource records (resources.go) are
// small synced keys; a group's share its id prefix and go with its range
// deletion. Resource records read since the last resource write are served
// from memory (rescache.go: exact, since this process is their only writer).
// Deleting a group drops its key ranges with range tombstones;
// deleting a stream hides it at once, and the janitor (janitor.go), a
// goroutine the Engine owns, reclaims its blocks and drops blocks past the
// group's retention. keys.go lays out every key.
//
// # Failure
//
// All file I/O goes through Config.FS (Pebble's vfs), so tests can run on
// memory or inject failures. On the real disk, files are created 0600 and the
// directory is kept 0700; a full disk refuses writes with store.ErrNoSpace
// and never turns Pebble's retries into a busy loop (disk.go). A write or
// sync the WAL cannot complete fails the engine for good: every operation is
// refused until a restart recovers from the WAL (fatal.go).
//
// The Engine's comment (engine.go) gives the lock order.
package embedded
