// Package postgres is a store.Store on PostgreSQL (through pgx's pool), for
// Cairn nodes that share one database.
//
// Tables (schema created and migrated by Open, versioned in
// cairn_schema_version): cairn_groups (settings, stored bytes, the group's
// last sequence and widest block), cairn_streams (statistics), cairn_blocks
// (one row per Append: summary columns and the zstd payload, see block.go;
// partitioned by a UTC day of max_ts, created ahead and on demand and
// dropped whole by retention, see partitions.go),
// cairn_cursors and cairn_resources; cairn_leases (with an epoch, the
// fencing token job writes are checked against: lease.go), cairn_secrets,
// cairn_objects (object-storage records, objects.go) and cairn_iam (the
// cluster's IAM document, iam.go); cairn_account_gens and cairn_groups.res_gen
// (generations of the resource kinds the ingest path reads, which let a
// node answer those reads from its cache: rescache.go).
//
// Data flow: Append is one statement (one implicit transaction) that
// updates the stream, takes the group's next sequence under its row lock,
// inserts the block and queues a NOTIFY; appends to one group that arrive
// while one is written go together in the next write (batch.go). Append
// returns after COMMIT, then tells this node's subscribers. With
// Config.Blocks, the lease holder moves old blocks' payloads to an
// S3-compatible store, the rows keeping their summaries and the key;
// reads fetch only the blocks they open (objects.go). Read merges blocks
// in (timestamp, seq, index) order, opening them lazily from their
// summaries as embedded does (a filtered read or scan tests the gram filter
// on the node's cached summaries, kept current from the group row's last_seq
// each read fetches: sumcache.go); Scan streams blocks in (min_ts, seq) order; ReadFeed reads by sequence in
// one snapshot with the group's high-water mark. A listener connection
// relays other nodes' NOTIFYs to this node's subscribers, reading each
// notified block back from the table.
package postgres
