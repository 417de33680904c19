// Package postgres is a store.Store on PostgreSQL (through pgx's pool), for
// Cairn nodes that share one database.
//
// Tables (schema created and migrated by Open, versioned in
// cairn_schema_version): cairn_groups (settings, stored bytes, the group's
// last sequence and widest block), cairn_streams (statistics), cairn_blocks
// (one row per Append: summary columns and the zstd payload, see block.go),
// cairn_cursors and cairn_resources.
//
// Data flow: Append is one statement (one implicit transaction) that
// updates the stream, takes the group's next sequence under its row lock,
// inserts the block and queues a NOTIFY; it returns after COMMIT, then
// tells this node's subscribers. Read merges blocks in (timestamp, seq,
// index) order, opening them lazily from their summaries as embedded does;
// Scan streams blocks in (min_ts, seq) order; ReadFeed reads by sequence in
// one snapshot with the group's high-water mark. A listener connection
// relays other nodes' NOTIFYs to this node's subscribers, reading each
// notified block back from the table.
package postgres
