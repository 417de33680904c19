package embedded

import (
	"encoding/binary"
)

// Key layout. Every key starts with a one-byte table tag; integers are
// big-endian so that byte order is numeric order.
//
//	'G' account 0x00 region 0x00 name   → group record (JSON)
//	'g' gid                             → group stats (merge: Σ stored bytes, max block span)
//	'T' gid name                        → stream record (binary, merge: stats)
//	'S' gid minTs seq                   → block summary (stream, times, bloom)
//	'B' gid minTs seq                   → block payload (zstd)
//	'I' gid sid minTs seq               → per-stream index entry (small summary)
//	'X' gid sid                         → stream deletion pending reclamation
//	'Q'                                 → sequence high-water mark
//	'F' gid seq                         → feed entry: the block appended as seq (feed.go)
//	'C' gid name                        → cursor: a feed position (cursors.go)
//	'r' gid kind 0x00 name              → a group's resource record (resources.go)
//	'R' account 0x00 region 0x00 kind 0x00 name → an account's resource record
//	'Z' gid seq                         → payload keys a merge replaced, to delete once no read holds them (recompact.go)
const (
	tagGroup      = 'G'
	tagGroupStats = 'g'
	tagStream     = 'T'
	tagSummary    = 'S'
	tagBlock      = 'B'
	tagIndex      = 'I'
	tagReclaim    = 'X'
	tagSeq        = 'Q'
	tagFeed       = 'F'
	tagCursor     = 'C'
	tagGroupRes   = 'r'
	tagResource   = 'R'
	tagGarbage    = 'Z'
)

// groupDataTags are the tables whose keys start with a group id: DeleteGroup
// drops each with one range tombstone.
// (A string constant, not a slice: no package-level mutable state.)
const groupDataTags = string(rune(tagStream)) + string(rune(tagSummary)) + string(rune(tagBlock)) + string(rune(tagIndex)) +
	string(rune(tagReclaim)) + string(rune(tagFeed)) + string(rune(tagCursor)) + string(rune(tagGroupRes)) + string(rune(tagGarbage))

func feedKey(gid, seq uint64) []byte { return u64key(tagFeed, gid, seq) }

func cursorKey(gid uint64, name string) []byte { return append(u64key(tagCursor, gid), name...) }

func groupKey(account, region, name string) []byte {
	k := make([]byte, 0, 3+len(account)+len(region)+len(name))
	k = append(k, tagGroup)
	k = append(k, account...)
	k = append(k, 0)
	k = append(k, region...)
	k = append(k, 0)
	return append(k, name...)
}

func groupScopePrefix(account, region string) []byte {
	return groupKey(account, region, "")
}

func u64key(tag byte, ids ...uint64) []byte {
	k := make([]byte, 1, 1+8*len(ids))
	k[0] = tag
	for _, id := range ids {
		k = binary.BigEndian.AppendUint64(k, id)
	}
	return k
}

func groupStatsKey(gid uint64) []byte { return u64key(tagGroupStats, gid) }

func streamKey(gid uint64, name string) []byte {
	return append(u64key(tagStream, gid), name...)
}

// blockKey is the key of a summary or payload: tag gid minTs seq.
func blockKey(tag byte, gid uint64, minTs int64, seq uint64) []byte {
	return u64key(tag, gid, uint64(minTs), seq)
}

func indexKey(gid, sid uint64, minTs int64, seq uint64) []byte {
	return u64key(tagIndex, gid, sid, uint64(minTs), seq)
}

func reclaimKey(gid, sid uint64) []byte { return u64key(tagReclaim, gid, sid) }

// prefixEnd returns the smallest key greater than every key with the prefix.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil // the prefix is all 0xff: no upper bound
}

// clampTime keeps a time inside the key space (keys hold non-negative times).
func clampTime(t int64) int64 {
	if t < 0 {
		return 0
	}
	return t
}

func beUint64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func beAppend(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func u64keyAppend(prefix []byte, v uint64) []byte {
	return beAppend(append([]byte(nil), prefix...), v)
}
