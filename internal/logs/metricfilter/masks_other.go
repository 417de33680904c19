//go:build !amd64

package metricfilter

import "unsafe"

// haveAVX2 is false off amd64: blockScan searches literal by literal.
const haveAVX2 = false

// eqMasksAVX2 is never called off amd64 (haveAVX2 is false); it is eqMasks
// so that the package builds the same everywhere.
func eqMasksAVX2(p *byte, chunks int, rows *[maskRows][32]byte, n int, out *uint64) {
	eqMasks(unsafe.Slice(p, chunks*64), chunks, rows, n, unsafe.Slice(out, chunks*n))
}
