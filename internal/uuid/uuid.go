// Package uuid makes random (version 4) UUIDs, the form AWS gives the ids
// Cairn mints: query and task ids, Live Tail session ids, anomaly detector
// ids, CloudTrail event ids, STS request ids. Nothing flows in; New reads 16
// bytes of crypto/rand and writes them as 36 lowercase characters,
// 8-4-4-4-12.
package uuid

import (
	"crypto/rand"
	"encoding/hex"
)

// New returns a random version 4 UUID (RFC 9562), such as
// "0f4a7c3e-9b1d-4e2f-8a6b-5c3d2e1f0a9b".
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:])  // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // the RFC's variant
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}
